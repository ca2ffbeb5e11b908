// Validation of the probe's JSON. The interpreter is the user's, so its output is untrusted input: every field is
// checked, strings are length-capped, and a wrong shape becomes a clear message instead of a crash.
import type { ProbeReport, TorchDevice, TorchInfo } from '../protocol/environment';

export type ProbeParseResult = { ok: true; report: ProbeReport } | { ok: false; message: string };

const MAX_TEXT = 2000;

class Invalid extends Error {}

type Obj = Record<string, unknown>;

function obj(v: unknown, where: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Invalid(`${where} should be an object`);
  return v as Obj;
}
function str(o: Obj, key: string, where: string): string {
  const v = o[key];
  if (typeof v !== 'string') throw new Invalid(`${where}.${key} should be a string`);
  return v.slice(0, MAX_TEXT);
}
function strOrNull(o: Obj, key: string, where: string): string | null {
  return o[key] === null || o[key] === undefined ? null : str(o, key, where);
}
function bool(o: Obj, key: string, where: string): boolean {
  const v = o[key];
  if (typeof v !== 'boolean') throw new Invalid(`${where}.${key} should be true or false`);
  return v;
}
function num(o: Obj, key: string, where: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Invalid(`${where}.${key} should be a number`);
  return v;
}
function numOrNull(o: Obj, key: string, where: string): number | null {
  return o[key] === null || o[key] === undefined ? null : num(o, key, where);
}

function device(v: unknown, i: number): TorchDevice {
  const where = `torch.devices[${i}]`;
  const o = obj(v, where);
  return {
    index: num(o, 'index', where),
    name: str(o, 'name', where),
    totalMemoryMiB: num(o, 'totalMemoryMiB', where),
    capability: str(o, 'capability', where),
  };
}

function torch(v: unknown): TorchInfo {
  const o = obj(v, 'torch');
  const mps = obj(o.mps, 'torch.mps');
  const devices = o.devices;
  if (!Array.isArray(devices)) throw new Invalid('torch.devices should be a list');
  return {
    version: str(o, 'version', 'torch'),
    cudaBuild: strOrNull(o, 'cudaBuild', 'torch'),
    hipBuild: strOrNull(o, 'hipBuild', 'torch'),
    cudaAvailable: bool(o, 'cudaAvailable', 'torch'),
    cudaError: strOrNull(o, 'cudaError', 'torch'),
    cudnn: strOrNull(o, 'cudnn', 'torch'),
    mps: { built: bool(mps, 'built', 'torch.mps'), available: bool(mps, 'available', 'torch.mps') },
    devices: devices.slice(0, 64).map(device),
  };
}

/** Validates a parsed JSON value against ProbeReport schema 1. */
export function validateProbeReport(value: unknown): ProbeParseResult {
  try {
    const o = obj(value, 'report');
    if (o.schema !== 1) {
      return { ok: false, message: `unsupported probe schema ${JSON.stringify(o.schema)} (expected 1); reinstall Descent` };
    }
    const py = obj(o.python, 'python');
    const report: ProbeReport = {
      schema: 1,
      python: {
        version: str(py, 'version', 'python'),
        executable: str(py, 'executable', 'python'),
        implementation: str(py, 'implementation', 'python'),
        platform: str(py, 'platform', 'python'),
        machine: str(py, 'machine', 'python'),
      },
      torch: o.torch === null ? null : torch(o.torch),
      torchError: strOrNull(o, 'torchError', 'report'),
      torchImportSeconds: numOrNull(o, 'torchImportSeconds', 'report'),
    };
    return { ok: true, report };
  } catch (e) {
    if (e instanceof Invalid) return { ok: false, message: `the probe's report is malformed: ${e.message}` };
    throw e;
  }
}

/**
 * Finds the report in the probe's stdout. The probe prints exactly one JSON document, but a sitecustomize or a
 * noisy startup hook may print before it, so the last line that parses as a JSON object is taken.
 */
export function parseProbeOutput(stdout: string): ProbeParseResult {
  const lines = stdout.split(/\r?\n/).filter((l) => l.trim().startsWith('{'));
  for (let i = lines.length - 1; i >= 0; i--) {
    let value: unknown;
    try {
      value = JSON.parse(lines[i]!);
    } catch {
      continue;
    }
    return validateProbeReport(value);
  }
  const shown = stdout.trim().slice(0, 200);
  return { ok: false, message: shown ? `the probe printed no JSON report (it printed: ${shown})` : 'the probe printed nothing' };
}
