// The git commit and dirty flag of a run's working directory: `git rev-parse HEAD` and `git status --porcelain`
// (argument arrays, short timeouts). Outside a repository, without git, or on any failure: null.
import { runProcess } from '../common/process';
import type { RunInfo } from '../protocol/runFormat';

export async function readGitState(cwd: string, git = 'git'): Promise<RunInfo['git']> {
  const head = await runProcess(git, ['rev-parse', 'HEAD'], { cwd, timeoutMs: 5000, maxOutput: 1000 });
  const commit = head.stdout.trim();
  if (head.exitCode !== 0 || !/^[0-9a-f]{40,64}$/.test(commit)) return null;
  // --untracked-files=no: a fresh runs/ folder alone should not mark the code dirty.
  const status = await runProcess(git, ['status', '--porcelain', '--untracked-files=no'], { cwd, timeoutMs: 10_000, maxOutput: 100_000 });
  return { commit, dirty: status.exitCode === 0 ? status.stdout.trim() !== '' : true };
}
