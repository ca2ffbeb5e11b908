import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeGpu, environmentFacts, formatMiB } from '../../src/environment/format';
import { diagnose } from '../../src/environment/problems';
import { summarize } from '../../src/environment/summary';
import { buildEnvironmentTree } from '../../src/environment/tree';
import { gpu, gpuReading, probeReport, snapshot, torchInfo } from './snapshots';

test('CPU machine: every row the issue asks for, with clear wording', () => {
  const s = snapshot();
  s.problems = diagnose({ ...s, minimumTorchVersion: '2.0' });
  const tree = buildEnvironmentTree(s);
  const rows = Object.fromEntries(tree.map((n) => [n.label, n.description]));
  assert.deepEqual(Object.keys(rows), ['Notes', 'Interpreter', 'Python', 'PyTorch', 'CUDA', 'cuDNN', 'GPUs', 'ONNX Runtime']);
  assert.equal(rows.Interpreter, '/ws/.venv/bin/python');
  assert.equal(rows.Python, '3.11.7 (CPython, linux x86_64)');
  assert.equal(rows.PyTorch, '2.13.0+cpu');
  assert.equal(rows.CUDA, 'not in this build (CPU-only PyTorch)');
  assert.equal(rows.cuDNN, 'not available');
  assert.equal(rows.GPUs, 'no NVIDIA GPU (nvidia-smi not found)');
  assert.equal(rows['ONNX Runtime'], '1.30.0 · cpu');
  assert.equal(tree.find((n) => n.id === 'interpreter')!.contextValue, 'interpreter');
});

test('untrusted: empty tree so the welcome content explains', () => {
  assert.deepEqual(buildEnvironmentTree(snapshot({ trusted: false })), []);
  assert.deepEqual(environmentFacts(snapshot({ trusted: false })), []);
});

test('GPUs and MIG instances become children; CUDA devices too', () => {
  const t = torchInfo({ version: '2.13.0+cu128', cudaBuild: '12.8', cudaAvailable: true, cudnn: '9.1.0', devices: [{ index: 0, name: 'A100', totalMemoryMiB: 40960, capability: '8.0' }] });
  const s = snapshot({
    probe: { status: 'ok', report: probeReport(t), seconds: 1 },
    gpus: gpuReading([gpu(0, { migMode: 'Enabled', utilizationPercent: null, migDevices: [{ gpuIndex: 0, deviceIndex: 0, profile: '3g.20gb', uuid: 'MIG-1' }] }), gpu(1)]),
  });
  const tree = buildEnvironmentTree(s);
  const gpus = tree.find((n) => n.id === 'gpus')!;
  assert.equal(gpus.description, '2 × NVIDIA H100 80GB HBM3 · driver 560.35.03');
  assert.equal(gpus.children!.length, 2);
  assert.equal(gpus.children![0]!.children![0]!.label, 'MIG 3g.20gb');
  assert.equal(gpus.children![0]!.description, '1.0 GiB / 80 GiB · 55 °C · MIG: 1 instance');
  assert.equal(tree.find((n) => n.id === 'cuda')!.description, '12.8 — available, 1 device');
  assert.equal(tree.find((n) => n.id === 'cuda')!.children![0]!.description, 'A100 · 40 GiB · compute 8.0');
});

test('PyTorch missing is marked for the inline install button', () => {
  const s = snapshot({ probe: { status: 'ok', report: probeReport(null), seconds: 1 } });
  const torch = buildEnvironmentTree(s).find((n) => n.id === 'torch')!;
  assert.equal(torch.description, 'not installed');
  assert.equal(torch.contextValue, 'torch-missing');
});

test('pending and failed states', () => {
  const pending = buildEnvironmentTree(snapshot({ probe: { status: 'pending' }, interpreter: null, gpus: { status: 'pending', at: 0, gpus: [], driverVersion: null, message: null }, onnxRuntime: null }));
  assert.equal(pending.find((n) => n.id === 'python')!.icon!.id, 'loading~spin');
  assert.equal(pending.find((n) => n.id === 'gpus')!.description, 'checking…');
  assert.equal(pending.find((n) => n.id === 'interpreter')!.description, 'checking…', 'not "none found" while the first check runs');
  const failed = buildEnvironmentTree(snapshot({ probe: { status: 'failed', message: 'no such file', stderrTail: '' } }));
  assert.equal(failed.find((n) => n.id === 'python')!.description, 'cannot run');
});

test('problems node lists problems with a click to show them', () => {
  const s = snapshot({ probe: { status: 'ok', report: probeReport(null), seconds: 1 } });
  s.problems = diagnose({ ...s, minimumTorchVersion: '2.0' });
  const problems = buildEnvironmentTree(s)[0]!;
  assert.equal(problems.id, 'problems');
  assert.equal(problems.label, 'Problems');
  assert.equal(problems.children![0]!.command!.command, 'descent.showProblem');
  assert.deepEqual(problems.children![0]!.command!.args, ['torch-missing']);
});

test('formatting helpers', () => {
  assert.equal(formatMiB(512), '512 MiB');
  assert.equal(formatMiB(1536), '1.5 GiB');
  assert.equal(formatMiB(81559), '80 GiB');
  assert.equal(formatMiB(null), '?');
  assert.equal(describeGpu(gpu(0, { memoryUsedMiB: null, temperatureC: null })), '? / 80 GiB · 40%');
  assert.match(summarize(snapshot()), /^Python 3.11.7, PyTorch 2.13.0\+cpu, CPU only, no NVIDIA GPU/);
});
