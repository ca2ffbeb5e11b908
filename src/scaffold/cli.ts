// Headless generator: `node --import tsx src/scaffold/cli.ts --spec spec.json --out DIR [--force]`.
// The spec is a JSON object: "task" plus any ScaffoldOptions fields to change from defaultOptions(task)
// (e.g. {"task": "image-classification", "architecture": "resnet", "optimizer": "sgd-momentum"}).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateProject } from './generate';
import { defaultOptions, TASKS, validateOptions, type ScaffoldOptions, type Task } from './options';
import { checkData, writeProject } from './write';

/** Full options from a spec: defaults for its task, overridden by its other fields. */
export function optionsFromSpec(spec: unknown): ScaffoldOptions {
  const s = (spec && typeof spec === 'object' ? spec : {}) as Partial<ScaffoldOptions>;
  const task: Task = (TASKS as readonly string[]).includes(s.task as string) ? (s.task as Task) : 'tabular-classification';
  return defaultOptions(task, s);
}

export function loggerSourcePath(): string {
  return join(__dirname, '..', '..', 'python', 'descent', 'log.py');
}

function main(argv: string[]): number {
  const arg = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const specPath = arg('--spec');
  const out = arg('--out');
  if (!out) {
    process.stderr.write('usage: descent-scaffold [--spec spec.json] --out DIR [--force]\n');
    return 2;
  }
  const spec: unknown = specPath ? JSON.parse(readFileSync(specPath, 'utf8')) : {};
  const options = optionsFromSpec(spec);
  const problems = validateOptions(options);
  if (problems.length) {
    process.stderr.write(problems.map((p) => `${p.field}: ${p.message}\n`).join(''));
    return 2;
  }
  const dataProblems = checkData(options, out);
  if (dataProblems.length) {
    process.stderr.write(dataProblems.join('\n') + '\n');
    return 2;
  }
  const project = generateProject(options, { loggerSource: readFileSync(loggerSourcePath(), 'utf8') });
  try {
    writeProject(out, project.files, { overwrite: argv.includes('--force') });
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    return 1;
  }
  process.stdout.write(`${project.files.length} files written to ${out}\n`);
  return 0;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
