import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  GPU_QUERY_FIELDS_NO_MIG,
  describeNvidiaSmiFailure,
  gpuQueryArgs,
  isUnknownFieldError,
  parseGpuCsv,
  parseGpuList,
  withMigDevices,
} from '../../src/environment/nvidiaSmi';

const dir = join(__dirname, '..', 'fixtures', 'nvidia-smi');
const fixture = (name: string) => readFileSync(join(dir, name), 'utf8');

test('query asks for csv without header and units', () => {
  const args = gpuQueryArgs();
  assert.equal(args[0], '--query-gpu=index,uuid,name,memory.used,memory.total,utilization.gpu,temperature.gpu,driver_version,mig.mode.current');
  assert.equal(args[1], '--format=csv,noheader,nounits');
});

test('one consumer GPU; [N/A] MIG mode becomes null', () => {
  const r = parseGpuCsv(fixture('single-rtx3090.csv'));
  assert.deepEqual(r.skipped, []);
  assert.equal(r.driverVersion, '550.54.14');
  assert.deepEqual(r.gpus, [
    {
      index: 0,
      uuid: 'GPU-8f6a3b1e-2c4d-4e5f-9a0b-1c2d3e4f5a6b',
      name: 'NVIDIA GeForce RTX 3090',
      memoryUsedMiB: 1234,
      memoryTotalMiB: 24576,
      utilizationPercent: 37,
      temperatureC: 54,
      migMode: null,
      migDevices: [],
    },
  ]);
});

test('eight GPUs keep their order and values', () => {
  const r = parseGpuCsv(fixture('eight-h100.csv'));
  assert.equal(r.gpus.length, 8);
  assert.deepEqual(r.gpus.map((g) => g.index), [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.deepEqual(r.gpus.map((g) => g.utilizationPercent), [98, 97, 99, 96, 0, 0, 0, 0]);
  assert.equal(r.gpus[2]!.temperatureC, 73);
  assert.ok(r.gpus.every((g) => g.migMode === 'Disabled' && g.memoryTotalMiB === 81559));
});

test('[Not Supported] utilisation on a laptop GPU is null, the rest is read', () => {
  const [g] = parseGpuCsv(fixture('laptop-not-supported.csv')).gpus;
  assert.equal(g!.utilizationPercent, null);
  assert.equal(g!.memoryTotalMiB, 2048);
  assert.equal(g!.temperatureC, 45);
});

test('MIG: enabled GPU has [N/A] utilisation and gets its instances from nvidia-smi -L', () => {
  const csv = parseGpuCsv(fixture('mig-a100.csv'));
  assert.equal(csv.gpus[0]!.migMode, 'Enabled');
  assert.equal(csv.gpus[0]!.utilizationPercent, null);
  assert.equal(csv.gpus[1]!.migMode, 'Disabled');
  const mig = parseGpuList(fixture('mig-a100-list.txt'));
  assert.deepEqual(
    mig.map((m) => [m.gpuIndex, m.deviceIndex, m.profile]),
    [
      [0, 0, '3g.20gb'],
      [0, 1, '2g.10gb'],
      [0, 2, '1g.5gb'],
    ],
  );
  assert.equal(mig[0]!.uuid, 'MIG-1f2e3d4c-5b6a-5978-8a9b-0c1d2e3f4a5b');
  const merged = withMigDevices(csv.gpus, mig);
  assert.equal(merged[0]!.migDevices.length, 3);
  assert.equal(merged[1]!.migDevices.length, 0);
});

test('broken lines are skipped with a reason, good lines kept', () => {
  const text = [
    '0, GPU-a, Tesla T4, 100, 15360, 5, 40, 535.1, Disabled',
    'garbage',
    ', , , , , , , , ',
    '2, GPU-c, Tesla, T4 with a comma, 1, 2, 3, 4, 5, 6',
    '3, GPU-d, Tesla T4, abc, 15360, 5, 40, 535.1, Disabled',
    '',
  ].join('\r\n');
  const r = parseGpuCsv(text);
  assert.deepEqual(r.gpus.map((g) => g.index), [0, 3]);
  assert.equal(r.gpus[1]!.memoryUsedMiB, null, 'unparseable number becomes null');
  assert.deepEqual(r.skipped.map((s) => s.line), [2, 3, 4]);
  assert.match(r.skipped[0]!.reason, /expected 9 values, found 1/);
});

test('empty output: no GPUs, nothing skipped', () => {
  assert.deepEqual(parseGpuCsv('\n'), { gpus: [], driverVersion: null, skipped: [] });
});

test('fallback query without the MIG field parses too', () => {
  const r = parseGpuCsv('0, GPU-x, Tesla K80, 10, 11441, 0, 30, 470.82.01\n', GPU_QUERY_FIELDS_NO_MIG);
  assert.equal(r.gpus[0]!.migMode, null);
  assert.equal(r.gpus[0]!.memoryTotalMiB, 11441);
});

test('failure messages: driver unreachable, unknown field, other', () => {
  assert.match(describeNvidiaSmiFailure(9, fixture('driver-failure.txt')), /cannot talk to the NVIDIA driver/);
  assert.ok(isUnknownFieldError(fixture('old-driver-unknown-field.txt')));
  assert.ok(!isUnknownFieldError(fixture('driver-failure.txt')));
  assert.match(describeNvidiaSmiFailure(255, 'Failed to initialize NVML: Driver/library version mismatch'), /Reboot/);
  assert.equal(describeNvidiaSmiFailure(3, ''), 'nvidia-smi failed with exit code 3: no output');
});

test('every real capture in the fixtures folder parses without skipped lines', () => {
  for (const f of readdirSync(dir).filter((n) => n.startsWith('captured-') && n.endsWith('.csv'))) {
    const r = parseGpuCsv(fixture(f));
    assert.deepEqual(r.skipped, [], f);
    assert.ok(r.gpus.length > 0, f);
  }
});
