// Main-thread block time while typing in a 2,000-line file: the lint client in worker mode (dist/lintEngine.js as a worker thread,
// run `npm run build` first) against in-process linting (the client's fallback, the old behaviour: incremental
// parse + lint on the extension host's thread). Per edit: forward the edit, request a lint, await the findings (as
// the debounced editor does). "Host busy" is the main thread's event-loop active time (performance
// .eventLoopUtilization) over the edits, which includes posting messages and receiving the findings (structured
// clone); "lint" is the time the lint itself took where it ran.
//   node --import tsx bench/lint/worker.ts [--edits 200]
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { initParser } from '../../src/lint/parser';
import { LintClient } from '../../src/lint/worker/client';
import { LintCore } from '../../src/lint/worker/core';
import { generateFile, Rng } from './generate';

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const EDITS = arg('edits', 200);
const WARM = 30;

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

async function run(inProcess: boolean, big: string) {
  const doc = { version: 1, text: big };
  const client = new LintClient({
    workerPath: join(__dirname, '..', '..', 'dist', 'lintEngine.js'),
    wasmDir: join(__dirname, '..', '..', 'dist'),
    loadEngine: () => ({ initParser, LintCore }),
    document: () => doc,
    log: { warn: (m) => console.warn(m), error: (m) => console.error(m) },
    inProcess,
  });
  await client.ready;
  client.open('big.py', doc.version, doc.text);
  await client.lint('big.py', {});
  const rng = new Rng(42);
  const chars = 'abcxyz_0( .:';
  const block: number[] = [];
  const callMs: number[] = [];
  const lintMs: number[] = [];
  for (let i = 0; i < EDITS + WARM; i++) {
    const pos = rng.int(0, doc.text.length - 1);
    const ch = rng.pick([...chars]);
    for (const [start, end, text] of [[pos, pos, ch], [pos, pos + 1, '']] as const) {
      doc.text = doc.text.slice(0, start) + text + doc.text.slice(end);
      doc.version++;
      const elu0 = performance.eventLoopUtilization();
      const t0 = performance.now();
      client.edit('big.py', doc.version, [{ offset: start, length: end - start, text }], doc.text.length);
      const pending = client.lint('big.py', {});
      const t1 = performance.now();
      const r = await pending;
      const elu = performance.eventLoopUtilization(elu0);
      if (!r || r.version !== doc.version) throw new Error('lost a lint');
      if (i >= WARM) {
        // In-process the lint runs inside the calls themselves; in the worker mode the thread idles meanwhile.
        block.push(inProcess ? Math.max(elu.active, t1 - t0) : elu.active);
        callMs.push(t1 - t0);
        lintMs.push(r.ms);
      }
    }
  }
  client.dispose();
  for (const a of [block, callMs, lintMs]) a.sort((x, y) => x - y);
  const f = (a: number[]) => `p50 ${quantile(a, 0.5).toFixed(2)} ms, p95 ${quantile(a, 0.95).toFixed(2)} ms, max ${a[a.length - 1]!.toFixed(2)} ms`;
  console.log(`${inProcess ? 'in-process (before)' : 'worker (after)     '}: ${block.length} edits`);
  console.log(`  host main thread busy per edit: ${f(block)}`);
  console.log(`  host-side edit()+lint() calls:  ${f(callMs)}`);
  console.log(`  lint time where it ran:         ${f(lintMs)}`);
}

async function main() {
  const big = generateFile(100_000);
  await run(true, big);
  await run(false, big);
}

void main();
