import assert from 'node:assert/strict';
import { test } from 'node:test';
import { diagnose, type DiagnoseInputs } from '../../src/environment/problems';
import type { ProbeState } from '../../src/protocol/environment';
import { gpu, gpuReading, probeReport, snapshot, torchInfo } from './snapshots';

function codes(over: Partial<DiagnoseInputs>): string[] {
  return diagnose({ ...snapshot(), minimumTorchVersion: '2.0', ...over }).map((p) => p.code);
}
const ok = (report = probeReport()): ProbeState => ({ status: 'ok', report, seconds: 1 });

test('CPU machine with a CPU build: only the friendly CPU-only note', () => {
  const problems = diagnose({ ...snapshot(), minimumTorchVersion: '2.0' });
  assert.deepEqual(problems.map((p) => [p.code, p.severity]), [['cpu-only', 'info']]);
  assert.match(problems[0]!.message, /No GPU: training runs on the CPU with PyTorch 2.13.0\+cpu/);
});

test('untrusted: one explanation, nothing else even if data says otherwise', () => {
  const p = diagnose({ ...snapshot(), trusted: false, minimumTorchVersion: '2.0' });
  assert.deepEqual(p.map((x) => x.code), ['untrusted']);
  assert.equal(p[0]!.actions[0]!.command, 'workbench.trust.manage');
});

test('no Python: error with select-interpreter and open-setting buttons', () => {
  const p = diagnose({ ...snapshot(), probe: { status: 'no-interpreter', message: 'No Python found: ...' }, minimumTorchVersion: '2.0' });
  assert.equal(p[0]!.code, 'no-python');
  assert.deepEqual(p[0]!.actions.map((a) => a.command), ['descent.selectInterpreter', 'workbench.action.openSettings']);
});

test('interpreter that cannot run', () => {
  assert.deepEqual(codes({ probe: { status: 'failed', message: 'no such file', stderrTail: '' } }), ['probe-failed']);
});

test('PyTorch missing vs. broken', () => {
  const missing = diagnose({ ...snapshot(), probe: ok(probeReport(null)), minimumTorchVersion: '2.0' });
  assert.equal(missing[0]!.code, 'torch-missing');
  assert.equal(missing[0]!.actions[0]!.command, 'descent.installTorch');
  assert.match(missing[0]!.message, /not installed in \/ws\/.venv\/bin\/python/);
  const broken = codes({ probe: ok(probeReport(null, { torchError: 'OSError: libcudart.so.12: cannot open shared object file' })) });
  assert.deepEqual(broken, ['torch-broken']);
});

test('old PyTorch and old Python are warnings', () => {
  assert.ok(codes({ probe: ok(probeReport(torchInfo({ version: '1.13.1+cpu' }))) }).includes('torch-too-old'));
  assert.ok(!codes({ probe: ok(probeReport(torchInfo({ version: '2.0.0' }))) }).includes('torch-too-old'));
  assert.ok(codes({ probe: ok(probeReport(torchInfo({ version: '2.1.0' }))), minimumTorchVersion: '2.4' }).includes('torch-too-old'));
  const oldPy = probeReport();
  oldPy.python.version = '3.7.17';
  assert.ok(codes({ probe: ok(oldPy) }).includes('python-too-old'));
});

test('CUDA build without a driver', () => {
  const t = torchInfo({ version: '2.13.0+cu128', cudaBuild: '12.8', cudnn: '9.1.0' });
  const p = diagnose({ ...snapshot(), probe: ok(probeReport(t)), gpus: gpuReading('failed'), minimumTorchVersion: '2.0' });
  assert.deepEqual(p.map((x) => x.code), ['cuda-no-driver']);
  assert.match(p[0]!.message, /built for CUDA 12.8, but no working NVIDIA driver was found \(nvidia-smi cannot talk/);
});

test('GPU present, CUDA build, but CUDA unusable (driver too old): error with the reason', () => {
  const t = torchInfo({ version: '2.13.0+cu128', cudaBuild: '12.8', cudaError: 'The NVIDIA driver on your system is too old (found version 11040).' });
  const p = diagnose({ ...snapshot(), probe: ok(probeReport(t)), gpus: gpuReading([gpu(0)]), minimumTorchVersion: '2.0' });
  assert.equal(p[0]!.code, 'cuda-unusable');
  assert.match(p[0]!.message, /1 NVIDIA GPU found.*too old \(found version 11040\).*driver \(560.35.03\)/);
});

test('GPU present but CPU-only build', () => {
  const p = diagnose({ ...snapshot(), gpus: gpuReading([gpu(0), gpu(1)]), minimumTorchVersion: '2.0' });
  assert.deepEqual(p.map((x) => x.code), ['cpu-build-with-gpu']);
  assert.match(p[0]!.message, /2 NVIDIA GPUs found, but PyTorch 2.13.0\+cpu is a CPU-only build/);
});

test('healthy CUDA machine: no problems at all', () => {
  const t = torchInfo({ version: '2.13.0+cu128', cudaBuild: '12.8', cudaAvailable: true, cudnn: '9.1.0', devices: [{ index: 0, name: 'H100', totalMemoryMiB: 81559, capability: '9.0' }] });
  assert.deepEqual(codes({ probe: ok(probeReport(t)), gpus: gpuReading([gpu(0)]) }), []);
});

test('CUDA works but nvidia-smi is missing: info to set its path', () => {
  const t = torchInfo({ cudaBuild: '12.8', cudaAvailable: true });
  assert.deepEqual(codes({ probe: ok(probeReport(t)), gpus: gpuReading('no-nvidia-smi') }), ['no-gpu-monitor']);
});

test('ROCm build with a GPU is not called CPU-only', () => {
  const t = torchInfo({ version: '2.13.0+rocm6.2', hipBuild: '6.2', cudaAvailable: true });
  assert.deepEqual(codes({ probe: ok(probeReport(t)), gpus: gpuReading('no-nvidia-smi') }), ['no-gpu-monitor']);
});

test('Apple silicon: MPS available is fine; built but unavailable is an info', () => {
  const mac = (available: boolean) => {
    const r = probeReport(torchInfo({ version: '2.13.0', mps: { built: true, available } }));
    r.python.platform = 'darwin';
    return ok(r);
  };
  assert.deepEqual(codes({ probe: mac(true) }), []);
  assert.deepEqual(codes({ probe: mac(false) }), ['mps-unavailable', 'cpu-only']);
});

test('errors come before warnings before info', () => {
  const r = probeReport(null);
  r.python.version = '3.8.10';
  const sev = diagnose({ ...snapshot(), probe: ok(r), gpus: gpuReading('failed'), minimumTorchVersion: '2.0' }).map((p) => p.severity);
  assert.deepEqual(sev, [...sev].sort((a, b) => ['error', 'warning', 'info'].indexOf(a) - ['error', 'warning', 'info'].indexOf(b)));
  assert.equal(sev[0], 'error');
});
