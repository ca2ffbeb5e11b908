// Reads GPUs through nvidia-smi (argument arrays, short timeout). Never throws: every outcome is a GpuReading.
import { statSync } from 'node:fs';
import { runProcess } from '../common/process';
import type { GpuReading } from '../protocol/environment';
import { findOnPath } from './interpreter';
import {
  GPU_QUERY_FIELDS,
  GPU_QUERY_FIELDS_NO_MIG,
  describeNvidiaSmiFailure,
  gpuQueryArgs,
  isUnknownFieldError,
  parseGpuCsv,
  parseGpuList,
  withMigDevices,
} from './nvidiaSmi';

/** Places the driver installs nvidia-smi outside PATH (WSL, Windows). */
const WELL_KNOWN = ['/usr/lib/wsl/lib/nvidia-smi', 'C:\\Windows\\System32\\nvidia-smi.exe', 'C:\\Program Files\\NVIDIA Corporation\\NVSMI\\nvidia-smi.exe'];

export function isExecutableFile(file: string): boolean {
  try {
    const st = statSync(file);
    return st.isFile() && (process.platform === 'win32' || (st.mode & 0o111) !== 0);
  } catch {
    return false;
  }
}

export function locateNvidiaSmi(setting: string): string | undefined {
  if (setting.trim()) return setting.trim();
  return findOnPath('nvidia-smi', process.env, process.platform, isExecutableFile) ?? WELL_KNOWN.find(isExecutableFile);
}

export async function readGpus(setting: string): Promise<GpuReading> {
  const at = Date.now();
  const smi = locateNvidiaSmi(setting);
  if (!smi) return { status: 'no-nvidia-smi', at, gpus: [], driverVersion: null, message: 'nvidia-smi is not on PATH' };

  let fields: readonly string[] = GPU_QUERY_FIELDS;
  let r = await runProcess(smi, gpuQueryArgs(fields), { timeoutMs: 10_000 });
  if (r.exitCode !== 0 && isUnknownFieldError(r.stdout + r.stderr)) {
    fields = GPU_QUERY_FIELDS_NO_MIG;
    r = await runProcess(smi, gpuQueryArgs(fields), { timeoutMs: 10_000 });
  }
  if (r.spawnError) {
    const status = r.spawnError.code === 'ENOENT' ? 'no-nvidia-smi' : 'failed';
    return { status, at, gpus: [], driverVersion: null, message: `cannot run ${smi}: ${r.spawnError.message}` };
  }
  if (r.timedOut) return { status: 'failed', at, gpus: [], driverVersion: null, message: `${smi} did not answer within 10 s` };
  if (r.exitCode !== 0) {
    return { status: 'failed', at, gpus: [], driverVersion: null, message: describeNvidiaSmiFailure(r.exitCode, r.stdout + '\n' + r.stderr) };
  }
  const parsed = parseGpuCsv(r.stdout, fields);
  let gpus = parsed.gpus;
  if (gpus.some((g) => g.migMode === 'Enabled')) {
    const list = await runProcess(smi, ['-L'], { timeoutMs: 10_000 });
    if (list.exitCode === 0) gpus = withMigDevices(gpus, parseGpuList(list.stdout));
  }
  const message = parsed.skipped.length ? `skipped ${parsed.skipped.length} unreadable line(s) from nvidia-smi` : null;
  return { status: 'ok', at, gpus, driverVersion: parsed.driverVersion, message };
}
