// What to start for a training run: the argument array (local Python or torchrun), the environment, and how the run
// records its target and devices. Pure: no process is started here.
import type { RunTarget } from '../protocol/runFormat';

/** Where the run's processes compute. */
export type DeviceChoice =
  | { kind: 'cpu'; /** Processes under torchrun (gloo); 1 or absent: a plain local run. */ processes?: number }
  | { kind: 'mps' }
  | { kind: 'gpu'; /** nvidia-smi indices. Several: torchrun, one process per GPU. */ indices: number[] };

export interface LaunchInput {
  python: string;
  /** Absolute path of the training script. */
  script: string;
  /** The script's own arguments. */
  args: readonly string[];
  device: DeviceChoice;
  /** "torchrun" forces a distributed launch even with one device. */
  target?: 'local' | 'torchrun';
  /** Processes for torchrun on CPU (default 2) or with one GPU (default 1). */
  nprocPerNode?: number;
}

export interface LaunchPlan {
  command: string;
  args: string[];
  /** Variables to set (an empty string is a value: CUDA_VISIBLE_DEVICES="" hides every GPU). */
  env: Record<string, string>;
  target: RunTarget;
  devices: string[];
}

/** Uses torchrun: asked for, several GPUs, or several CPU processes. */
export function usesTorchrun(input: Pick<LaunchInput, 'device' | 'target'>): boolean {
  if (input.target === 'torchrun') return true;
  if (input.device.kind === 'gpu') return input.device.indices.length > 1;
  if (input.device.kind === 'cpu') return (input.device.processes ?? 1) > 1;
  return false;
}

export function processCount(input: Pick<LaunchInput, 'device' | 'target' | 'nprocPerNode'>): number {
  const d = input.device;
  let n: number;
  if (d.kind === 'gpu') n = d.indices.length > 1 ? d.indices.length : (input.nprocPerNode ?? 1);
  else if (d.kind === 'cpu') n = d.processes ?? input.nprocPerNode ?? (input.target === 'torchrun' ? 2 : 1);
  else n = 1;
  return Math.max(1, Math.floor(n));
}

export function planLaunch(input: LaunchInput): LaunchPlan {
  const env: Record<string, string> = {};
  let devices: string[];
  const d = input.device;
  if (d.kind === 'gpu') {
    env.CUDA_VISIBLE_DEVICES = d.indices.join(',');
    env.DESCENT_DEVICE = 'cuda';
    devices = d.indices.map((i) => `cuda:${i}`);
  } else if (d.kind === 'cpu') {
    // Hides every GPU from CUDA, so torch.cuda.is_available() is False and the script takes its CPU path.
    env.CUDA_VISIBLE_DEVICES = '';
    env.DESCENT_DEVICE = 'cpu';
    devices = ['cpu'];
  } else {
    env.DESCENT_DEVICE = 'mps';
    devices = ['mps'];
  }
  if (!usesTorchrun(input)) {
    return { command: input.python, args: [input.script, ...input.args], env, target: { kind: 'local' }, devices };
  }
  const n = processCount(input);
  return {
    command: input.python,
    // `python -m torch.distributed.run` is torchrun without relying on the console script being on PATH; --standalone
    // runs a single-node rendezvous on a free port.
    args: ['-m', 'torch.distributed.run', '--standalone', `--nproc_per_node=${n}`, input.script, ...input.args],
    env,
    target: { kind: 'torchrun', nprocPerNode: n },
    devices,
  };
}

export interface EnvInput {
  /** Absolute run directory (DESCENT_RUN_DIR). */
  runDir: string;
  /** The extension's python/ folder, prepended to PYTHONPATH so `from descent import log` works. */
  helpersDir: string;
  /** From planLaunch. */
  planEnv: Record<string, string>;
  /** path.delimiter of the platform (":" or ";"). */
  delimiter: string;
}

/** The child's environment: the base environment, the plan's variables, then Descent's own. */
export function buildEnv(base: Readonly<Record<string, string | undefined>>, input: EnvInput): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(base)) if (v !== undefined) env[k] = v;
  Object.assign(env, input.planEnv);
  const existing = env.PYTHONPATH;
  env.PYTHONPATH = existing ? `${input.helpersDir}${input.delimiter}${existing}` : input.helpersDir;
  env.DESCENT_RUN_DIR = input.runDir;
  env.PYTHONUNBUFFERED = '1';
  return env;
}

/** A command line for people to read (terminal header, messages): POSIX-style quoting; never executed. */
export function displayCommand(command: string, args: readonly string[]): string {
  const quote = (s: string) => (s !== '' && /^[A-Za-z0-9_./:=,+@%-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
  return [command, ...args].map(quote).join(' ');
}
