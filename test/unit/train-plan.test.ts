import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deviceItems, describeGpu, formatDevices, parseDevices } from '../../src/train/devices';
import { buildEnv, displayCommand, planLaunch, processCount } from '../../src/train/launchPlan';
import { baseRunName, localStamp, runId, runNameCandidates, sanitizeRunName, utcStamp } from '../../src/train/naming';
import { expandPath, requestFromDefinition } from '../../src/train/request';
import type { GpuStatus } from '../../src/protocol/environment';

const gpu = (index: number, used = 1024, total = 24564, util = 3): GpuStatus => ({
  index,
  uuid: null,
  name: 'NVIDIA GeForce RTX 4090',
  memoryUsedMiB: used,
  memoryTotalMiB: total,
  utilizationPercent: util,
  temperatureC: 40,
  migMode: null,
  migDevices: [],
});

test('run names: <script>-<local time>, sanitized requests, unique candidates', () => {
  const d = new Date(2026, 10, 21, 9, 5, 7);
  assert.equal(localStamp(d), '20261121-090507');
  assert.equal(baseRunName('/w/train.py', d), 'train-20261121-090507');
  assert.equal(baseRunName('/w/my model.v2.py', d), 'my-model.v2-20261121-090507');
  assert.equal(baseRunName('/w/train.py', d, 'lr 3e-4 / adam'), 'lr-3e-4-adam');
  assert.equal(baseRunName('/w/train.py', d, '../..'), 'train-20261121-090507', 'a name that is only dots falls back');
  assert.equal(sanitizeRunName('../../etc/passwd'), 'etc-passwd');
  assert.equal(sanitizeRunName('.hidden'), 'hidden');
  assert.equal(sanitizeRunName('x'.repeat(200)).length, 80);
  assert.deepEqual([...runNameCandidates('a', 3)], ['a', 'a-2', 'a-3']);
});

test('run ids: UTC stamp and four hex digits', () => {
  const d = new Date(Date.UTC(2026, 10, 21, 10, 22, 3));
  assert.equal(utcStamp(d), '20261121-102203');
  assert.equal(runId(d, 0.3725), '20261121-102203-5f5c');
  assert.equal(runId(d, 0), '20261121-102203-0000');
  assert.match(runId(d, 0.99999999), /^20261121-102203-ffff$/);
});

test('local launch on one GPU sets CUDA_VISIBLE_DEVICES to its index', () => {
  const p = planLaunch({ python: '/v/bin/python', script: '/w/train.py', args: ['--lr', '3e-4'], device: { kind: 'gpu', indices: [1] } });
  assert.equal(p.command, '/v/bin/python');
  assert.deepEqual(p.args, ['/w/train.py', '--lr', '3e-4']);
  assert.deepEqual(p.env, { CUDA_VISIBLE_DEVICES: '1', DESCENT_DEVICE: 'cuda' });
  assert.deepEqual(p.target, { kind: 'local' });
  assert.deepEqual(p.devices, ['cuda:1']);
});

test('CPU hides the GPUs with an empty CUDA_VISIBLE_DEVICES; MPS sets nothing', () => {
  const cpu = planLaunch({ python: 'python3', script: '/w/t.py', args: [], device: { kind: 'cpu' } });
  assert.equal(cpu.env.CUDA_VISIBLE_DEVICES, '');
  assert.deepEqual(cpu.devices, ['cpu']);
  assert.deepEqual(cpu.args, ['/w/t.py']);
  const mps = planLaunch({ python: 'python3', script: '/w/t.py', args: [], device: { kind: 'mps' } });
  assert.equal('CUDA_VISIBLE_DEVICES' in mps.env, false);
  assert.deepEqual(mps.devices, ['mps']);
});

test('several GPUs launch through torchrun, one process per GPU', () => {
  const p = planLaunch({ python: '/v/bin/python', script: '/w/train.py', args: ['--epochs', '3'], device: { kind: 'gpu', indices: [0, 2] } });
  assert.deepEqual(p.args, ['-m', 'torch.distributed.run', '--standalone', '--nproc_per_node=2', '/w/train.py', '--epochs', '3']);
  assert.equal(p.env.CUDA_VISIBLE_DEVICES, '0,2');
  assert.deepEqual(p.target, { kind: 'torchrun', nprocPerNode: 2 });
  assert.deepEqual(p.devices, ['cuda:0', 'cuda:2']);
});

test('CPU with N processes is torchrun with gloo (no GPU visible)', () => {
  const p = planLaunch({ python: 'py', script: 's.py', args: [], device: { kind: 'cpu', processes: 2 } });
  assert.deepEqual(p.args, ['-m', 'torch.distributed.run', '--standalone', '--nproc_per_node=2', 's.py']);
  assert.equal(p.env.CUDA_VISIBLE_DEVICES, '');
  const forced = planLaunch({ python: 'py', script: 's.py', args: [], device: { kind: 'cpu' }, target: 'torchrun', nprocPerNode: 3 });
  assert.deepEqual(forced.target, { kind: 'torchrun', nprocPerNode: 3 });
  assert.equal(processCount({ device: { kind: 'cpu' }, target: 'torchrun' }), 2);
  assert.equal(processCount({ device: { kind: 'gpu', indices: [0] }, target: 'torchrun' }), 1);
});

test('the environment: PYTHONPATH prepended, run dir, unbuffered output, plan variables', () => {
  const env = buildEnv(
    { PATH: '/usr/bin', PYTHONPATH: '/mine', CUDA_VISIBLE_DEVICES: '0,1', UNSET: undefined },
    { runDir: '/w/runs/a', helpersDir: '/ext/python', planEnv: { CUDA_VISIBLE_DEVICES: '', DESCENT_DEVICE: 'cpu' }, delimiter: ':' },
  );
  assert.deepEqual(env, {
    PATH: '/usr/bin',
    PYTHONPATH: '/ext/python:/mine',
    CUDA_VISIBLE_DEVICES: '',
    DESCENT_DEVICE: 'cpu',
    DESCENT_RUN_DIR: '/w/runs/a',
    PYTHONUNBUFFERED: '1',
  });
  assert.equal(buildEnv({}, { runDir: 'r', helpersDir: 'h', planEnv: {}, delimiter: ';' }).PYTHONPATH, 'h');
});

test('display command quotes what a shell would split (never executed)', () => {
  assert.equal(displayCommand('/v/bin/python', ['train.py', '--name', 'a b', "it's", '']), `/v/bin/python train.py --name 'a b' 'it'\\''s' ''`);
});

test('devices field: strings, lists, all GPUs, the pick, and mistakes', () => {
  assert.deepEqual(parseDevices(undefined), { kind: 'ask' });
  assert.deepEqual(parseDevices('ask'), { kind: 'ask' });
  assert.deepEqual(parseDevices('CPU'), { kind: 'choice', choice: { kind: 'cpu' } });
  assert.deepEqual(parseDevices('mps'), { kind: 'choice', choice: { kind: 'mps' } });
  assert.deepEqual(parseDevices('cuda'), { kind: 'all-gpus' });
  assert.deepEqual(parseDevices('cuda:1'), { kind: 'choice', choice: { kind: 'gpu', indices: [1] } });
  assert.deepEqual(parseDevices('0,1'), { kind: 'choice', choice: { kind: 'gpu', indices: [0, 1] } });
  assert.deepEqual(parseDevices(['cuda:0', 'cuda:3']), { kind: 'choice', choice: { kind: 'gpu', indices: [0, 3] } });
  assert.match(String(parseDevices('tpu')), /"tpu" is not a device/);
  assert.match(String(parseDevices(['cpu', 'cuda:0'])), /"cpu" is not a device/);
  assert.match(String(parseDevices(3)), /must be a string/);
  assert.equal(formatDevices({ kind: 'gpu', indices: [0, 2] }), 'cuda:0,cuda:2');
  assert.equal(formatDevices({ kind: 'cpu', processes: 2 }), 'cpu');
});

test('device quick pick: GPUs with free memory and utilisation, all GPUs, several, MPS, CPU, CPU torchrun', () => {
  assert.equal(describeGpu(gpu(0, 4096, 24564, 37)), '20 GiB free of 24 GiB · 37% busy');
  assert.equal(describeGpu({ ...gpu(0), memoryUsedMiB: null, utilizationPercent: null, memoryTotalMiB: 8192 }), '8.0 GiB');
  const items = deviceItems({ gpus: [gpu(0), gpu(1), gpu(2)], mpsAvailable: false, cudaUsable: true });
  assert.deepEqual(
    items.map((i) => i.label),
    ['$(chip) GPU 0: NVIDIA GeForce RTX 4090', '$(chip) GPU 1: NVIDIA GeForce RTX 4090', '$(chip) GPU 2: NVIDIA GeForce RTX 4090', '$(server) All 3 GPUs', '$(checklist) Several GPUs…', '$(circuit-board) CPU', '$(server-process) CPU, 2 processes'],
  );
  assert.deepEqual(items[3]!.choice, { kind: 'gpu', indices: [0, 1, 2] });
  assert.equal(items[4]!.choice, undefined);
  assert.deepEqual(items.at(-1)!.choice, { kind: 'cpu', processes: 2 });
  const mac = deviceItems({ gpus: [], mpsAvailable: true, cudaUsable: false });
  assert.deepEqual(mac.map((i) => i.choice), [{ kind: 'mps' }, { kind: 'cpu' }, { kind: 'cpu', processes: 2 }]);
  const cpuBuild = deviceItems({ gpus: [gpu(0)], mpsAvailable: false, cudaUsable: false });
  assert.match(cpuBuild[0]!.detail ?? '', /cannot use CUDA/);
});

test('task definitions: validated field by field', () => {
  assert.deepEqual(requestFromDefinition({ type: 'descent', script: 'train.py', args: ['--lr', 3], devices: 'cuda:0', target: 'torchrun', nprocPerNode: 2, runName: 'base' }), {
    script: 'train.py',
    args: ['--lr', '3'],
    devices: { kind: 'choice', choice: { kind: 'gpu', indices: [0] } },
    target: 'torchrun',
    nprocPerNode: 2,
    runName: 'base',
  });
  assert.match(String(requestFromDefinition({ type: 'descent' })), /no "script"/);
  assert.match(String(requestFromDefinition({ script: 'a.py', args: 'x' })), /"args" must be a list/);
  assert.match(String(requestFromDefinition({ script: 'a.py', target: 'slurm' })), /"target" must be/);
  assert.match(String(requestFromDefinition({ script: 'a.py', nprocPerNode: 0 })), /nprocPerNode/);
  assert.match(String(requestFromDefinition({ script: 'a.py', devices: 'gpu:x' })), /not a device/);
});

test('paths: ${workspaceFolder}, ~ and relative to the folder', () => {
  assert.equal(expandPath('${workspaceFolder}/train.py', '/w', '/home/u'), '/w/train.py');
  assert.equal(expandPath('src/train.py', '/w', '/home/u'), '/w/src/train.py');
  assert.equal(expandPath('~/x/train.py', '/w', '/home/u'), '/home/u/x/train.py');
  assert.equal(expandPath('/abs/t.py', '/w', '/home/u'), '/abs/t.py');
  assert.equal(expandPath('${workspaceFolder}/t.py', undefined, '/home/u'), undefined);
});
