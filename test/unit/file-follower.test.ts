// FileFollower: the text appended to a growing file, a multi-byte character split between writes kept whole, and
// where to start to show the end of a long file.
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { FileFollower } from '../../src/common/fileFollower';

const dir = mkdtempSync(join(tmpdir(), 'descent-follower-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('reads what was appended since the last read, waiting for a file that does not exist yet', () => {
  const file = join(dir, 'grow.log');
  const f = new FileFollower(file);
  assert.equal(f.read(), '');
  writeFileSync(file, 'epoch 1\n');
  assert.equal(f.read(), 'epoch 1\n');
  assert.equal(f.read(), '');
  const arrow = Buffer.from('→', 'utf8'); // 3 bytes, written in two parts
  appendFileSync(file, Buffer.concat([Buffer.from('loss '), arrow.subarray(0, 1)]));
  assert.equal(f.read(), 'loss ');
  appendFileSync(file, Buffer.concat([arrow.subarray(1), Buffer.from(' 0.1\n')]));
  assert.equal(f.read(), '→ 0.1\n');
  appendFileSync(file, 'x'.repeat(200_000));
  assert.equal(f.read().length, 200_000, 'more than one buffer at once');
  f.close();
});

test('tailStart: the whole of a small file, else from a line start near the end', () => {
  const small = join(dir, 'small.log');
  writeFileSync(small, 'a\nb\n');
  assert.deepEqual(FileFollower.tailStart(small, 1024), { offset: 0, skipped: 0 });
  const big = join(dir, 'big.log');
  const lines = Array.from({ length: 1000 }, (_, i) => `line ${i}\n`).join('');
  writeFileSync(big, lines);
  const { offset, skipped } = FileFollower.tailStart(big, 100);
  assert.equal(offset, skipped);
  assert.ok(lines.length - offset <= 100 && lines.length - offset > 80, `starts ${lines.length - offset} bytes before the end`);
  assert.equal(lines[offset - 1], '\n', 'at the start of a line');
  assert.equal(new FileFollower(big, offset).read(), lines.slice(offset));
  assert.deepEqual(FileFollower.tailStart(join(dir, 'missing.log'), 100), { offset: 0, skipped: 0 });
});
