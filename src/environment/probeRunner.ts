// Runs python/descent/probe.py with the chosen interpreter and turns the outcome into a ProbeState.
import { runProcess, tailLines } from '../common/process';
import type { ProbeState } from '../protocol/environment';
import { parseProbeOutput } from './probeReport';

export async function runProbe(python: string, probeScript: string, cwd: string | undefined): Promise<ProbeState> {
  // Importing a CUDA build of torch the first time can take a while on a cold disk.
  const r = await runProcess(python, ['-X', 'utf8', probeScript], {
    cwd,
    timeoutMs: 120_000,
    env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', PYTHONIOENCODING: 'utf-8' },
  });
  const seconds = r.ms / 1000;
  if (r.spawnError) {
    const why =
      r.spawnError.code === 'ENOENT'
        ? 'no such file'
        : r.spawnError.code === 'EACCES'
          ? 'not executable'
          : r.spawnError.message;
    return { status: 'failed', message: why, stderrTail: '' };
  }
  if (r.timedOut) return { status: 'failed', message: 'the probe did not finish within 120 s', stderrTail: tailLines(r.stderr) };
  const parsed = parseProbeOutput(r.stdout);
  if (parsed.ok) return { status: 'ok', report: parsed.report, seconds };
  const exit = r.exitCode !== 0 ? ` (exit code ${r.exitCode ?? r.signal})` : '';
  const lastErr = tailLines(r.stderr, 1);
  return { status: 'failed', message: `${parsed.message}${exit}${lastErr ? `; stderr: ${lastErr}` : ''}`, stderrTail: tailLines(r.stderr) };
}
