// CPU-time figures of one linter build, one per process: for before/after comparisons on a loaded machine, where
// wall-clock times move 2-4x between runs. Two builds must not share a process: they share web-tree-sitter's module
// and the one initialised second parses about 1.5x slower.
//   node --expose-gc --import tsx bench/lint/cpu.ts [--lint DIR]    (DIR: a src/lint folder, default this tree's;
//   e.g. the previous commit's from `git archive HEAD src/lint src/protocol | tar -x -C /tmp/base`, with
//   /tmp/base/node_modules linked to this repo's). Run it alternately for each build and compare.
// Prints JSON: throughput CPU ms (best of 3) on 40 k generated + 40 k torch-source lines, and re-lint CPU ms p50/p95
// of a 2,000-line file over 320 one-character edits (as run.ts, each insert undone by the next edit).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { generateFile, generateScript, Rng } from './generate';

type Lint = typeof import('../../src/lint');

const i = process.argv.indexOf('--lint');
const dir = i > 0 ? resolve(process.argv[i + 1]!) : join(__dirname, '..', '..', 'src', 'lint');
const cpuMs = (c: NodeJS.CpuUsage) => (c.user + c.system) / 1000;

async function main(): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const L = require(dir) as Lint;
  await L.initParser();
  const texts: string[] = [];
  let gen = 0;
  for (let s = 1; gen < 40_000; s++) {
    const t = generateScript(s, 200 + ((s * 7919) % 900));
    texts.push(t);
    gen += t.split('\n').length;
  }
  let disk = 0;
  const walk = (d: string): void => {
    for (const e of readdirSync(d).sort()) {
      if (disk >= 40_000) return;
      const p = join(d, e);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else if (e.endsWith('.py') && st.size < 2e6) {
        const t = readFileSync(p, 'utf8');
        texts.push(t);
        disk += t.split('\n').length;
      }
    }
  };
  walk(join(homedir(), '.cache', 'descent-tools', 'pyvenv', 'lib', 'python3.11', 'site-packages', 'torch'));
  const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
  let best = Infinity;
  for (let r = 0; r < 3; r++) {
    gc();
    const c0 = process.cpuUsage();
    for (const t of texts) L.lintSource(t);
    best = Math.min(best, cpuMs(process.cpuUsage(c0)));
  }
  const big = generateFile(100_000);
  const doc = new L.ParsedDocument(big);
  L.lintDocument(doc);
  const rng = new Rng(42);
  const lat: number[] = [];
  for (let k = 0; k < 200; k++) {
    const pos = rng.int(0, doc.source.length - 1);
    const ch = rng.pick([...'abcxyz_0( .:']);
    for (const [a, b, t] of [[pos, pos, ch], [pos, pos + 1, '']] as const) {
      const c0 = process.cpuUsage();
      doc.applyEdit(a, b, t);
      L.lintDocument(doc);
      if (k >= 40) lat.push(cpuMs(process.cpuUsage(c0)));
    }
  }
  doc.dispose();
  lat.sort((x, y) => x - y);
  const lines = gen + disk;
  console.log(
    JSON.stringify({ lint: dir, lines, cpuMs: Math.round(best), linesPerCpuS: Math.round(lines / (best / 1000)), relintP50: +lat[Math.floor(lat.length / 2)]!.toFixed(2), relintP95: +lat[Math.ceil(lat.length * 0.95) - 1]!.toFixed(2) }),
  );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
