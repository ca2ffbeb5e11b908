// Device choices: parsing the `devices` field of a task, and the items of the Devices quick pick (GPUs from
// nvidia-smi with free memory and utilisation, CPU, Apple MPS). Pure.
import type { GpuStatus } from '../protocol/environment';
import type { DeviceChoice } from './launchPlan';

/** What a `devices` value asks for: a choice, every GPU, or the quick pick. */
export type DeviceRequest = { kind: 'choice'; choice: DeviceChoice } | { kind: 'all-gpus' } | { kind: 'ask' };

/**
 * Reads a task's `devices`: "cpu", "mps", "cuda" / "gpu" (every GPU), "cuda:0", "0", "cuda:0,1", "0,1", or a list of
 * those ("cuda:0", "cuda:1"). Absent, "", "ask" or "auto": the quick pick. A string result is the reason it is invalid.
 */
export function parseDevices(value: unknown): DeviceRequest | string {
  if (value === undefined || value === null) return { kind: 'ask' };
  let parts: string[];
  if (typeof value === 'string') parts = value.split(',');
  else if (Array.isArray(value) && value.every((v) => typeof v === 'string' || typeof v === 'number')) parts = value.map(String);
  else return 'devices must be a string ("cpu", "mps", "cuda:0", "cuda:0,1") or a list of strings';
  parts = parts.map((p) => p.trim().toLowerCase()).filter((p) => p !== '');
  if (parts.length === 0 || (parts.length === 1 && (parts[0] === 'ask' || parts[0] === 'auto'))) return { kind: 'ask' };
  if (parts.length === 1 && parts[0] === 'cpu') return { kind: 'choice', choice: { kind: 'cpu' } };
  if (parts.length === 1 && parts[0] === 'mps') return { kind: 'choice', choice: { kind: 'mps' } };
  if (parts.length === 1 && (parts[0] === 'cuda' || parts[0] === 'gpu')) return { kind: 'all-gpus' };
  const indices: number[] = [];
  for (const p of parts) {
    const m = /^(?:(?:cuda|gpu):)?(\d{1,3})$/.exec(p);
    if (!m) return `"${p}" is not a device: use cpu, mps, cuda, or cuda:<index>`;
    const i = Number(m[1]);
    if (!indices.includes(i)) indices.push(i);
  }
  return { kind: 'choice', choice: { kind: 'gpu', indices } };
}

/** The `devices` string that gives a choice back (for run.json's launch record and tasks.json). */
export function formatDevices(choice: DeviceChoice): string {
  if (choice.kind === 'gpu') return choice.indices.map((i) => `cuda:${i}`).join(',');
  return choice.kind;
}

export interface DeviceItem {
  label: string;
  description: string;
  detail?: string;
  /** undefined for "several GPUs…", which opens a second pick. */
  choice: DeviceChoice | undefined;
}

const gib = (mib: number) => `${(mib / 1024).toFixed(mib >= 10 * 1024 ? 0 : 1)} GiB`;

export function describeGpu(g: GpuStatus): string {
  const parts: string[] = [];
  if (g.memoryTotalMiB !== null && g.memoryUsedMiB !== null) parts.push(`${gib(Math.max(0, g.memoryTotalMiB - g.memoryUsedMiB))} free of ${gib(g.memoryTotalMiB)}`);
  else if (g.memoryTotalMiB !== null) parts.push(`${gib(g.memoryTotalMiB)}`);
  if (g.utilizationPercent !== null) parts.push(`${g.utilizationPercent}% busy`);
  return parts.join(' · ');
}

export interface DeviceOptions {
  gpus: readonly GpuStatus[];
  mpsAvailable: boolean;
  /** False when PyTorch cannot use CUDA (CPU-only build): GPUs are listed with a warning. */
  cudaUsable: boolean;
  /** Processes offered for the CPU torchrun item. */
  cpuProcesses?: number;
}

export function deviceItems(o: DeviceOptions): DeviceItem[] {
  const items: DeviceItem[] = [];
  const warn = o.cudaUsable ? undefined : 'PyTorch in this interpreter cannot use CUDA: Descent: Check Environment says why';
  for (const g of o.gpus) {
    items.push({ label: `$(chip) GPU ${g.index}: ${g.name}`, description: describeGpu(g), detail: warn, choice: { kind: 'gpu', indices: [g.index] } });
  }
  if (o.gpus.length > 1) {
    items.push({
      label: `$(server) All ${o.gpus.length} GPUs`,
      description: `torchrun, ${o.gpus.length} processes`,
      detail: warn,
      choice: { kind: 'gpu', indices: o.gpus.map((g) => g.index) },
    });
  }
  if (o.gpus.length > 2) items.push({ label: '$(checklist) Several GPUs…', description: 'pick which, torchrun', choice: undefined });
  if (o.mpsAvailable) items.push({ label: '$(device-desktop) Apple MPS', description: 'Metal Performance Shaders', choice: { kind: 'mps' } });
  items.push({ label: '$(circuit-board) CPU', description: o.gpus.length ? 'CUDA_VISIBLE_DEVICES="" hides the GPUs' : '', choice: { kind: 'cpu' } });
  const n = Math.max(2, o.cpuProcesses ?? 2);
  items.push({ label: `$(server-process) CPU, ${n} processes`, description: 'torchrun with the gloo backend', choice: { kind: 'cpu', processes: n } });
  return items;
}
