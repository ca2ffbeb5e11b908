// A training request: from the Descent: Train command's argument, a `descent` task definition (tasks.json), or a
// run to resume. Pure: validation and path expansion only.
import * as path from 'node:path';
import { parseDevices, type DeviceRequest } from './devices';

/** The task type contributed in package.json (`taskDefinitions`). */
export const TASK_TYPE = 'descent';

export interface TrainRequest {
  /** As given: absolute, relative to the workspace folder, or with ${workspaceFolder}. */
  script: string;
  args: string[];
  /** Interpreter override; default: the resolved interpreter (Environment view). */
  python?: string;
  devices: DeviceRequest;
  target?: 'local' | 'torchrun';
  nprocPerNode?: number;
  runName?: string;
  cwd?: string;
  resumedFrom?: { runId: string; checkpoint: string };
}

/** The fields of a `descent` task in tasks.json (see package.json taskDefinitions). */
export interface DescentTaskDefinition {
  type: typeof TASK_TYPE;
  script: string;
  args?: string[];
  python?: string;
  devices?: string | string[];
  target?: 'local' | 'torchrun';
  nprocPerNode?: number;
  runName?: string;
  cwd?: string;
}

/** Validates a task definition (or the object given to descent.train); a string is what is wrong. */
export function requestFromDefinition(def: Record<string, unknown>): TrainRequest | string {
  if (typeof def.script !== 'string' || def.script.trim() === '') return 'the task has no "script" (the Python file to train)';
  const args = def.args ?? [];
  if (!Array.isArray(args) || !args.every((a) => typeof a === 'string' || typeof a === 'number')) return '"args" must be a list of strings';
  const devices = parseDevices(def.devices);
  if (typeof devices === 'string') return devices;
  const req: TrainRequest = { script: def.script.trim(), args: args.map(String), devices };
  if (def.python !== undefined) {
    if (typeof def.python !== 'string') return '"python" must be a path';
    if (def.python.trim()) req.python = def.python.trim();
  }
  if (def.target !== undefined) {
    if (def.target !== 'local' && def.target !== 'torchrun') return '"target" must be "local" or "torchrun"';
    req.target = def.target;
  }
  if (def.nprocPerNode !== undefined) {
    if (typeof def.nprocPerNode !== 'number' || !Number.isInteger(def.nprocPerNode) || def.nprocPerNode < 1 || def.nprocPerNode > 1024) {
      return '"nprocPerNode" must be a whole number from 1';
    }
    req.nprocPerNode = def.nprocPerNode;
  }
  if (def.runName !== undefined) {
    if (typeof def.runName !== 'string') return '"runName" must be a string';
    if (def.runName.trim()) req.runName = def.runName.trim();
  }
  if (def.cwd !== undefined) {
    if (typeof def.cwd !== 'string') return '"cwd" must be a path';
    if (def.cwd.trim()) req.cwd = def.cwd.trim();
  }
  const r = def.resumedFrom as { runId?: unknown; checkpoint?: unknown } | undefined;
  if (r && typeof r === 'object' && typeof r.runId === 'string' && typeof r.checkpoint === 'string') req.resumedFrom = { runId: r.runId, checkpoint: r.checkpoint };
  return req;
}

/** Expands ${workspaceFolder}, ${userHome} and ~, and makes a relative path relative to `base`. */
export function expandPath(value: string, base: string | undefined, homeDir: string): string | undefined {
  let out = value.trim();
  if (out.includes('${workspaceFolder}')) {
    if (!base) return undefined;
    out = out.split('${workspaceFolder}').join(base);
  }
  out = out.split('${userHome}').join(homeDir);
  if (out === '~' || out.startsWith('~/') || out.startsWith('~\\')) out = homeDir + out.slice(1);
  if (!path.isAbsolute(out) && base) out = path.join(base, out);
  return path.normalize(out);
}
