// bench/ingest: metrics ingestion and logging overhead, side by side in one run (issue 4; budgets in DESIGN.md).
//   node --import tsx bench/ingest/run.ts [--records 1000000] [--tb-steps 50000] [--python PATH]
// JSON Lines: the TS reader over 1M descent.log-shaped records (bytes in 64 KiB chunks, as read from a file), beside
// bare JSON.parse of the same lines. TensorBoard: the TS reader against tensorboard's EventAccumulator and
// event_file_loader on the same file, written by torch's SummaryWriter (python_side.py). Logging: descent.log per
// call against SummaryWriter.add_scalar, and as a share of a small CPU training step.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMetricsReader } from '../../src/runs/format/metrics';
import { TensorBoardFileReader } from '../../src/runs/format/tensorboard';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

const RECORDS = Number(arg('records', '1000000'));
const TB_STEPS = Number(arg('tb-steps', '50000'));
const PYTHON = arg('python', process.env.DESCENT_TEST_PYTHON ?? join(homedir(), '.cache', 'descent-tools', 'pyvenv', 'bin', 'python'));
const REPEAT = 5;

function best(fn: () => number): { ms: number; n: number } {
  let ms = Infinity;
  let n = 0;
  for (let r = 0; r < REPEAT; r++) {
    const t0 = performance.now();
    n = fn();
    ms = Math.min(ms, performance.now() - t0);
  }
  return { ms, n };
}

const fmt = (x: number, digits = 2) => x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const verdict = (ok: boolean) => (ok ? 'within budget' : 'OVER BUDGET');

// ---- JSON Lines ----
const lines: string[] = [];
let t = 1763720523.412;
for (let i = 0; i < RECORDS; i++) {
  t += 0.0137;
  lines.push(`{"step":${i},"t":${t},"epoch":${Math.floor(i / 1000)},"split":"train","loss":${Math.random()},"acc":${Math.random()}}`);
}
const bytes = Buffer.from(lines.join('\n') + '\n');
const CHUNK = 64 * 1024;
const reader = best(() => {
  const r = createMetricsReader();
  let n = 0;
  for (let o = 0; o < bytes.length; o += CHUNK) n += r.push(bytes.subarray(o, o + CHUNK)).records.length;
  return n;
});
const bare = best(() => {
  let n = 0;
  for (const l of lines) if (JSON.parse(l) !== null) n++;
  return n;
});
if (reader.n !== RECORDS) throw new Error(`reader read ${reader.n} of ${RECORDS} records`);
const readerRate = reader.n / (reader.ms / 1000);
const bareRate = bare.n / (bare.ms / 1000);

// ---- Python side ----
const work = mkdtempSync(join(tmpdir(), 'descent-bench-ingest-'));
const py = spawnSync(PYTHON, [join(__dirname, 'python_side.py'), String(TB_STEPS), work], { encoding: 'utf8', maxBuffer: 1 << 24 });
if (py.status !== 0) {
  process.stderr.write(py.stderr);
  throw new Error(`${PYTHON} python_side.py exited with ${py.status}`);
}
const side = JSON.parse(py.stdout.trim().split('\n').at(-1)!) as {
  tensorboardVersion: string;
  torchVersion: string;
  tbFile: string;
  tbBytes: number;
  accumulator: { seconds: number; scalars: number };
  loader: { seconds: number; scalars: number };
  perCall: { descent: number; tensorboard: number };
  trainStep: { model: string; steps: number; none: number; item: number; write: number; descent: number; tensorboard: number }[];
};

// ---- TensorBoard, TS side: the file read in 64 KiB chunks, as from disk ----
const tbBytes = new Uint8Array(readFileSync(side.tbFile));
const tb = best(() => {
  const r = new TensorBoardFileReader();
  let n = 0;
  for (let o = 0; o < tbBytes.length; o += CHUNK) n += r.push(tbBytes.subarray(o, o + CHUNK)).scalars.length;
  return n;
});
rmSync(work, { recursive: true, force: true });
if (tb.n !== side.accumulator.scalars) throw new Error(`TS read ${tb.n} scalars, EventAccumulator ${side.accumulator.scalars}`);
const tbRate = tb.n / (tb.ms / 1000);
const accRate = side.accumulator.scalars / side.accumulator.seconds;
const loaderRate = side.loader.scalars / side.loader.seconds;

// ---- report ----
const us = (s: number) => `${fmt(s * 1e6)} µs`;
console.log(`node ${process.version}, ${PYTHON} (torch ${side.torchVersion}, tensorboard ${side.tensorboardVersion}); best of ${REPEAT} for TS figures\n`);
console.log('| JSON Lines (metrics.jsonl) | records/s | vs budget |');
console.log('| --- | --- | --- |');
console.log(`| TS reader, ${fmt(RECORDS, 0)} records, ${fmt(bytes.length / 2 ** 20, 1)} MiB in 64 KiB chunks | ${fmt(readerRate / 1e6)} M | >= 1 M/s: ${verdict(readerRate >= 1e6)} |`);
console.log(`| bare JSON.parse per line (no splitting, no validation), for scale | ${fmt(bareRate / 1e6)} M | reader = ${fmt(readerRate / bareRate)}x of it |`);
console.log('');
console.log(`| TensorBoard scalars, one file of ${fmt(side.tbBytes / 2 ** 20, 1)} MiB (${fmt(tb.n, 0)} scalars, SummaryWriter) | seconds | scalars/s | TS speed-up |`);
console.log('| --- | --- | --- | --- |');
console.log(`| Descent TS reader (CRC checked) | ${fmt(tb.ms / 1000, 3)} | ${fmt(tbRate / 1e6)} M | |`);
console.log(`| tensorboard EventAccumulator (size_guidance scalars=0) | ${fmt(side.accumulator.seconds, 3)} | ${fmt(accRate / 1e6, 3)} M | ${fmt(tbRate / accRate, 1)}x (budget >= 10x: ${verdict(tbRate / accRate >= 10)}) |`);
console.log(`| tensorboard event_file_loader.EventFileLoader | ${fmt(side.loader.seconds, 3)} | ${fmt(loaderRate / 1e6, 3)} M | ${fmt(tbRate / loaderRate, 1)}x |`);
console.log('');
console.log('| logging | per call | ratio |');
console.log('| --- | --- | --- |');
console.log(`| descent.log.metrics(step, split, loss, acc) | ${us(side.perCall.descent)} | |`);
console.log(`| SummaryWriter.add_scalar x2 (loss, acc) | ${us(side.perCall.tensorboard)} | descent is ${fmt(side.perCall.tensorboard / side.perCall.descent, 1)}x cheaper |`);
console.log('');
for (const step of side.trainStep) {
  const descentOverhead = step.descent - step.none;
  const tbOverhead = step.tensorboard - step.none;
  console.log(`| training step, ${step.model}, CPU, 1 thread (median of ${fmt(step.steps / 5, 0)} steps per mode, modes shuffled per step) | step | overhead | share of step |`);
  console.log('| --- | --- | --- | --- |');
  console.log(`| no logging | ${us(step.none)} | | |`);
  console.log(`| loss.item() only (the floor for any logger) | ${us(step.item)} | ${us(step.item - step.none)} | ${fmt((100 * (step.item - step.none)) / step.none)} % |`);
  console.log(`| one inline formatted line + os.write (the floor of a line-buffered, crash-safe logger) | ${us(step.write)} | ${us(step.write - step.none)} | ${fmt((100 * (step.write - step.none)) / step.none)} % |`);
  console.log(`| descent.log.metrics every step | ${us(step.descent)} | ${us(descentOverhead)} | ${fmt((100 * descentOverhead) / step.none)} % (budget <= 1 %: ${verdict(descentOverhead / step.none <= 0.01)}) |`);
  console.log(`| SummaryWriter.add_scalar every step | ${us(step.tensorboard)} | ${us(tbOverhead)} | ${fmt((100 * tbOverhead) / step.none)} % (descent below it: ${verdict(descentOverhead < tbOverhead)}) |`);
  console.log(`| per-call cost alone, as a share of the no-logging step | | ${us(side.perCall.descent)} | ${fmt((100 * side.perCall.descent) / step.none)} % |`);
  console.log('');
}
