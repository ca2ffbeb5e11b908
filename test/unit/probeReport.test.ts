import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseProbeOutput, validateProbeReport } from '../../src/environment/probeReport';

const good = {
  schema: 1,
  python: { version: '3.11.7', executable: '/v/bin/python', implementation: 'CPython', platform: 'linux', machine: 'x86_64' },
  torch: {
    version: '2.13.0+cu128',
    cudaBuild: '12.8',
    hipBuild: null,
    cudaAvailable: true,
    cudaError: null,
    cudnn: '9.1.0',
    mps: { built: false, available: false },
    devices: [{ index: 0, name: 'NVIDIA H100 80GB HBM3', totalMemoryMiB: 81559, capability: '9.0' }],
  },
  torchError: null,
  torchImportSeconds: 1.5,
};

test('a good report passes unchanged', () => {
  const r = validateProbeReport(structuredClone(good));
  assert.deepEqual(r, { ok: true, report: good });
});

test('a report without torch passes', () => {
  const r = validateProbeReport({ ...good, torch: null, torchError: "ModuleNotFoundError: No module named 'torch'", torchImportSeconds: null });
  assert.ok(r.ok && r.report.torch === null);
});

test('wrong shapes give a message naming the field', () => {
  const cases: [unknown, RegExp][] = [
    [null, /report should be an object/],
    [[], /report should be an object/],
    [{ ...good, schema: 2 }, /unsupported probe schema 2/],
    [{ ...good, python: 'x' }, /python should be an object/],
    [{ ...good, python: { ...good.python, version: 3.11 } }, /python.version should be a string/],
    [{ ...good, torch: { ...good.torch, cudaAvailable: 'yes' } }, /torch.cudaAvailable should be true or false/],
    [{ ...good, torch: { ...good.torch, devices: {} } }, /torch.devices should be a list/],
    [{ ...good, torch: { ...good.torch, devices: [{ index: 0 }] } }, /torch.devices\[0\].name should be a string/],
    [{ ...good, torch: { ...good.torch, mps: null } }, /torch.mps should be an object/],
    [{ ...good, torchImportSeconds: 'slow' }, /torchImportSeconds should be a number/],
  ];
  for (const [value, message] of cases) {
    const r = validateProbeReport(value);
    assert.equal(r.ok, false, JSON.stringify(value)?.slice(0, 80));
    assert.match(!r.ok ? r.message : '', message);
  }
});

test('long strings are capped, long device lists bounded', () => {
  const devices = Array.from({ length: 500 }, (_, i) => ({ index: i, name: 'x'.repeat(10_000), totalMemoryMiB: 1, capability: '8.0' }));
  const r = validateProbeReport({ ...good, torch: { ...good.torch, devices } });
  assert.ok(r.ok);
  assert.equal(r.report.torch!.devices.length, 64);
  assert.equal(r.report.torch!.devices[0]!.name.length, 2000);
});

test('probe output: noise before the JSON line is tolerated, garbage gives a message', () => {
  const out = `sitecustomize says hi\n{not json\n${JSON.stringify(good)}\n`;
  assert.ok(parseProbeOutput(out).ok);
  const none = parseProbeOutput('Traceback (most recent call last):\n  ...\nSyntaxError: invalid syntax\n');
  assert.equal(none.ok, false);
  assert.match(!none.ok ? none.message : '', /printed no JSON report \(it printed: Traceback/);
  const empty = parseProbeOutput('');
  assert.match(!empty.ok ? empty.message : '', /printed nothing/);
  const bad = parseProbeOutput('{"schema": 1}\n');
  assert.match(!bad.ok ? bad.message : '', /python should be an object/);
});
