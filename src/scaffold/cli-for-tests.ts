// For python/tests/test_scaffold.py: generates every project of a matrix file (test/fixtures/scaffold/matrix.json)
// in one process: `node --import tsx src/scaffold/cli-for-tests.ts <matrix.json> <outdir>` writes <outdir>/<id>/.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loggerSourcePath, optionsFromSpec } from './cli';
import { generateProject } from './generate';
import { writeProject } from './write';

interface MatrixEntry {
  id: string;
  spec: unknown;
}

const [matrixPath, outDir] = process.argv.slice(2);
if (!matrixPath || !outDir) {
  process.stderr.write('usage: cli-for-tests.ts <matrix.json> <outdir>\n');
  process.exit(2);
}
const matrix = JSON.parse(readFileSync(matrixPath, 'utf8')) as { projects: MatrixEntry[] };
const loggerSource = readFileSync(loggerSourcePath(), 'utf8');
for (const entry of matrix.projects) {
  const project = generateProject(optionsFromSpec(entry.spec), { loggerSource });
  writeProject(join(outDir, entry.id), project.files, { overwrite: true });
}
process.stdout.write(`${matrix.projects.length} projects written to ${outDir}\n`);
