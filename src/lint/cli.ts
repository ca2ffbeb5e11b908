// descent-lint: lints Python files, notebooks and folders outside VS Code. Output: text, JSON or SARIF 2.1.0.
// Exit codes: 0 clean (or only warnings/info), 1 an error-level finding, 2 usage error.
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { isPoolWorker, lintOnThreads, lintOrError, servePool, threadsFor, type FileJob, type FileResult } from './cliPool';
import { loadPyprojectOptions, mergeOptions, type LintOptions } from './config';
import { lintSource } from './engine';
import { lintNotebookCells, readIpynb } from './notebook';
import { initParser } from './parser';
import { lintProjectFile, lintProjectNotebook } from './project/withContext';
import { allRules } from './rules';
import type { Finding, Severity } from './types';

const USAGE = `Usage: descent-lint [paths...] [options]

Lints PyTorch / Keras training code for the mistakes that silently wreck training.
Paths are .py files, .ipynb notebooks or folders (default: .). Folders skip .git, node_modules and virtual environments.

Options:
  --format text|json|sarif   output format (default: text)
  --select IDS               only these rules (comma-separated ids or prefixes, e.g. TL,LS001)
  --ignore IDS               skip these rules
  --no-config                do not read [tool.descent.lint] from pyproject.toml
  --no-project               lint each file alone, without the classes and functions it imports from
                             its project (from model import Net)
  -j, --jobs N               lint on N threads (default: one per core, fewer for few files)
  --list-rules               print the rules and exit
  -h, --help                 this help
Exit status: 0 no error-level finding, 1 error-level findings, 2 usage error.`;

type Format = 'text' | 'json' | 'sarif';

interface Args {
  paths: string[];
  format: Format;
  select?: string[];
  ignore?: string[];
  config: boolean;
  project: boolean;
  jobs?: number;
  listRules: boolean;
  help: boolean;
}

class UsageError extends Error {}

export function parseArgs(argv: string[]): Args {
  const args: Args = { paths: [], format: 'text', config: true, project: true, listRules: false, help: false };
  const value = (i: number, flag: string): string => {
    const v = argv[i];
    if (v === undefined || v.startsWith('--')) throw new UsageError(`${flag} needs a value`);
    return v;
  };
  const ids = (s: string) => s.split(',').map((x) => x.trim().toUpperCase()).filter(Boolean);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const eq = a.indexOf('=');
    const [flag, inline] = a.startsWith('--') && eq > 0 ? [a.slice(0, eq), a.slice(eq + 1)] : [a, undefined];
    const take = () => inline ?? value(++i, flag);
    switch (flag) {
      case '--format': {
        const f = take();
        if (f !== 'text' && f !== 'json' && f !== 'sarif') throw new UsageError(`unknown format '${f}' (text, json or sarif)`);
        args.format = f;
        break;
      }
      case '--select':
        args.select = ids(take());
        break;
      case '--ignore':
        args.ignore = ids(take());
        break;
      case '-j':
      case '--jobs': {
        const v = take();
        const n = Number(v);
        if (!Number.isInteger(n) || n < 1) throw new UsageError(`--jobs needs a whole number of threads, 1 or more (got '${v}')`);
        args.jobs = n;
        break;
      }
      case '--no-config':
        args.config = false;
        break;
      case '--no-project':
        args.project = false;
        break;
      case '--list-rules':
        args.listRules = true;
        break;
      case '-h':
      case '--help':
        args.help = true;
        break;
      default:
        if (a.startsWith('-') && a !== '-') throw new UsageError(`unknown option '${a}'`);
        args.paths.push(a);
    }
  }
  if (args.paths.length === 0) args.paths.push('.');
  return args;
}

const SKIP_DIRS = new Set(['.git', '.hg', '.svn', 'node_modules', '.venv', 'venv', 'env', '.env', 'site-packages', '__pycache__', '.tox', '.nox', 'build', 'dist', '.mypy_cache', '.pytest_cache', '.ipynb_checkpoints']);

/** Python files and notebooks under the given paths; folders are walked in sorted order, skipping environments. */
export function collectFiles(paths: string[]): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    if (existsSync(join(dir, 'pyvenv.cfg'))) return;
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const p = join(dir, e.name);
      if (e.isDirectory()) {
        if (!SKIP_DIRS.has(e.name)) walk(p);
      } else if (e.isFile() && (e.name.endsWith('.py') || e.name.endsWith('.pyi') || e.name.endsWith('.ipynb'))) out.push(p);
    }
  };
  for (const p of paths) {
    if (!existsSync(p)) throw new UsageError(`no such file or folder: ${p}`);
    if (statSync(p).isDirectory()) walk(p);
    else out.push(p);
  }
  return out;
}

export interface FileFinding extends Finding {
  file: string;
  /** 1-based cell number among all the notebook's cells, for notebooks. */
  cell?: number;
}

/** A project file's text, or undefined when it is missing or not a readable file. */
function readProjectFile(path: string): string | undefined {
  try {
    return statSync(path).isFile() ? readFileSync(path, 'utf8') : undefined;
  } catch {
    return undefined;
  }
}

function lintFile(path: string, options: LintOptions, project: boolean): FileFinding[] {
  const text = readFileSync(path, 'utf8');
  const run = { options };
  if (path.endsWith('.ipynb')) {
    const nb = readIpynb(text);
    const cells = project ? lintProjectNotebook(resolve(path), nb.sources, readProjectFile, run).findings : lintNotebookCells(nb.sources, run);
    return cells.map((f) => ({ ...f, file: path, cell: (nb.cellIndex[f.cell] ?? f.cell) + 1 }));
  }
  const findings = project ? lintProjectFile(resolve(path), text, readProjectFile, run) : lintSource(text, run);
  return findings.map((f) => ({ ...f, file: path }));
}

/** Path relative to the working folder when inside it, else absolute; always with forward slashes. */
function uri(file: string, cwd: string): string {
  const rel = relative(cwd, resolve(file));
  return (rel.startsWith('..') ? resolve(file) : rel).split(sep).join('/');
}

export function formatText(findings: FileFinding[], cwd: string): string {
  const lines = findings.map((f) => {
    const where = f.cell !== undefined ? `${uri(f.file, cwd)}:cell ${f.cell}:${f.range.start.line + 1}:${f.range.start.column + 1}` : `${uri(f.file, cwd)}:${f.range.start.line + 1}:${f.range.start.column + 1}`;
    return `${where}: ${f.rule} [${f.severity}] ${f.message}`;
  });
  const errors = findings.filter((f) => f.severity === 'error').length;
  lines.push(findings.length === 0 ? 'No problems found.' : `Found ${findings.length} problem${findings.length === 1 ? '' : 's'} (${errors} error${errors === 1 ? '' : 's'}).`);
  return lines.join('\n') + '\n';
}

export function formatJson(findings: FileFinding[], cwd: string): string {
  const rows = findings.map((f) => ({
    file: uri(f.file, cwd),
    ...(f.cell !== undefined ? { cell: f.cell } : {}),
    line: f.range.start.line + 1,
    column: f.range.start.column + 1,
    endLine: f.range.end.line + 1,
    endColumn: f.range.end.column + 1,
    rule: f.rule,
    severity: f.severity,
    message: f.message,
  }));
  return JSON.stringify(rows, null, 2) + '\n';
}

const SARIF_LEVEL: Record<Severity, string> = { error: 'error', warning: 'warning', info: 'note' };

export function formatSarif(findings: FileFinding[], cwd: string, version: string): string {
  const rules = allRules.map((r) => ({
    id: r.meta.id,
    name: r.meta.name,
    shortDescription: { text: r.meta.summary },
    fullDescription: { text: r.meta.why.replace(/`/g, '') },
    help: {
      text: `${r.meta.summary}\n\nWrong:\n${r.meta.wrong}\n\nRight:\n${r.meta.right}`,
      markdown: `${r.meta.why}\n\n**Wrong**\n\`\`\`python\n${r.meta.wrong}\n\`\`\`\n\n**Right**\n\`\`\`python\n${r.meta.right}\n\`\`\`\n\nConcept: ${r.meta.concept}`,
    },
    defaultConfiguration: { level: SARIF_LEVEL[r.meta.defaultSeverity] },
    properties: { group: r.meta.group, concept: r.meta.concept },
  }));
  const index = new Map(allRules.map((r, i) => [r.meta.id, i]));
  const results = findings.map((f) => ({
    ruleId: f.rule,
    ruleIndex: index.get(f.rule) ?? -1,
    level: SARIF_LEVEL[f.severity],
    message: { text: f.message },
    locations: [
      {
        physicalLocation: {
          artifactLocation: uri(f.file, cwd).startsWith('/') ? { uri: `file://${uri(f.file, cwd)}` } : { uri: uri(f.file, cwd), uriBaseId: '%SRCROOT%' },
          region: { startLine: f.range.start.line + 1, startColumn: f.range.start.column + 1, endLine: f.range.end.line + 1, endColumn: f.range.end.column + 1 },
        },
      },
    ],
    ...(f.cell !== undefined ? { properties: { cell: f.cell } } : {}),
  }));
  const sarif = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [{ tool: { driver: { name: 'descent-lint', informationUri: 'https://github.com/descent-dev/descent', version, rules } }, results }],
  };
  return JSON.stringify(sarif, null, 2) + '\n';
}

export async function main(argv: string[], out: (s: string) => void = (s) => process.stdout.write(s), err: (s: string) => void = (s) => process.stderr.write(s)): Promise<number> {
  let args: Args;
  let files: string[];
  try {
    args = parseArgs(argv);
    if (args.help) {
      out(USAGE + '\n');
      return 0;
    }
    if (args.listRules) {
      for (const r of allRules) out(`${r.meta.id}  ${r.meta.name.padEnd(36)} ${r.meta.defaultSeverity.padEnd(8)} ${r.meta.summary}\n`);
      return 0;
    }
    files = collectFiles(args.paths);
  } catch (e) {
    if (e instanceof UsageError) {
      err(`descent-lint: ${e.message}\n\n${USAGE}\n`);
      return 2;
    }
    throw e;
  }
  const cli: LintOptions = { select: args.select, disabled: args.ignore };
  const configs = new Map<string, LintOptions>();
  const jobs: FileJob[] = files.map((path) => {
    const dir = dirname(resolve(path));
    let fileOptions = configs.get(dir);
    if (!fileOptions) configs.set(dir, (fileOptions = args.config ? loadPyprojectOptions(dir) : {}));
    return { path, options: mergeOptions(fileOptions, cli), project: args.project };
  });
  const findings: FileFinding[] = [];
  for (const [i, r] of (await lintAll(jobs, args.jobs, err)).entries()) {
    if (r.error !== undefined) err(`descent-lint: ${jobs[i]!.path}: ${r.error}\n`);
    else findings.push(...r.findings);
  }
  const cwd = process.cwd();
  out(args.format === 'json' ? formatJson(findings, cwd) : args.format === 'sarif' ? formatSarif(findings, cwd, version()) : formatText(findings, cwd));
  return findings.some((f) => f.severity === 'error') ? 1 : 0;
}

/** Lints on worker threads when there are enough files to pay for them, else here; results in the files' order. */
async function lintAll(jobs: FileJob[], requested: number | undefined, err: (s: string) => void): Promise<FileResult<FileFinding>[]> {
  const threads = threadsFor(jobs.length, requested);
  if (threads > 1) {
    try {
      return await lintOnThreads<FileFinding>(__filename, jobs, threads);
    } catch (e) {
      err(`descent-lint: worker threads failed (${(e as Error).message}); linting on one thread\n`);
    }
  }
  await initParser();
  return jobs.map((job) => lintOrError(lintJob, job));
}

function version(): string {
  for (const p of [join(__dirname, '..', '..', 'package.json'), join(__dirname, '..', 'package.json')]) {
    try {
      const v = (JSON.parse(readFileSync(p, 'utf8')) as { version?: string }).version;
      if (v) return v;
    } catch {
      // try the next
    }
  }
  return '0.0.0';
}

const lintJob = (job: FileJob) => lintFile(job.path, job.options, job.project);

if (isPoolWorker()) {
  void servePool(() => initParser(), lintJob);
} else if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`descent-lint: ${(e as Error).stack ?? String(e)}\n`);
      process.exitCode = 2;
    },
  );
}
