// Re-lint latency of one linter build, robust to a shared machine: the same 400 one-character edits of the 2,000-line
// file (cpu.ts's, each insert undone by the next edit) are replayed in 4 passes on fresh documents, and each edit's
// fastest pass is kept (interference from other processes only ever adds time). For before/after comparisons:
//   node --import tsx bench/lint/relint-ab.ts [--lint DIR]   (DIR: another src/lint, as in cpu.ts; run builds alternately)
// Prints JSON: p50, p95 and mean of the per-edit minimum, in ms (incremental parse + lint of every rule).
import { join, resolve } from 'node:path';
import { generateFile, Rng } from './generate';

const i = process.argv.indexOf('--lint');
const dir = i > 0 ? resolve(process.argv[i + 1]!) : join(__dirname, '..', '..', 'src', 'lint');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const L = require(dir) as typeof import('../../src/lint');
const PASSES = 4;
const EDITS = 200;
const WARM = 30;

async function main(): Promise<void> {
  await L.initParser();
  const best: number[] = new Array<number>(2 * EDITS).fill(Infinity);
  for (let pass = 0; pass < PASSES; pass++) {
    const doc = new L.ParsedDocument(generateFile(100_000));
    L.lintDocument(doc);
    const rng = new Rng(42);
    for (let k = 0; k < EDITS + WARM; k++) {
      const pos = rng.int(0, doc.source.length - 1);
      const ch = rng.pick([...'abcxyz_0( .:']);
      const edits = [[pos, pos, ch], [pos, pos + 1, '']] as const;
      for (let j = 0; j < 2; j++) {
        const [a, b, t] = edits[j]!;
        const t0 = performance.now();
        doc.applyEdit(a, b, t);
        L.lintDocument(doc);
        const ms = performance.now() - t0;
        const slot = 2 * (k - WARM) + j;
        if (k >= WARM) best[slot] = Math.min(best[slot]!, ms);
      }
    }
    doc.dispose();
  }
  const sorted = [...best].sort((x, y) => x - y);
  const mean = sorted.reduce((s, x) => s + x, 0) / sorted.length;
  const at = (q: number) => +sorted[Math.ceil(q * sorted.length) - 1]!.toFixed(2);
  console.log(JSON.stringify({ lint: dir, p50: at(0.5), p95: at(0.95), mean: +mean.toFixed(2) }));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
