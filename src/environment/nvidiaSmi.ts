// Parsing of nvidia-smi's machine-readable output. Pure: the process is run elsewhere (gpuReader.ts).
import type { GpuStatus, MigDevice } from '../protocol/environment';

/** Fields asked of `nvidia-smi --query-gpu=...`, in this order. */
export const GPU_QUERY_FIELDS = [
  'index',
  'uuid',
  'name',
  'memory.used',
  'memory.total',
  'utilization.gpu',
  'temperature.gpu',
  'driver_version',
  'mig.mode.current',
] as const;

/** Older drivers reject `mig.mode.current`; this shorter query is the fallback. */
export const GPU_QUERY_FIELDS_NO_MIG = GPU_QUERY_FIELDS.slice(0, 8);

export function gpuQueryArgs(fields: readonly string[] = GPU_QUERY_FIELDS): string[] {
  return [`--query-gpu=${fields.join(',')}`, '--format=csv,noheader,nounits'];
}

/** True when nvidia-smi refused the query because a field is unknown to this driver. */
export function isUnknownFieldError(output: string): boolean {
  return /is not a valid field to query/i.test(output);
}

/** "[N/A]", "N/A", "[Not Supported]", "[Unknown Error]", "[Insufficient Permissions]", "" all mean "no value". */
function isMissing(value: string): boolean {
  const v = value.trim();
  return v === '' || /^\[.*\]$/.test(v) || /^n\/?a$/i.test(v);
}

function numberOrNull(value: string | undefined): number | null {
  if (value === undefined || isMissing(value)) return null;
  const n = Number(value.trim());
  return Number.isFinite(n) ? n : null;
}

function textOrNull(value: string | undefined): string | null {
  return value === undefined || isMissing(value) ? null : value.trim();
}

export interface GpuCsvResult {
  gpus: GpuStatus[];
  driverVersion: string | null;
  /** Lines that could not be read, with the reason; the rest is kept. */
  skipped: { line: number; reason: string }[];
}

/**
 * Parses `--format=csv,noheader,nounits` output for the given field list. GPU names never contain commas in
 * practice, but a name that did would shift the columns; such a line is reported as skipped rather than misread.
 */
export function parseGpuCsv(output: string, fields: readonly string[] = GPU_QUERY_FIELDS): GpuCsvResult {
  const gpus: GpuStatus[] = [];
  const skipped: GpuCsvResult['skipped'] = [];
  let driverVersion: string | null = null;
  const lines = output.split(/\r?\n/);
  lines.forEach((raw, i) => {
    if (raw.trim() === '') return;
    const cells = raw.split(',').map((c) => c.trim());
    if (cells.length !== fields.length) {
      skipped.push({ line: i + 1, reason: `expected ${fields.length} values, found ${cells.length}` });
      return;
    }
    const get = (f: string) => cells[fields.indexOf(f)];
    const index = numberOrNull(get('index'));
    const name = textOrNull(get('name'));
    if (index === null || !Number.isInteger(index) || name === null) {
      skipped.push({ line: i + 1, reason: 'no GPU index or name' });
      return;
    }
    driverVersion ??= textOrNull(get('driver_version'));
    gpus.push({
      index,
      uuid: textOrNull(get('uuid')),
      name,
      memoryUsedMiB: numberOrNull(get('memory.used')),
      memoryTotalMiB: numberOrNull(get('memory.total')),
      utilizationPercent: numberOrNull(get('utilization.gpu')),
      temperatureC: numberOrNull(get('temperature.gpu')),
      migMode: fields.includes('mig.mode.current') ? textOrNull(get('mig.mode.current')) : null,
      migDevices: [],
    });
  });
  return { gpus, driverVersion, skipped };
}

/**
 * Parses `nvidia-smi -L`:
 *   GPU 0: NVIDIA A100-SXM4-40GB (UUID: GPU-5a1c...)
 *     MIG 1g.5gb      Device  0: (UUID: MIG-7f2d...)
 */
export function parseGpuList(output: string): MigDevice[] {
  const devices: MigDevice[] = [];
  let gpuIndex: number | null = null;
  for (const line of output.split(/\r?\n/)) {
    const gpu = /^GPU\s+(\d+):/.exec(line);
    if (gpu) {
      gpuIndex = Number(gpu[1]);
      continue;
    }
    const mig = /^\s+MIG\s+(\S+)\s+Device\s+(\d+):\s*(?:\(UUID:\s*([^)]+)\))?/.exec(line);
    if (mig && gpuIndex !== null) {
      devices.push({ gpuIndex, profile: mig[1]!, deviceIndex: Number(mig[2]), uuid: mig[3]?.trim() ?? null });
    }
  }
  return devices;
}

/** Attaches MIG instances to their parent GPUs. */
export function withMigDevices(gpus: GpuStatus[], mig: MigDevice[]): GpuStatus[] {
  return gpus.map((g) => ({ ...g, migDevices: mig.filter((m) => m.gpuIndex === g.index) }));
}

/** Recognises nvidia-smi's "cannot talk to the driver" failure, the usual sign of a missing or mismatched driver. */
export function describeNvidiaSmiFailure(exitCode: number | null, output: string): string {
  const text = output.trim().split(/\r?\n/).slice(0, 3).join(' ');
  if (/couldn't communicate with the NVIDIA driver|NVIDIA-SMI has failed/i.test(output)) {
    return `nvidia-smi cannot talk to the NVIDIA driver (${text}). Install or reload the driver, then reboot if it was just updated.`;
  }
  if (/Driver\/library version mismatch/i.test(output)) {
    return 'The NVIDIA kernel driver and library versions differ (usually after a driver update). Reboot to load the new driver.';
  }
  return `nvidia-smi failed${exitCode === null ? '' : ` with exit code ${exitCode}`}: ${text || 'no output'}`;
}
