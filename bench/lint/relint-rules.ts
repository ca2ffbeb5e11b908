// Where the re-lint time goes, rule by rule: the 2,000-line file of cpu.ts, 300 random one-character edits (each
// insert undone by the next), `onRuleTime` summed per rule over the last 250. Shared analyses are charged to the first
// rule that asks for them. Wall-clock ms per re-lint: compare rules within one run, not across machines.
//   node --expose-gc --import tsx bench/lint/relint-rules.ts [--lint DIR]   (DIR: another src/lint, as in cpu.ts)
import { join, resolve } from 'node:path';
import { generateFile, Rng } from './generate';

const i = process.argv.indexOf('--lint');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const L = require(i > 0 ? resolve(process.argv[i + 1]!) : join(__dirname, '..', '..', 'src', 'lint')) as typeof import('../../src/lint');

async function main() {
  await L.initParser();
  const big = generateFile(100_000);
  const doc = new L.ParsedDocument(big);
  L.lintDocument(doc);
  const rng = new Rng(42);
  const per = new Map<string, number>();
  let parse = 0, lint = 0, n = 0;
  const lat: number[] = [];
  for (let k = 0; k < 300; k++) {
    const pos = rng.int(0, doc.source.length - 1);
    const ch = rng.pick([...'abcxyz_0( .:']);
    for (const [a, b, t] of [[pos, pos, ch], [pos, pos + 1, '']] as const) {
      const t0 = performance.now();
      doc.applyEdit(a, b, t);
      const t1 = performance.now();
      L.lintDocument(doc, k >= 50 ? { onRuleTime: (r, ms) => per.set(r, (per.get(r) ?? 0) + ms) } : {});
      const t2 = performance.now();
      if (k >= 50) { parse += t1 - t0; lint += t2 - t1; n++; lat.push(t2 - t0); }
    }
  }
  lat.sort((x, y) => x - y);
  console.log(`n=${n} parse ${(parse / n).toFixed(2)} ms, lint ${(lint / n).toFixed(2)} ms, p50 ${lat[n >> 1]!.toFixed(1)} p95 ${lat[Math.floor(n * 0.95)]!.toFixed(1)}`);
  const rules = [...per].sort((a, b) => b[1] - a[1]);
  const total = rules.reduce((s, [, v]) => s + v, 0);
  const local = new Set(L.allRules.filter((r) => r.local).map((r) => r.meta.id));
  const kindOf = new Map(L.allRules.map((r) => [r.meta.id, r.local ? "local" : r.candidate ? "cand" : r.check ? "check" : "visit"]));
  const localMs = rules.filter(([r]) => local.has(r)).reduce((s, [, v]) => s + v, 0);
  console.log(`rules total ${(total / n).toFixed(2)} ms (${local.size} statement-local rules ${(localMs / n).toFixed(2)} ms); index+rest ${((lint - total) / n).toFixed(2)} ms`);
  console.log(rules.slice(0, process.argv.includes("--all") ? rules.length : 30).map(([r, v]) => `${r} ${kindOf.get(r)} ${(v / n).toFixed(2)}`).join('\n'));
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
