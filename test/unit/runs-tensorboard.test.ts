import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { crc32c, maskedCrc32c } from '../../src/runs/format/crc32c';
import { TensorBoardFileReader, readTensorBoardFiles, scalarToRecord, type TbScalar } from '../../src/runs/format/tensorboard';

const dir = join(__dirname, '..', 'fixtures', 'runs');
function files(run: string) {
  return readdirSync(join(dir, run))
    .filter((f) => f.startsWith('events.out.tfevents'))
    .map((name) => ({ name, bytes: new Uint8Array(readFileSync(join(dir, run, name))) }));
}
const byTag = (scalars: TbScalar[], tag: string) => scalars.filter((s) => s.tag === tag);

test('crc32c matches the standard check value', () => {
  assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
  assert.equal(crc32c(new Uint8Array(0)), 0);
  const long = Buffer.from('The quick brown fox jumps over the lazy dog, twice: the quick brown fox jumps over the lazy dog.');
  // slicing-by-8 and the byte loop agree on every start offset
  for (let from = 0; from < 9; from++) {
    let crc = 0xffffffff;
    for (let i = from; i < long.length; i++) {
      crc ^= long[i]!;
      for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
    }
    assert.equal(crc32c(long, from), (crc ^ 0xffffffff) >>> 0);
  }
  assert.equal(typeof maskedCrc32c(long), 'number');
});

test("torch's SummaryWriter: simple_value, tensor float_val and double_val scalars; histograms and text skipped", () => {
  const { scalars, problems } = readTensorBoardFiles(files('tb-torch'));
  assert.deepEqual(problems, []);
  assert.deepEqual([...new Set(scalars.map((s) => s.tag))].sort(), ['Accuracy/train', 'Loss/train', 'Loss/val', 'lr']);
  const loss = byTag(scalars, 'Loss/train');
  assert.equal(loss.length, 20);
  assert.equal(loss[3]!.step, 3);
  assert.equal(loss[3]!.wallTime, 1763700003);
  assert.equal(loss[3]!.value, Math.fround(1 / 4));
  const acc = byTag(scalars, 'Accuracy/train'); // new_style=True: TensorProto float_val
  assert.deepEqual(acc.map((s) => s.value), [...Array(20).keys()].map((i) => Math.fround(i / 20)));
  const val = byTag(scalars, 'Loss/val'); // double_precision=True: TensorProto double_val, exact double
  assert.deepEqual(val.map((s) => s.step), [4, 9, 14, 19]);
  assert.equal(val[0]!.value, 1.5 / 5);
  assert.ok(Number.isNaN(byTag(scalars, 'lr')[0]!.value));
  const rec = scalarToRecord(val[0]!);
  assert.deepEqual(rec, { step: 4, t: 1763700004.5, epoch: undefined, split: 'val', values: { Loss: 0.3 } });
});

test('TF2-style tensor_content scalars, plugin metadata on the first value only; other plugins skipped', () => {
  const { scalars, problems } = readTensorBoardFiles(files('tb-tensor-content'));
  assert.deepEqual(problems, []);
  assert.deepEqual(scalars.map((s) => s.tag), Array(12).fill('epoch_loss'));
  assert.deepEqual(scalars.map((s) => s.value), [...Array(12).keys()].map((i) => 0.5 * i));
});

test('several event files of one run are merged by step', () => {
  const { scalars, problems } = readTensorBoardFiles(files('tb-multi').reverse());
  assert.deepEqual(problems, []);
  assert.deepEqual(scalars.map((s) => s.step), [...Array(20).keys()]);
  assert.deepEqual(scalars.map((s) => s.value), [...Array(20).keys()].map((i) => 10 - i));
});

test('a record cut short at the end is waited for while the writer runs, reported once the file is complete', () => {
  const [file] = files('tb-truncated');
  const full = files('tb-torch')[0]!.bytes;
  const reader = new TensorBoardFileReader();
  const live = reader.push(file!.bytes);
  assert.deepEqual(live.problems, []);
  assert.ok(reader.partialBytes > 0);
  const expected = readTensorBoardFiles(files('tb-torch')).scalars.length;
  assert.equal(live.scalars.length, expected - 1);
  // The writer goes on: the rest of the record arrives.
  const rest = reader.push(full.subarray(file!.bytes.length));
  assert.equal(rest.scalars.length, 1);
  assert.deepEqual(rest.problems, []);
  // Read as a finished file, the cut record is a problem and every other scalar is kept.
  const done = readTensorBoardFiles([file!]);
  assert.equal(done.scalars.length, expected - 1);
  assert.equal(done.problems.length, 1);
  assert.match(done.problems[0]!.reason, /truncated record/);
});

test('chunks of any size give the same scalars', () => {
  const bytes = files('tb-torch')[0]!.bytes;
  const whole = new TensorBoardFileReader().push(bytes).scalars;
  for (const size of [1, 7, 13, 100, 4096]) {
    const reader = new TensorBoardFileReader();
    const got: TbScalar[] = [];
    for (let o = 0; o < bytes.length; o += size) got.push(...reader.push(bytes.subarray(o, o + size)).scalars);
    assert.deepEqual(got, whole, `chunks of ${size}`);
  }
});

test('a corrupted data byte fails the data CRC: that record is reported and skipped, the others kept', () => {
  const bytes = files('tb-multi')[0]!.bytes.slice();
  const whole = readTensorBoardFiles([{ name: 'a', bytes }]).scalars;
  // Find the 4th record and flip a byte in its data.
  let o = 0;
  for (let r = 0; r < 3; r++) o += 12 + Number(new DataView(bytes.buffer).getBigUint64(o, true)) + 4;
  bytes[o + 12 + 5]! ^= 0xff;
  const { scalars, problems } = readTensorBoardFiles([{ name: 'a', bytes }]);
  assert.equal(problems.length, 1);
  assert.match(problems[0]!.reason, /data checksum mismatch/);
  assert.equal(problems[0]!.line, 4);
  assert.equal(scalars.length, whole.length - 1);
});

test('a corrupted length fails the header CRC: reported, and reading resumes at the next record', () => {
  const bytes = files('tb-multi')[0]!.bytes.slice();
  const whole = readTensorBoardFiles([{ name: 'a', bytes }]).scalars;
  let o = 0;
  for (let r = 0; r < 3; r++) o += 12 + Number(new DataView(bytes.buffer).getBigUint64(o, true)) + 4;
  bytes[o]! ^= 0x01;
  const { scalars, problems } = readTensorBoardFiles([{ name: 'a', bytes }]);
  assert.equal(problems.length, 1);
  assert.match(problems[0]!.reason, /length checksum mismatch/);
  assert.equal(scalars.length, whole.length - 1);
});

test('garbage never throws', () => {
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
  for (let n = 0; n < 200; n++) {
    const bytes = Uint8Array.from({ length: n * 3 }, rand);
    const r = readTensorBoardFiles([{ name: 'g', bytes }]);
    assert.equal(r.scalars.length, 0);
  }
  // A valid frame around a malformed protobuf message.
  const real = files('tb-multi')[0]!.bytes.slice();
  const len = Number(new DataView(real.buffer).getBigUint64(0, true));
  real[12] = 0xff; // field 31, wire type 7: invalid
  const data = real.subarray(12, 12 + len);
  new DataView(real.buffer).setUint32(12 + len, maskedCrc32c(data), true);
  const r = readTensorBoardFiles([{ name: 'm', bytes: real }]);
  assert.match(r.problems[0]!.reason, /malformed event/);
});
