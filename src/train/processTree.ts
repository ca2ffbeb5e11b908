// Stopping a run kills its whole process tree: the process group it was started in, and every descendant, found by
// parent pid, because torchrun starts its workers in new sessions (start_new_session=True) outside that group.
import * as fs from 'node:fs';
import { runProcess } from '../common/process';

export interface ProcessRow {
  pid: number;
  ppid: number;
}

/** Every descendant of root (children first found, then theirs), not root itself. Pure. */
export function descendants(rows: readonly ProcessRow[], root: number): number[] {
  const children = new Map<number, number[]>();
  for (const r of rows) {
    const list = children.get(r.ppid);
    if (list) list.push(r.pid);
    else children.set(r.ppid, [r.pid]);
  }
  const out: number[] = [];
  const seen = new Set<number>([root]);
  const queue = [root];
  while (queue.length) {
    const p = queue.shift()!;
    for (const c of children.get(p) ?? []) {
      if (seen.has(c)) continue;
      seen.add(c);
      out.push(c);
      queue.push(c);
    }
  }
  return out;
}

/** Parses `ps -A -o pid= -o ppid=`. Pure. */
export function parsePs(text: string): ProcessRow[] {
  const rows: ProcessRow[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*(\d+)\s+(\d+)\s*$/.exec(line);
    if (m) rows.push({ pid: Number(m[1]), ppid: Number(m[2]) });
  }
  return rows;
}

/** Parses the ppid out of /proc/<pid>/stat ("pid (comm) state ppid ..."; comm may hold spaces and parentheses). */
export function ppidFromStat(stat: string): number | undefined {
  const close = stat.lastIndexOf(')');
  if (close === -1) return undefined;
  const fields = stat.slice(close + 2).split(' ');
  const ppid = Number(fields[1]);
  return Number.isInteger(ppid) ? ppid : undefined;
}

export async function listProcesses(): Promise<ProcessRow[]> {
  if (process.platform === 'linux') {
    try {
      const rows: ProcessRow[] = [];
      for (const name of fs.readdirSync('/proc')) {
        if (!/^\d+$/.test(name)) continue;
        try {
          const ppid = ppidFromStat(fs.readFileSync(`/proc/${name}/stat`, 'utf8'));
          if (ppid !== undefined) rows.push({ pid: Number(name), ppid });
        } catch {
          // The process ended while we looked.
        }
      }
      return rows;
    } catch {
      // No /proc: fall back to ps.
    }
  }
  const r = await runProcess('ps', ['-A', '-o', 'pid=', '-o', 'ppid='], { timeoutMs: 5000 });
  return r.exitCode === 0 ? parsePs(r.stdout) : [];
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // Gone already, or not ours.
  }
}

/** The state letter of /proc/<pid>/stat ("R", "S", "Z" for a zombie, ...), undefined without /proc. */
export function stateFromStat(stat: string): string | undefined {
  const close = stat.lastIndexOf(')');
  return close === -1 ? undefined : stat.slice(close + 2, close + 3) || undefined;
}

/** A process that exists and is not a zombie (a killed child whose parent is gone and nobody reaped it). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (process.platform === 'linux') {
    try {
      return stateFromStat(fs.readFileSync(`/proc/${pid}/stat`, 'utf8')) !== 'Z';
    } catch {
      return false;
    }
  }
  return true;
}

/**
 * Sends `sig` to root's process group and to every descendant (and their groups). Returns the pids signalled. On
 * Windows, `taskkill /T /F` ends the tree.
 */
export async function signalTree(root: number, sig: NodeJS.Signals, known: readonly number[] = []): Promise<number[]> {
  if (process.platform === 'win32') {
    await runProcess('taskkill', ['/pid', String(root), '/T', '/F'], { timeoutMs: 10_000 });
    return [root];
  }
  const tree = [...new Set([...descendants(await listProcesses(), root), ...known])];
  signal(-root, sig);
  signal(root, sig);
  for (const pid of tree) {
    signal(pid, sig);
    signal(-pid, sig);
  }
  return tree;
}

/** The command line of a process (arguments joined by spaces), or undefined when it cannot be read. */
export async function commandLine(pid: number): Promise<string | undefined> {
  if (process.platform === 'linux') {
    try {
      return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
    } catch {
      return undefined;
    }
  }
  if (process.platform === 'win32') return undefined;
  const r = await runProcess('ps', ['-o', 'command=', '-p', String(pid)], { timeoutMs: 5000 });
  return r.exitCode === 0 ? r.stdout.trim() : undefined;
}

/**
 * Whether a live pid from run.json still is that run's process (pids are reused after a reboot): its command line
 * names the run's script. Pure.
 */
export function isRunProcess(cmdline: string | undefined, script: string | undefined): boolean {
  if (cmdline === undefined) return true; // cannot tell (Windows): trust run.json
  return script !== undefined && script !== '' && cmdline.includes(script);
}
