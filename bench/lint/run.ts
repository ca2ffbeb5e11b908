// bench/lint: lint throughput of Descent against Ruff's WebAssembly build on the same corpus in the same run, re-lint
// latency after a one-character edit, and memory held per open file (issue 3; budgets in shared/DESIGN.md).
//   node --expose-gc --import tsx bench/lint/run.ts [--gen-lines 250000] [--disk-lines 250000] [--rounds 3]
//        [--edits 1000] [--open 50] [--threads N] [--site-packages DIR] [--json FILE] [--profile-only] [--engine FILE]
// Corpus: generated PyTorch training scripts (generate.ts, seeded) plus the .py files of torch installed in the tools
// venv (read from disk, never copied into the repo). Throughput: each tool lints every file of the corpus, rounds
// alternate which tool goes first, the best round of each is reported. Descent runs the production path
// (lintSource: parse + all rules; `--engine FILE` for a built bundle); Ruff runs Workspace.check with its default settings (rules E4, E7, E9, F).
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, homedir } from 'node:os';
import { Worker } from 'node:worker_threads';
import { PositionEncoding, Workspace } from '@astral-sh/ruff-wasm-nodejs';
import { join, resolve } from 'node:path';
import { generateFile, generateScript, Rng } from './generate';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

const GEN_LINES = Number(arg('gen-lines', '250000'));
const DISK_LINES = Number(arg('disk-lines', '250000'));
const ROUNDS = Number(arg('rounds', '3'));
const EDITS = Number(arg('edits', '1000'));
const OPEN = Number(arg('open', '50'));
const SITE = arg('site-packages', join(homedir(), '.cache', 'descent-tools', 'pyvenv', 'lib', 'python3.11', 'site-packages'));
const JSON_OUT = arg('json', '');
const PROFILE_ONLY = process.argv.includes('--profile-only');
const THREADS = Number(arg('threads', String(availableParallelism())));
// `--engine dist/lintEngine.js`: the built engine bundle, what the extension's lint worker runs (`node esbuild.mjs`
// builds it), instead of the sources through tsx. The thread figure always runs the sources.
const ENGINE = arg('engine', '');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { allRules, collectYoungGarbage, initParser, lintDocument, lintSource, ParsedDocument, wasmMemoryBytes } = require(ENGINE ? resolve(ENGINE) : '../../src/lint') as typeof import('../../src/lint');

interface File {
  name: string;
  text: string;
  lines: number;
}

function countLines(s: string): number {
  let n = 1;
  for (let i = s.indexOf('\n'); i !== -1; i = s.indexOf('\n', i + 1)) n++;
  return n;
}

function corpus(): { files: File[]; genLines: number; diskLines: number; diskFiles: number } {
  const files: File[] = [];
  let genLines = 0;
  for (let seed = 1; genLines < GEN_LINES; seed++) {
    const text = generateScript(seed, 200 + ((seed * 7919) % 900));
    const lines = countLines(text);
    files.push({ name: `generated/${seed}.py`, text, lines });
    genLines += lines;
  }
  let diskLines = 0;
  let diskFiles = 0;
  const root = join(SITE, 'torch');
  const walk = (dir: string): void => {
    if (diskLines >= DISK_LINES) return;
    for (const e of readdirSync(dir).sort()) {
      if (diskLines >= DISK_LINES) return;
      const p = join(dir, e);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else if (e.endsWith('.py') && st.size < 2_000_000) {
        const text = readFileSync(p, 'utf8');
        const lines = countLines(text);
        files.push({ name: p.slice(SITE.length + 1), text, lines });
        diskLines += lines;
        diskFiles++;
      }
    }
  };
  if (DISK_LINES > 0 && existsSync(root)) walk(root);
  return { files, genLines, diskLines, diskFiles };
}

function quantile(sorted: number[], q: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
const fmt = (n: number, d = 0) => n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });

async function main(): Promise<void> {
  await initParser();
  const { files, genLines, diskLines, diskFiles } = corpus();
  const totalLines = genLines + diskLines;
  const totalBytes = files.reduce((s, f) => s + f.text.length, 0);
  console.log(`corpus: ${files.length} files, ${fmt(totalLines)} lines (${fmt(genLines)} generated in ${files.length - diskFiles} files, ${fmt(diskLines)} from ${diskFiles} torch files), ${(totalBytes / 1048576).toFixed(1)} MiB`);
  console.log(`descent: ${allRules.length} rules registered; node ${process.version}`);

  const ruff = new Workspace(Workspace.defaultSettings(), PositionEncoding.Utf16);
  const runDescent = (): number => {
    let n = 0;
    for (const f of files) n += lintSource(f.text).length;
    return n;
  };
  const runRuff = (): number => {
    let n = 0;
    for (const f of files) n += (ruff.check(f.text) as unknown[]).length;
    return n;
  };

  if (PROFILE_ONLY) {
    for (let r = 0; r < ROUNDS; r++) runDescent();
    return;
  }

  // Warm both (JIT, wasm tiers) on a slice of the corpus.
  for (const f of files.slice(0, 200)) {
    lintSource(f.text);
    ruff.check(f.text);
  }
  const times: Record<'descent' | 'ruff', number[]> = { descent: [], ruff: [] };
  const findings = { descent: 0, ruff: 0 };
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? (['descent', 'ruff'] as const) : (['ruff', 'descent'] as const);
    for (const tool of order) {
      gc();
      const t0 = performance.now();
      findings[tool] = tool === 'descent' ? runDescent() : runRuff();
      times[tool].push(performance.now() - t0);
    }
  }
  const best = { descent: Math.min(...times.descent), ruff: Math.min(...times.ruff) };
  const lps = { descent: totalLines / (best.descent / 1000), ruff: totalLines / (best.ruff / 1000) };
  const ratio = lps.descent / lps.ruff;
  console.log(`\nthroughput (best of ${ROUNDS} rounds; all rounds ms: descent ${times.descent.map((t) => t.toFixed(0)).join(', ')}; ruff ${times.ruff.map((t) => t.toFixed(0)).join(', ')})`);
  console.log(`  descent (parse + ${allRules.length} rules): ${fmt(best.descent)} ms  ${fmt(lps.descent)} lines/s  (${findings.descent} findings)`);
  console.log(`  ruff wasm ${Workspace.version()} (default rules): ${fmt(best.ruff)} ms  ${fmt(lps.ruff)} lines/s  (${findings.ruff} diagnostics)`);
  console.log(`  ratio descent/ruff: ${ratio.toFixed(2)}x  ${ratio >= 1 ? '(budget >= 1: within budget)' : '(budget >= 1: **OVER BUDGET**)'}`);

  // Parallel: the ceiling of `descent-lint --jobs N` on a folder (workers warmed, texts in memory; the CLI itself also
  // reads files and starts its threads). Ruff's wasm build is single-threaded, so the budget is read on the
  // single-thread figure above. Files are dealt out by size.
  let parallel: { threads: number; ms: number; lps: number } | undefined;
  if (THREADS > 1) {
    const shares: string[][] = Array.from({ length: THREADS }, () => []);
    const load = new Array<number>(THREADS).fill(0);
    for (const f of [...files].sort((x, y) => y.text.length - x.text.length)) {
      const i = load.indexOf(Math.min(...load));
      shares[i]!.push(f.text);
      load[i]! += f.text.length;
    }
    // A worker does not inherit `--import tsx`: its entry registers tsx's CommonJS hook, then loads the TS file.
    const entry = `require('tsx/cjs'); require(${JSON.stringify(join(__dirname, 'throughputWorker.ts'))});`;
    const workers = shares.map((texts) => new Worker(entry, { eval: true, workerData: { texts } }));
    const next = (w: Worker) => new Promise<unknown>((resolve, reject) => (w.once('message', resolve), w.once('error', reject)));
    await Promise.all(workers.map(next)); // ready
    const round = async () => {
      const done = workers.map(next);
      for (const w of workers) w.postMessage('go');
      return (await Promise.all(done)).reduce((s: number, n) => s + (n as number), 0);
    };
    await round(); // warm
    const pt: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const t0 = performance.now();
      const n = await round();
      pt.push(performance.now() - t0);
      if (n !== findings.descent) throw new Error(`parallel run found ${n}, single-thread ${findings.descent}`);
    }
    await Promise.all(workers.map((w) => w.terminate()));
    const ms = Math.min(...pt);
    parallel = { threads: THREADS, ms, lps: totalLines / (ms / 1000) };
    console.log(`  descent on ${THREADS} worker threads: ${fmt(ms)} ms  ${fmt(parallel.lps)} lines/s  ratio to ruff (1 thread) ${(parallel.lps / lps.ruff).toFixed(2)}x  (rounds ms: ${pt.map((t) => t.toFixed(0)).join(', ')})`);
  }

  // Where Descent's time goes, on every 4th file of the corpus: parse + materialise, the engine's own work (index,
  // suppressions, sorting), and each rule (shared analysis is charged to the first rule that asks for it).
  const subset = files.filter((_, i) => i % 4 === 0);
  const perRule = new Map<string, number>();
  let tParse = 0;
  let tLint = 0;
  for (const f of subset) {
    let t0 = performance.now();
    const d = new ParsedDocument(f.text, false);
    tParse += performance.now() - t0;
    t0 = performance.now();
    lintDocument(d, { onRuleTime: (id, ms) => perRule.set(id, (perRule.get(id) ?? 0) + ms) });
    tLint += performance.now() - t0;
    d.dispose();
  }
  const tRules = [...perRule.values()].reduce((a, b) => a + b, 0);
  const pct = (x: number) => `${((100 * x) / (tParse + tLint)).toFixed(0)} %`;
  const top = [...perRule.entries()].sort((a, b) => b[1] - a[1]).slice(0, 10);
  console.log(`\nwhere Descent's time goes (${subset.length} files, ${fmt(subset.reduce((n, f) => n + f.lines, 0))} lines)`);
  console.log(`  parse + materialise ${fmt(tParse)} ms (${pct(tParse)}); engine ${fmt(tLint - tRules)} ms (${pct(tLint - tRules)}); rules + analysis ${fmt(tRules)} ms (${pct(tRules)})`);
  console.log(`  costliest rules: ${top.map(([id, ms]) => `${id} ${fmt(ms)} ms`).join(', ')}`);

  // Latency: a 2,000-line file open in a ParsedDocument, one-character edits at random offsets, incremental parse
  // + lint of every rule per edit (what the editor does on each keystroke). Each edit inserts a character, the next
  // one removes it again, so the file stays at 2,000 lines. Run twice on the same edits: back to back, and with the
  // lint worker's idle step between edits (the editor lints after a 150 ms pause in typing, and the worker collects
  // the young generation then: src/lint/idleGc.ts), which is what a user waits for. Only the lint is timed.
  const relint = (idleStep: boolean) => {
    const doc = new ParsedDocument(generateFile(100_000));
    lintDocument(doc);
    const rng = new Rng(42);
    const chars = 'abcxyz_0( .:';
    const lat: number[] = [];
    const full: number[] = [];
    const warm = 100;
    const timed = (from: number, to: number, text: string, keep: boolean) => {
      const t0 = performance.now();
      doc.applyEdit(from, to, text);
      lintDocument(doc);
      if (keep) lat.push(performance.now() - t0);
      if (idleStep) collectYoungGarbage();
    };
    for (let i = 0; i < EDITS + warm; i++) {
      const pos = rng.int(0, doc.source.length - 1);
      const ch = rng.pick([...chars]);
      timed(pos, pos, ch, i >= warm);
      timed(pos, pos + 1, '', i >= warm);
      if (i >= warm && i % 50 === 0) {
        const t0 = performance.now();
        lintSource(doc.source);
        full.push(performance.now() - t0);
      }
    }
    doc.dispose();
    return { lat: lat.sort((a, b) => a - b), full: full.sort((a, b) => a - b) };
  };
  const backToBack = relint(false);
  const withIdle = relint(true);
  const summary = (lat: number[]) => ({ p50: quantile(lat, 0.5), p95: quantile(lat, 0.95), max: lat[lat.length - 1]! });
  const line = (what: string, lat: number[], budget: boolean) => {
    const { p50, p95, max } = summary(lat);
    const verdict = !budget ? '' : p95 <= 10 ? '  (budget p95 <= 10 ms: within budget)' : '  (budget p95 <= 10 ms: **OVER BUDGET**)';
    console.log(`  ${what}: p50 ${p50.toFixed(2)} ms, p95 ${p95.toFixed(2)} ms, max ${max.toFixed(2)} ms${verdict}`);
  };
  console.log(`\nre-lint a 2,000-line file after a one-character edit (${withIdle.lat.length} edits at random offsets, warm; incremental parse + lint)`);
  line("with the worker's idle step between edits (what the editor sees)", withIdle.lat, true);
  line('back to back (no pause between edits: a scavenge lands in about one lint in four)', backToBack.lat, false);
  console.log(`  for scale, full parse + lint of the same file: p50 ${quantile(withIdle.full, 0.5).toFixed(2)} ms`);

  // Memory per open file: OPEN distinct 2,000-line documents parsed (incremental mode, as the editor keeps them) and
  // linted once; JS heap and wasm linear memory deltas after GC. The source strings exist before the measurement
  // (the editor owns them) and are not counted.
  const texts: string[] = [];
  for (let k = 0; k < OPEN; k++) texts.push(generateFile(200_000 + k * 20));
  gc();
  gc();
  const heap0 = process.memoryUsage().heapUsed;
  const wasm0 = wasmMemoryBytes();
  const docs = texts.map((t) => {
    const d = new ParsedDocument(t);
    lintDocument(d);
    return d;
  });
  gc();
  gc();
  const heap = (process.memoryUsage().heapUsed - heap0) / OPEN;
  const wasm = (wasmMemoryBytes() - wasm0) / OPEN;
  const avgBytes = texts.reduce((s, t) => s + t.length, 0) / OPEN;
  console.log(`\nmemory held per open 2,000-line file (${OPEN} open, ${fmt(avgBytes / 1024)} KiB of source each, source not counted)`);
  console.log(`  JS heap ${(heap / 1048576).toFixed(2)} MiB + wasm memory growth ${(wasm / 1048576).toFixed(2)} MiB = ${((heap + wasm) / 1048576).toFixed(2)} MiB`);
  for (const d of docs) d.dispose();
  ruff.free();

  if (JSON_OUT) {
    writeFileSync(
      JSON_OUT,
      JSON.stringify({ files: files.length, totalLines, genLines, diskLines, times, lps, ratio, parallel, split: { tParse, tLint, tRules, top }, latency: { withIdle: summary(withIdle.lat), backToBack: summary(backToBack.lat) }, memory: { heap, wasm } }, null, 2),
    );
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
