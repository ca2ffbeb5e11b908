// Builders of environment snapshots for tests: a realistic baseline with overrides.
import type { EnvironmentSnapshot, GpuReading, GpuStatus, ProbeReport, TorchInfo } from '../../src/protocol/environment';

export function torchInfo(over: Partial<TorchInfo> = {}): TorchInfo {
  return {
    version: '2.13.0+cpu',
    cudaBuild: null,
    hipBuild: null,
    cudaAvailable: false,
    cudaError: null,
    cudnn: null,
    mps: { built: false, available: false },
    devices: [],
    ...over,
  };
}

export function probeReport(torch: TorchInfo | null = torchInfo(), over: Partial<ProbeReport> = {}): ProbeReport {
  return {
    schema: 1,
    python: { version: '3.11.7', executable: '/ws/.venv/bin/python', implementation: 'CPython', platform: 'linux', machine: 'x86_64' },
    torch,
    torchError: torch ? null : "ModuleNotFoundError: No module named 'torch'",
    torchImportSeconds: torch ? 1.2 : null,
    ...over,
  };
}

export function gpu(index: number, over: Partial<GpuStatus> = {}): GpuStatus {
  return {
    index,
    uuid: `GPU-${index}`,
    name: 'NVIDIA H100 80GB HBM3',
    memoryUsedMiB: 1024,
    memoryTotalMiB: 81559,
    utilizationPercent: 40,
    temperatureC: 55,
    migMode: 'Disabled',
    migDevices: [],
    ...over,
  };
}

export function gpuReading(gpus: GpuStatus[] | 'no-nvidia-smi' | 'failed', message: string | null = null): GpuReading {
  if (gpus === 'no-nvidia-smi') return { status: 'no-nvidia-smi', at: 1, gpus: [], driverVersion: null, message: message ?? 'nvidia-smi is not on PATH' };
  if (gpus === 'failed') return { status: 'failed', at: 1, gpus: [], driverVersion: null, message: message ?? 'nvidia-smi cannot talk to the NVIDIA driver' };
  return { status: 'ok', at: 1, gpus, driverVersion: '560.35.03', message };
}

export function snapshot(over: Partial<EnvironmentSnapshot> = {}): EnvironmentSnapshot {
  return {
    trusted: true,
    interpreter: { path: '/ws/.venv/bin/python', source: 'setting', reason: 'From the setting descent.pythonPath.' },
    probe: { status: 'ok', report: probeReport(), seconds: 1.5 },
    gpus: gpuReading('no-nvidia-smi'),
    onnxRuntime: { status: 'ok', version: '1.30.0', backends: [{ name: 'cpu', bundled: true }, { name: 'cuda', bundled: false }], message: null },
    problems: [],
    ...over,
  };
}
