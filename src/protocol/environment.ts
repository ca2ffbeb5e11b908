// Shared contract for the environment feature: what the Python probe reports (validated on arrival, see
// src/environment/probeReport.ts), what nvidia-smi tells, and the messages of the Environment Report panel.
// Imported by the extension host and by webview/environment; plain types only, no runtime code.

/** Where the interpreter came from, in the order Descent tries them. */
export type InterpreterSource = 'python-extension' | 'setting' | 'path';

export interface InterpreterChoice {
  /** Absolute path, or a bare command found on PATH (resolved to its absolute path when possible). */
  path: string;
  source: InterpreterSource;
  /** One sentence for the user: why this interpreter. */
  reason: string;
}

/** Printed by python/descent/probe.py as one JSON document (schema 1). */
export interface ProbeReport {
  schema: 1;
  python: {
    version: string; // "3.11.7"
    executable: string; // sys.executable
    implementation: string; // "CPython"
    platform: string; // sys.platform: "linux", "darwin", "win32"
    machine: string; // platform.machine(): "x86_64", "arm64"
  };
  /** null when `import torch` failed; torchError then says why. */
  torch: TorchInfo | null;
  /** "ModuleNotFoundError: No module named 'torch'" or the text of another import failure. */
  torchError: string | null;
  /** Seconds the probe spent importing torch (null when it did not try). */
  torchImportSeconds: number | null;
}

export interface TorchInfo {
  version: string; // torch.__version__, e.g. "2.13.0+cpu"
  /** torch.version.cuda: the CUDA toolkit the build targets; null for CPU-only (and ROCm) builds. */
  cudaBuild: string | null;
  /** torch.version.hip for ROCm builds, else null. */
  hipBuild: string | null;
  cudaAvailable: boolean;
  /** Text of the exception or warning when CUDA initialisation failed, else null. */
  cudaError: string | null;
  cudnn: string | null; // "9.1.0" from torch.backends.cudnn.version() 90100
  mps: { built: boolean; available: boolean };
  devices: TorchDevice[];
}

export interface TorchDevice {
  index: number;
  name: string;
  totalMemoryMiB: number;
  capability: string; // "9.0"
}

/** One GPU as nvidia-smi reports it. Null fields were "[N/A]" / "[Not Supported]" or unparseable. */
export interface GpuStatus {
  index: number;
  uuid: string | null;
  name: string;
  memoryUsedMiB: number | null;
  memoryTotalMiB: number | null;
  utilizationPercent: number | null;
  temperatureC: number | null;
  /** "Enabled" / "Disabled" when the GPU supports MIG, else null. */
  migMode: string | null;
  /** MIG instances (from nvidia-smi -L) when MIG is enabled. */
  migDevices: MigDevice[];
}

export interface MigDevice {
  gpuIndex: number;
  deviceIndex: number;
  profile: string; // "1g.10gb"
  uuid: string | null;
}

export type GpuReadingStatus = 'ok' | 'no-nvidia-smi' | 'failed' | 'untrusted' | 'pending';

export interface GpuReading {
  status: GpuReadingStatus;
  /** Epoch milliseconds. */
  at: number;
  gpus: GpuStatus[];
  driverVersion: string | null;
  /** What went wrong, for status failed / no-nvidia-smi. */
  message: string | null;
}

export interface OnnxRuntimeInfo {
  status: 'ok' | 'failed';
  version: string | null;
  backends: { name: string; bundled: boolean }[];
  message: string | null;
}

export type ProbeState =
  | { status: 'pending' }
  | { status: 'untrusted' }
  | { status: 'no-interpreter'; message: string }
  | { status: 'ok'; report: ProbeReport; seconds: number }
  | { status: 'failed'; message: string; stderrTail: string };

export type ProblemSeverity = 'error' | 'warning' | 'info';

/** A button next to a problem. Only Descent's own commands and a few workbench commands are allowed. */
export interface ProblemAction {
  title: string;
  command: string;
  args?: (string | number | boolean)[];
}

export interface Problem {
  /** Stable identifier, e.g. "torch-missing". */
  code: string;
  severity: ProblemSeverity;
  /** What is wrong and what to do, one or two sentences. */
  message: string;
  actions: ProblemAction[];
}

export interface EnvironmentSnapshot {
  trusted: boolean;
  interpreter: InterpreterChoice | null;
  probe: ProbeState;
  gpus: GpuReading;
  onnxRuntime: OnnxRuntimeInfo | null;
  problems: Problem[];
}

/** Utilisation history per GPU index, oldest first, for the report's sparkline. */
export interface GpuHistoryPoint {
  at: number;
  utilization: (number | null)[];
}

// ---- Environment Report panel messages ----

export type EnvironmentReportToWebview =
  | { type: 'snapshot'; snapshot: EnvironmentSnapshot; history: GpuHistoryPoint[] }
  | { type: 'gpuReading'; reading: GpuReading; point: GpuHistoryPoint };

export type EnvironmentReportToHost =
  | { type: 'ready' }
  | { type: 'refresh' }
  | { type: 'runAction'; problemCode: string; actionIndex: number };
