// run.json (run format v1) validated field by field: a damaged or foreign file gives a RunInfo with defaults and a
// list of what was wrong, never an exception.
import { RUN_FORMAT_VERSION, type JsonValue, type RunInfo, type RunStatus } from '../../protocol/runFormat';
import { parseJsonLine } from './jsonl';

const STATUSES: readonly RunStatus[] = ['running', 'finished', 'failed', 'stopped'];

export interface RunInfoResult {
  /** undefined when the text is not a JSON object at all. */
  info: RunInfo | undefined;
  problems: string[];
}

/** `fallbackName`: the run folder's name, used when run.json has none. */
export function parseRunInfo(text: string, fallbackName: string): RunInfoResult {
  const problems: string[] = [];
  const parsed = parseJsonLine(text);
  if ('error' in parsed) return { info: undefined, problems: [`run.json is ${parsed.error}`] };
  const d = parsed.value;
  if (typeof d !== 'object' || d === null || Array.isArray(d)) return { info: undefined, problems: ['run.json is not a JSON object'] };
  const doc = d as Record<string, unknown>;
  const str = (key: string, fallback: string): string => {
    const v = doc[key];
    if (typeof v === 'string') return v;
    if (v !== undefined && v !== null) problems.push(`"${key}" is not a string`);
    return fallback;
  };
  const strOrNull = (key: string): string | null => {
    const v = doc[key];
    if (typeof v === 'string') return v;
    if (v !== undefined && v !== null) problems.push(`"${key}" is not a string`);
    return null;
  };
  const intOrNull = (key: string): number | null => {
    const v = doc[key];
    if (typeof v === 'number' && Number.isInteger(v)) return v;
    if (v !== undefined && v !== null) problems.push(`"${key}" is not an integer`);
    return null;
  };
  const strings = (key: string): string[] => {
    const v = doc[key];
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
    if (v !== undefined && v !== null) problems.push(`"${key}" is not a list of strings`);
    return [];
  };

  let formatVersion = RUN_FORMAT_VERSION;
  if (typeof doc.formatVersion === 'number') formatVersion = doc.formatVersion;
  else problems.push('no "formatVersion"; read as version 1');
  if (formatVersion > RUN_FORMAT_VERSION) problems.push(`format version ${formatVersion} is newer than this Descent reads (${RUN_FORMAT_VERSION}); read what is known`);

  let status: RunStatus = 'running';
  if (typeof doc.status === 'string' && (STATUSES as readonly string[]).includes(doc.status)) status = doc.status as RunStatus;
  else problems.push(`"status" is not one of ${STATUSES.join(', ')}`);

  let git: RunInfo['git'] = null;
  const g = doc.git;
  if (typeof g === 'object' && g !== null && typeof (g as Record<string, unknown>).commit === 'string') {
    git = { commit: (g as Record<string, unknown>).commit as string, dirty: (g as Record<string, unknown>).dirty === true };
  } else if (g !== undefined && g !== null) problems.push('"git" is not {commit, dirty}');

  let hyperparameters: Record<string, JsonValue> = {};
  const h = doc.hyperparameters;
  if (typeof h === 'object' && h !== null && !Array.isArray(h)) hyperparameters = h as Record<string, JsonValue>;
  else if (h !== undefined && h !== null) problems.push('"hyperparameters" is not an object');

  let target: RunInfo['target'] = { kind: 'local' };
  const t = doc.target;
  if (typeof t === 'object' && t !== null && typeof (t as Record<string, unknown>).kind === 'string') {
    const tr = t as Record<string, unknown>;
    target = { kind: tr.kind as string };
    if (typeof tr.nprocPerNode === 'number') target.nprocPerNode = tr.nprocPerNode;
    if (typeof tr.host === 'string') target.host = tr.host;
  } else if (t !== undefined && t !== null) problems.push('"target" is not {kind, ...}');

  const info: RunInfo = {
    formatVersion,
    id: str('id', fallbackName),
    name: str('name', fallbackName),
    command: str('command', ''),
    args: strings('args'),
    cwd: str('cwd', ''),
    interpreter: strOrNull('interpreter'),
    git,
    hyperparameters,
    target,
    devices: strings('devices'),
    status,
    startTime: str('startTime', ''),
    endTime: strOrNull('endTime'),
    exitCode: intOrNull('exitCode'),
    pid: intOrNull('pid'),
  };
  const r = doc.resumedFrom;
  if (typeof r === 'object' && r !== null) {
    const rr = r as Record<string, unknown>;
    if (typeof rr.runId === 'string' && typeof rr.checkpoint === 'string') info.resumedFrom = { runId: rr.runId, checkpoint: rr.checkpoint };
  }
  return { info, problems };
}
