import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { MetricRecord, ReadProblem } from '../../src/protocol/runFormat';
import { JsonlReader, LineSplitter } from '../../src/runs/format/jsonl';
import { createMetricsReader, parseMetricLine } from '../../src/runs/format/metrics';
import { createEventsReader } from '../../src/runs/format/events';
import { parseRunInfo } from '../../src/runs/format/runInfo';

const dir = join(__dirname, '..', 'fixtures', 'runs');
const bytes = (run: string, file: string) => readFileSync(join(dir, run, file));

function readAll(chunks: Uint8Array[], end = true): { records: MetricRecord[]; problems: ReadProblem[]; reader: JsonlReader<MetricRecord> } {
  const reader = createMetricsReader();
  const records: MetricRecord[] = [];
  const problems: ReadProblem[] = [];
  for (const c of chunks) {
    const b = reader.push(c);
    records.push(...b.records);
    problems.push(...b.problems);
  }
  if (end) {
    const b = reader.end();
    records.push(...b.records);
    problems.push(...b.problems);
  }
  return { records, problems, reader };
}

test('a real run written by descent.log reads whole, in one chunk or byte by byte', () => {
  const data = bytes('descent-basic', 'metrics.jsonl');
  const whole = readAll([data]);
  assert.deepEqual(whole.problems, []);
  assert.equal(whole.records.length, 15); // 3 epochs x (4 train steps + 1 val)
  const first = whole.records[0]!;
  assert.equal(first.step, 0);
  assert.equal(first.epoch, 0);
  assert.equal(first.split, 'train');
  assert.equal(typeof first.t, 'number');
  assert.deepEqual(Object.keys(first.values), ['loss', 'lr']);
  const val = whole.records.find((r) => r.split === 'val')!;
  assert.deepEqual(Object.keys(val.values), ['loss', 'acc']);
  const bytewise = readAll([...data].map((b) => Uint8Array.of(b)));
  assert.deepEqual(bytewise.records, whole.records);
});

test('the partial last line of a file being written is not an error: read once its newline arrives', () => {
  const data = bytes('descent-basic', 'metrics.jsonl');
  const lastStart = data.lastIndexOf(0x0a, data.length - 2) + 1;
  const cut = lastStart + 20; // inside the last line
  const reader = createMetricsReader();
  const a = reader.push(data.subarray(0, cut));
  assert.deepEqual(a.problems, []);
  assert.equal(a.records.length, 14);
  assert.equal(reader.partialBytes, 20);
  const b = reader.push(data.subarray(cut));
  assert.deepEqual(b.problems, []);
  assert.equal(b.records.length, 1);
  assert.equal(reader.partialBytes, 0);
});

test('a finished file whose last line has no newline: end() reads it', () => {
  const r = readAll([Buffer.from('{"step":1,"loss":2}\n{"step":2,"loss":1}')]);
  assert.equal(r.records.length, 2);
  assert.deepEqual(r.problems, []);
});

test('a run killed with SIGKILL leaves every completed line readable', () => {
  const r = readAll([bytes('descent-killed', 'metrics.jsonl')], false);
  assert.deepEqual(r.problems, []);
  assert.deepEqual(r.records.map((x) => x.step), [...Array(50).keys()]);
  const info = parseRunInfo(bytes('descent-killed', 'run.json').toString(), 'descent-killed');
  assert.equal(info.info?.status, 'running');
});

test('NaN and infinities written as strings by descent.log come back as numbers', () => {
  const r = readAll([bytes('descent-nan', 'metrics.jsonl')]);
  assert.deepEqual(r.problems, []);
  assert.equal(r.records[5]!.values.loss, 1e300);
  assert.equal(r.records[6]!.values.loss, Infinity);
  assert.equal(r.records[6]!.values.grad_norm, -Infinity);
  assert.ok(Number.isNaN(r.records[8]!.values.loss));
});

test('bare NaN / Infinity tokens (Python json.dumps) are tolerated', () => {
  const r = parseMetricLine('{"step": 3, "loss": NaN, "a": Infinity, "b": -Infinity, "c": [1, NaN]}') as MetricRecord;
  assert.ok(Number.isNaN(r.values.loss));
  assert.equal(r.values.a, Infinity);
  assert.equal(r.values.b, -Infinity);
  assert.equal('c' in r.values, false);
});

test('UTF-8 split across chunks, CRLF, BOM and blank lines', () => {
  const text = '\uFEFF{"step":0,"split":"validación","损失":1.5}\r\n\r\n   \n{"step":1,"split":"validación","损失":0.5}\r\n';
  const data = Buffer.from(text);
  for (let cut = 1; cut < data.length; cut++) {
    const r = readAll([data.subarray(0, cut), data.subarray(cut)]);
    assert.deepEqual(r.problems, [], `cut at ${cut}`);
    assert.equal(r.records.length, 2);
    assert.equal(r.records[0]!.split, 'validación');
    assert.deepEqual(r.records[1]!.values, { 损失: 0.5 });
  }
});

test('bad lines are reported with their line number and skipped; the rest is kept', () => {
  const text = [
    '{"step":0,"loss":1}',
    'garbage',
    '{"step":1,"loss":',
    '[1,2,3]',
    '{"loss":3}',
    '{"step":-1,"loss":3}',
    '{"step":1.5,"loss":3}',
    '{"step":2,"loss":"high","acc":0.5,"note":"x","__proto__":1}',
    '{"step":3,"loss":0.25}',
  ].join('\n');
  const r = readAll([Buffer.from(text)]);
  assert.deepEqual(r.records.map((x) => x.step), [0, 2, 3]);
  assert.deepEqual(r.records[1]!.values, { acc: 0.5 });
  assert.equal(Object.getPrototypeOf(r.records[1]!.values), Object.prototype);
  assert.deepEqual(r.problems.map((p) => p.line), [2, 3, 4, 5, 6, 7]);
  assert.match(r.problems[0]!.reason, /not JSON/);
  assert.match(r.problems[3]!.reason, /no "step"/);
});

test('an over-long line is skipped without being buffered', () => {
  const splitter = new LineSplitter(16);
  const lines: string[] = [];
  const problems: ReadProblem[] = [];
  const onLine = (t: string) => lines.push(t);
  const onProblem = (p: ReadProblem) => problems.push(p);
  splitter.push(Buffer.from('short\n' + 'x'.repeat(10)), onLine, onProblem);
  splitter.push(Buffer.from('y'.repeat(30)), onLine, onProblem);
  assert.equal(splitter.partialBytes, 0);
  splitter.push(Buffer.from('zz\nok\n' + 'w'.repeat(40) + '\nlast\n'), onLine, onProblem);
  assert.deepEqual(lines, ['short', 'ok', 'last']);
  assert.deepEqual(problems.map((p) => p.line), [2, 4]);
});

test('events from descent.log: checkpoints and confusion matrices; unknown kinds skipped, bad ones reported', () => {
  const reader = createEventsReader();
  const b = reader.push(bytes('descent-basic', 'events.jsonl'));
  assert.deepEqual(b.problems, []);
  assert.equal(b.records.length, 6);
  const cp = b.records[0]!;
  assert.equal(cp.event, 'checkpoint');
  if (cp.event === 'checkpoint') {
    assert.equal(cp.path, 'checkpoints/epoch0.pt');
    assert.equal(cp.metric, 'val_loss');
    assert.equal(typeof cp.value, 'number');
  }
  const cm = b.records[1]!;
  assert.equal(cm.event, 'confusion');
  if (cm.event === 'confusion') {
    assert.deepEqual(cm.labels, ['cat', 'dog', 'bird']);
    assert.equal(cm.matrix.flat().reduce((a, c) => a + c, 0), 64);
    assert.equal(cm.split, 'val');
  }
  const more = createEventsReader().push(
    Buffer.from(
      '{"event":"future-kind","x":1}\n{"event":"confusion","labels":["a","b"],"matrix":[[1,2]]}\n{"event":"checkpoint","step":1}\n{"no":"event"}\n',
    ),
  );
  assert.equal(more.records.length, 0);
  assert.deepEqual(more.problems.map((p) => p.line), [2, 3, 4]);
});

test('run.json from descent.log; damaged run.json gives defaults and problems', () => {
  const r = parseRunInfo(bytes('descent-basic', 'run.json').toString(), 'x');
  assert.deepEqual(r.problems, []);
  assert.equal(r.info!.status, 'finished');
  assert.equal(r.info!.formatVersion, 1);
  assert.deepEqual(r.info!.hyperparameters, { lr: 0.001, batch_size: 16, optimizer: 'sgd' });
  const bad = parseRunInfo('{"status":"exploded","args":"python train.py","formatVersion":2}', 'folder');
  assert.equal(bad.info!.name, 'folder');
  assert.equal(bad.info!.status, 'running');
  assert.equal(bad.problems.length, 3);
  assert.equal(parseRunInfo('{"status":', 'f').info, undefined);
});

test('block parsing (one JSON.parse per chunk) gives exactly what line-by-line parsing gives, on messy input', () => {
  // The metrics reader parses whole blocks of lines at once and falls back to one line at a time; a reader without
  // the block path is the reference. Random lines: good records, NaN tokens, garbage, blank lines, CRLF, two objects
  // on one line, an object split over two lines, non-objects; random chunk sizes.
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const kinds = [
    (i: number) => `{"step":${i},"split":"train","loss":${(1 / (i + 1)).toFixed(6)},"t":${1763720531 + i}}`,
    (i: number) => `{"step":${i},"split":"val","acc":0.5}`,
    (i: number) => `{"step":${i},"loss":NaN}`,
    (i: number) => `{"step":${i},"loss":"Infinity"}\r`,
    () => '',
    () => '   ',
    () => 'garbage',
    (i: number) => `{"step":${i}},{"step":${i + 1}}`,
    (i: number) => `{"step":${i},"loss":[1`,
    () => '2]}',
    () => '[1, 2]',
    (i: number) => `{"step":-${i}}`,
    () => '{"no step": true}',
  ];
  for (let round = 0; round < 40; round++) {
    const lines: string[] = [];
    const mostlyGood = round % 2 === 0;
    for (let i = 0; i < 300; i++) lines.push(mostlyGood && rand() < 0.97 ? kinds[0]!(i) : kinds[Math.floor(rand() * kinds.length)]!(i));
    const buf = Buffer.from(`${lines.join('\n')}\n`, 'utf8');
    const chunks: Buffer[] = [];
    for (let at = 0; at < buf.length; ) {
      const n = 1 + Math.floor(rand() * (rand() < 0.5 ? 64 : 4096));
      chunks.push(buf.subarray(at, at + n));
      at += n;
    }
    const fast = readAll(chunks);
    const reference = new JsonlReader(parseMetricLine);
    const records: MetricRecord[] = [];
    const problems: ReadProblem[] = [];
    for (const c of chunks) {
      const b = reference.push(c);
      records.push(...b.records);
      problems.push(...b.problems);
    }
    const e = reference.end();
    records.push(...e.records);
    problems.push(...e.problems);
    assert.deepEqual(fast.records, records, `round ${round}: records differ`);
    assert.deepEqual(fast.problems.map((p) => p.line), problems.map((p) => p.line), `round ${round}: problem lines differ`);
    assert.equal(fast.reader.lines, reference.lines);
  }
});
