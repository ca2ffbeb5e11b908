// Wording shared by the Environment view (host) and the Environment Report (webview). Pure, no vscode import.
import type { EnvironmentSnapshot, GpuReading, GpuStatus, Problem, TorchInfo } from '../protocol/environment';

export function formatMiB(mib: number | null): string {
  if (mib === null) return '?';
  return mib >= 1024 ? `${(mib / 1024).toFixed(mib >= 10240 ? 0 : 1)} GiB` : `${Math.round(mib)} MiB`;
}

export function describeGpu(g: GpuStatus): string {
  const parts: string[] = [];
  if (g.memoryTotalMiB !== null) {
    parts.push(`${g.memoryUsedMiB === null ? '?' : formatMiB(g.memoryUsedMiB)} / ${formatMiB(g.memoryTotalMiB)}`);
  }
  if (g.utilizationPercent !== null) parts.push(`${g.utilizationPercent}%`);
  if (g.temperatureC !== null) parts.push(`${g.temperatureC} °C`);
  if (g.migMode === 'Enabled') parts.push(`MIG: ${g.migDevices.length} instance${g.migDevices.length === 1 ? '' : 's'}`);
  return parts.join(' · ');
}

export function describeGpuReading(r: GpuReading): string {
  switch (r.status) {
    case 'pending':
      return 'checking…';
    case 'untrusted':
      return 'not checked (untrusted workspace)';
    case 'no-nvidia-smi':
      return 'no NVIDIA GPU (nvidia-smi not found)';
    case 'failed':
      return 'nvidia-smi failed';
    case 'ok':
      if (r.gpus.length === 0) return 'no NVIDIA GPU';
      return `${r.gpus.length} × ${sameName(r.gpus) ?? 'NVIDIA GPU'}`;
  }
}

function sameName(gpus: GpuStatus[]): string | undefined {
  const first = gpus[0]?.name;
  return first !== undefined && gpus.every((g) => g.name === first) ? first : undefined;
}

export function describeCuda(t: TorchInfo): { text: string; ok: boolean } {
  if (t.hipBuild) return { text: `ROCm ${t.hipBuild} — ${t.cudaAvailable ? 'available' : 'not available'}`, ok: t.cudaAvailable };
  if (!t.cudaBuild) return { text: 'not in this build (CPU-only PyTorch)', ok: false };
  if (t.cudaAvailable) return { text: `${t.cudaBuild} — available, ${t.devices.length} device${t.devices.length === 1 ? '' : 's'}`, ok: true };
  return { text: `${t.cudaBuild} — not available`, ok: false };
}

export function bundledBackends(backends: { name: string; bundled: boolean }[]): string {
  const names = backends.filter((b) => b.bundled).map((b) => b.name);
  return names.length ? names.join(', ') : 'no providers';
}

export type FactState = 'ok' | 'error' | 'off' | 'pending';

/** One fact about the environment, as both the view and the report show it. */
export interface Fact {
  id: string;
  label: string;
  value: string;
  detail?: string;
  state: FactState;
  children?: Fact[];
}

/** The environment facts in display order; empty for an untrusted workspace (nothing was checked). */
export function environmentFacts(s: EnvironmentSnapshot): Fact[] {
  if (!s.trusted) return [];
  const facts: Fact[] = [
    {
      id: 'interpreter',
      label: 'Interpreter',
      value: s.interpreter?.path ?? (s.probe.status === 'pending' ? 'checking…' : 'none found'),
      detail: s.interpreter?.reason ?? 'No Python interpreter found.',
      state: s.interpreter ? 'ok' : s.probe.status === 'pending' ? 'pending' : 'error',
    },
  ];
  const p = s.probe;
  if (p.status === 'pending') {
    facts.push({ id: 'python', label: 'Python', value: 'checking…', state: 'pending' });
  } else if (p.status !== 'ok') {
    const failed = p.status === 'failed';
    facts.push({
      id: 'python',
      label: 'Python',
      value: failed ? 'cannot run' : p.status === 'no-interpreter' ? 'not found' : 'not checked',
      detail: failed ? [p.message, p.stderrTail].filter(Boolean).join('\n') : p.status === 'no-interpreter' ? p.message : undefined,
      state: 'error',
    });
  } else {
    const py = p.report.python;
    facts.push({ id: 'python', label: 'Python', value: `${py.version} (${py.implementation}, ${py.platform} ${py.machine})`, detail: py.executable, state: 'ok' });
    const t = p.report.torch;
    if (t === null) {
      const missing = (p.report.torchError ?? '').includes('No module named');
      facts.push({ id: 'torch', label: 'PyTorch', value: missing ? 'not installed' : 'fails to import', detail: p.report.torchError ?? undefined, state: 'error' });
    } else {
      facts.push({ id: 'torch', label: 'PyTorch', value: t.version, state: 'ok' });
      const cuda = describeCuda(t);
      facts.push({
        id: 'cuda',
        label: t.hipBuild ? 'ROCm' : 'CUDA',
        value: cuda.text,
        detail: t.cudaError ?? undefined,
        state: cuda.ok ? 'ok' : 'off',
        children: t.devices.map((d) => ({
          id: `cuda-device:${d.index}`,
          label: `cuda:${d.index}`,
          value: `${d.name} · ${formatMiB(d.totalMemoryMiB)} · compute ${d.capability}`,
          state: 'ok' as const,
        })),
      });
      facts.push({ id: 'cudnn', label: 'cuDNN', value: t.cudnn ?? 'not available', state: t.cudnn ? 'ok' : 'off' });
      if (t.mps.built || py.platform === 'darwin') {
        facts.push({
          id: 'mps',
          label: 'Apple MPS',
          value: t.mps.available ? 'available' : t.mps.built ? 'built, not available' : 'not in this build',
          state: t.mps.available ? 'ok' : 'off',
        });
      }
    }
  }
  const g = s.gpus;
  facts.push({
    id: 'gpus',
    label: 'GPUs',
    value: describeGpuReading(g) + (g.driverVersion ? ` · driver ${g.driverVersion}` : ''),
    detail: g.message ?? undefined,
    state: g.status === 'pending' ? 'pending' : g.status === 'failed' ? 'error' : g.gpus.length ? 'ok' : 'off',
    children: g.gpus.map((gpu) => ({
      id: `gpu:${gpu.index}`,
      label: `${gpu.index}: ${gpu.name}`,
      value: describeGpu(gpu),
      detail: gpu.uuid ?? undefined,
      state: 'ok' as const,
      children: gpu.migDevices.map((m) => ({
        id: `mig:${gpu.index}:${m.deviceIndex}`,
        label: `MIG ${m.profile}`,
        value: `device ${m.deviceIndex}`,
        detail: m.uuid ?? undefined,
        state: 'ok' as const,
      })),
    })),
  });
  const ort = s.onnxRuntime;
  facts.push({
    id: 'onnxruntime',
    label: 'ONNX Runtime',
    value: ort === null ? 'checking…' : ort.status === 'ok' ? `${ort.version ?? '?'} · ${bundledBackends(ort.backends)}` : 'unavailable',
    detail:
      ort === null ? undefined : ort.status === 'ok' ? ort.backends.map((b) => `${b.name}: ${b.bundled ? 'bundled' : 'not bundled'}`).join('\n') : (ort.message ?? undefined),
    state: ort === null ? 'pending' : ort.status === 'ok' ? 'ok' : 'error',
  });
  return facts;
}

/** "Problems" when something needs fixing; "Notes" when all there is to say is information (e.g. CPU only). */
export function problemsHeading(problems: Problem[]): string {
  return problems.some((p) => p.severity !== 'info') ? 'Problems' : 'Notes';
}
