import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { lintSource } from '../../src/lint';
import { optionsFromSpec } from '../../src/scaffold/cli';
import {
  architecturesFor,
  checkData,
  dataKindsFor,
  defaultData,
  defaultOptions,
  explainChoices,
  generateProject,
  lossesFor,
  OPTIMIZERS,
  parseCsvHeader,
  TASKS,
  validateOptions,
  writeProject,
  type ScaffoldOptions,
} from '../../src/scaffold';
import { useParser } from './lint/helpers';

useParser();

const loggerSource = readFileSync(join(__dirname, '..', '..', 'python', 'descent', 'log.py'), 'utf8');
const matrix = JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', 'scaffold', 'matrix.json'), 'utf8')) as {
  projects: { id: string; spec: unknown }[];
};

/** Every combination the flow can produce, reduced to a covering sample: each task x data kind x architecture x loss, each optimizer. */
function combinations(): { id: string; options: ScaffoldOptions }[] {
  const out: { id: string; options: ScaffoldOptions }[] = [];
  for (const task of TASKS) {
    for (const kind of dataKindsFor(task)) {
      for (const architecture of architecturesFor(task)) {
        const data = defaultData(task, kind);
        const base = defaultOptions(task, { data, architecture });
        if (validateOptions(base).length) continue; // e.g. transfer learning on tables: not offered
        for (const loss of lossesFor(task, architecture)) {
          const i = out.length;
          const optimizer = OPTIMIZERS[i % OPTIMIZERS.length]!;
          const flip = i % 2 === 0;
          const options = defaultOptions(task, {
            data: kind === 'csv' || kind === 'npz' || kind === 'image-folder' ? { ...data, ...(flip ? { testPath: 'data/test' + (kind === 'csv' ? '.csv' : kind === 'npz' ? '.npz' : '') } : {}) } : data,
            architecture,
            loss,
            optimizer,
            freezeBackbone: flip,
            pretrained: !flip,
            regularization: {
              ...base.regularization,
              dropout: architecture === 'logistic' ? 0 : flip ? 0.3 : 0,
              batchNorm: !flip,
              l1: flip ? 1e-5 : 0,
              patience: flip ? 3 : 0,
            },
            metrics: flip ? base.metrics : [],
          });
          out.push({ id: `${task}/${kind}/${architecture}/${loss}/${optimizer}${flip ? '+reg' : ''}`, options });
        }
      }
    }
  }
  return out;
}

describe('scaffold options', () => {
  test('defaults are valid for every task, and "Enter, Enter, Enter" is an MLP with Adam on digits', () => {
    for (const task of TASKS) assert.deepEqual(validateOptions(defaultOptions(task)), [], task);
    const o = defaultOptions();
    assert.equal(o.task, 'tabular-classification');
    assert.deepEqual(o.data, { kind: 'sklearn', name: 'digits' });
    assert.equal(o.architecture, 'mlp');
    assert.equal(o.optimizer, 'adam');
    assert.equal(o.loss, 'cross-entropy');
    assert.equal(o.lr, 1e-3);
  });

  test('defaults follow the choices they depend on', () => {
    assert.equal(defaultOptions('tabular-classification', { optimizer: 'adadelta' }).lr, 1.0);
    assert.equal(defaultOptions('tabular-classification', { optimizer: 'sgd-momentum' }).lr, 0.01);
    assert.equal(defaultOptions('autoencoding', { architecture: 'vae' }).loss, 'elbo');
    assert.equal(defaultOptions('regression').loss, 'mse');
    assert.deepEqual(defaultOptions('regression').metrics, ['mae', 'rmse']);
    assert.equal(defaultOptions('tabular-classification', { optimizer: 'adamw' }).regularization.weightDecay, 0.01);
    assert.equal(defaultOptions('image-classification', { data: defaultData('image-classification', 'image-folder') }).regularization.augmentation, true);
    assert.equal(defaultOptions('image-classification').regularization.augmentation, false); // digits arrays: no augmentation
    assert.equal(defaultOptions('sequence-classification').architecture, 'lstm');
  });

  test('combinations that do not fit are rejected with a message naming the field', () => {
    const fields = (o: unknown) => validateOptions(o).map((p) => p.field);
    const base = defaultOptions();
    assert.deepEqual(fields({ ...base, architecture: 'lstm' }), ['architecture']);
    assert.deepEqual(fields({ ...base, loss: 'mse' }), ['loss']);
    assert.deepEqual(fields({ ...base, loss: 'elbo' }), ['loss']);
    assert.deepEqual(fields({ ...defaultOptions('autoencoding'), loss: 'elbo' }), ['loss']);
    assert.deepEqual(fields({ ...base, lr: 0.5 }), ['lr']); // Adam at 0.5 diverges
    assert.deepEqual(fields({ ...base, optimizer: 'adadelta', lr: 1.0 }), []);
    assert.deepEqual(fields({ ...base, metrics: ['mae'] }), ['metrics']);
    assert.deepEqual(fields({ ...base, data: { kind: 'torchvision', name: 'MNIST', root: 'data' } }), ['data.kind']);
    assert.deepEqual(fields({ ...base, data: { kind: 'sklearn', name: 'diabetes' } }), ['data.name']);
    assert.deepEqual(fields({ ...base, data: { kind: 'csv', path: 'a.csv', target: '' } }), ['data.target']);
    assert.deepEqual(fields({ ...base, regularization: { ...base.regularization, augmentation: true } }), ['regularization.augmentation']);
    assert.deepEqual(fields({ ...base, regularization: { ...base.regularization, dropout: 1 } }), ['regularization.dropout']);
    assert.deepEqual(fields({ ...base, name: '../evil' }), ['name']);
    assert.deepEqual(fields({ ...defaultOptions('image-classification'), architecture: 'transfer' }), ['data.kind']);
    assert.deepEqual(fields({ ...defaultOptions('sequence-classification'), architecture: 'transformer', hiddenSize: 30 }), ['hiddenSize']);
    assert.deepEqual(fields({ ...base, epochs: 0, batchSize: 1.5 }), ['epochs', 'batchSize']);
    assert.deepEqual(fields(null), ['']);
    assert.deepEqual(fields({ task: 'nope' }).slice(-1), ['task']);
    assert.throws(() => generateProject({ ...base, loss: 'mse' }, { loggerSource }), /loss: MSE does not fit/);
  });

  test('explainChoices gives one sentence for every choice', () => {
    const o = defaultOptions('tabular-classification', {
      optimizer: 'adamw',
      regularization: { dropout: 0.2, batchNorm: true, weightDecay: 0.01, l1: 1e-5, patience: 4, augmentation: false },
    });
    const choices = explainChoices(o).map((e) => e.choice.split(':')[0] ?? '');
    for (const c of ['Task', 'Data', 'Architecture', 'Loss', 'Optimizer', 'Dropout', 'Batch normalisation', 'Weight decay', 'L1 penalty', 'Early stopping', 'Metrics', 'Confusion matrix', 'Seed', 'Device']) {
      assert.ok(choices.some((x) => x.startsWith(c)), c);
    }
    for (const e of explainChoices(o)) assert.match(e.why, /^\S[^\n]*\.$/, e.choice);
  });
});

describe('scaffold generator', () => {
  const all = [
    ...combinations(),
    ...matrix.projects.map((p) => ({ id: `matrix:${p.id}`, options: optionsFromSpec(p.spec) })),
  ];

  test('the covering sample is large and valid', () => {
    assert.ok(all.length >= 60, String(all.length));
    for (const { id, options } of all) assert.deepEqual(validateOptions(options), [], id);
  });

  test('every generated Python file is lint-clean (zero findings)', () => {
    for (const { id, options } of all) {
      for (const file of generateProject(options, { loggerSource }).files.filter((f) => f.path.endsWith('.py'))) {
        const findings = lintSource(file.content, { onRuleError: (rule, e) => assert.fail(`${rule} threw on ${id}/${file.path}: ${String(e)}`) });
        assert.deepEqual(
          findings.map((f) => `${f.rule}:${f.range.start.line + 1} ${f.message}`),
          [],
          `${id}/${file.path}`,
        );
      }
    }
  });

  test('files are formatted: 4-space indents, no tabs, no trailing spaces, no placeholders, one final newline', () => {
    for (const { id, options } of all) {
      for (const file of generateProject(options, { loggerSource }).files) {
        const where = `${id}/${file.path}`;
        assert.ok(file.content.endsWith('\n') && !file.content.endsWith('\n\n'), where);
        if (file.path === 'descent_log.py') continue; // copied as is
        assert.doesNotMatch(file.content, /\$\{|undefined|\[object Object\]|NaN|TODO/, where);
        if (!file.path.endsWith('.py')) continue;
        for (const [i, line] of file.content.split('\n').entries()) {
          assert.doesNotMatch(line, /\t| $/, `${where}:${i + 1}`);
          assert.equal((/^ */.exec(line)![0].length) % 4, 0, `${where}:${i + 1}: ${line}`);
        }
      }
    }
  });

  test('the project has the expected files; train.py has the good habits; descent_log.py is the logger', () => {
    const files = generateProject(defaultOptions(), { loggerSource }).files;
    assert.deepEqual(files.map((f) => f.path), ['README.md', 'config.json', 'data.py', 'model.py', 'train.py', 'descent_log.py', 'requirements.txt', '.gitignore']);
    const get = (p: string) => files.find((f) => f.path === p)!.content;
    assert.equal(get('descent_log.py'), loggerSource);
    const train = get('train.py');
    for (const habit of ['set_seed(config["seed"])', 'shuffle=True', 'model.train()', 'model.eval()', 'with torch.no_grad():', 'torch.cuda.is_available()', 'torch.backends.mps.is_available()', 'log.checkpoint(', 'log.confusion(', 'log.metrics(', 'torch.onnx.export(', 'except ImportError', '--resume', 'weights_only=True', 'bad_epochs >= config["patience"]', 'import descent_log as log']) {
      assert.ok(train.includes(habit), habit);
    }
    const config = JSON.parse(get('config.json')) as Record<string, unknown>;
    // Per-epoch weights for the loss landscape's training path, on by default and switchable.
    assert.equal(config.trajectory_checkpoints, true);
    assert.match(train, /if config\["trajectory_checkpoints"\]:\n\s+save_trajectory_checkpoint\(model, config\["checkpoint_dir"\], f"epoch_\{epoch \+ 1:03d\}\.pt", step\)/);
    assert.match(train, /save_trajectory_checkpoint\(model, config\["checkpoint_dir"\], "epoch_000_init\.pt", step\)/);
    // Every setting has a flag, and every flag is a setting.
    for (const key of Object.keys(config)) assert.ok(train.includes(`"--${key.replace(/_/g, '-')}"`), key);
    assert.doesNotMatch(get('requirements.txt'), /cu\d{2,3}|nvidia|==/);
    assert.match(get('requirements.txt'), /^torch>=/m);
  });

  test('only the chosen options appear in the code (no dead options)', () => {
    const gen = (o: ScaffoldOptions) => Object.fromEntries(generateProject(o, { loggerSource }).files.map((f) => [f.path, f.content]));
    const plain = gen(defaultOptions('tabular-classification', { architecture: 'logistic', optimizer: 'sgd', regularization: { dropout: 0, batchNorm: false, weightDecay: 0, l1: 0, patience: 5, augmentation: false } }));
    assert.doesNotMatch(plain['model.py']!, /Dropout|BatchNorm/);
    assert.doesNotMatch(plain['train.py']!, /l1_penalty|momentum|Adam/);
    assert.doesNotMatch(plain['config.json']!, /dropout|hidden_size|momentum|"l1"/);
    const rich = gen(defaultOptions('tabular-classification', { optimizer: 'sgd-momentum', regularization: { dropout: 0.5, batchNorm: true, weightDecay: 1e-4, l1: 1e-5, patience: 2, augmentation: false } }));
    assert.match(rich['model.py']!, /nn\.Dropout\(dropout\)/);
    assert.match(rich['model.py']!, /BatchNorm1d/);
    assert.match(rich['train.py']!, /l1_penalty\(model\)/);
    assert.match(rich['train.py']!, /momentum=config\["momentum"\]/);
    const vae = gen(defaultOptions('autoencoding', { architecture: 'vae' }));
    assert.match(vae['train.py']!, /def elbo_loss/);
    assert.doesNotMatch(vae['train.py']!, /confusion/);
    const folder = gen(defaultOptions('image-classification', { data: defaultData('image-classification', 'image-folder') }));
    assert.match(folder['data.py']!, /def flip_and_shift/);
    assert.doesNotMatch(folder['data.py']!, /torchvision/);
    const mnist = gen(defaultOptions('image-classification', { data: defaultData('image-classification', 'torchvision'), architecture: 'transfer' }));
    assert.match(mnist['model.py']!, /resnet18\(weights=weights\)/);
    assert.match(mnist['data.py']!, /datasets\.MNIST\(root, train=True, download=True/);
    assert.match(mnist['requirements.txt']!, /torchvision/);
  });

  test('the README explains every choice and how to run', () => {
    for (const { id, options } of all) {
      const readme = generateProject(options, { loggerSource }).files.find((f) => f.path === 'README.md')!.content;
      for (const e of explainChoices(options)) assert.ok(readme.includes(e.why), `${id}: ${e.choice}`);
      assert.match(readme, /pip install -r requirements\.txt/);
      assert.match(readme, /python train\.py --resume checkpoints\/last\.pt/);
    }
  });
});

describe('scaffold files on disk', () => {
  test('writeProject never overwrites without being told; checkData names the problem', () => {
    const dir = mkdtempSync(join(tmpdir(), 'scaffold-'));
    try {
      const files = generateProject(defaultOptions(), { loggerSource }).files;
      writeFileSync(join(dir, 'train.py'), 'mine\n');
      assert.throws(() => writeProject(dir, files), /already exist.*train\.py/);
      assert.equal(readFileSync(join(dir, 'train.py'), 'utf8'), 'mine\n');
      writeProject(dir, files, { overwrite: true });
      assert.notEqual(readFileSync(join(dir, 'train.py'), 'utf8'), 'mine\n');

      const folder = defaultOptions('image-classification', { data: { kind: 'image-folder', path: 'images', imageSize: 32 } });
      assert.deepEqual(checkData(folder, dir), []); // not there yet: fine unless required
      assert.match(checkData(folder, dir, true)[0]!, /does not exist/);
      mkdirSync(join(dir, 'images'));
      assert.match(checkData(folder, dir)[0]!, /no class sub-folders/);
      mkdirSync(join(dir, 'images', 'cat'));
      mkdirSync(join(dir, 'images', 'dog'));
      assert.deepEqual(checkData(folder, dir), []);

      const table = defaultOptions('tabular-classification', { data: { kind: 'csv', path: 't.csv', target: 'label' } });
      writeFileSync(join(dir, 't.csv'), 'a,"b,c",kind\n1,2,x\n');
      assert.match(checkData(table, dir)[0]!, /no column named "label"; its columns are: a, b,c, kind/);
      writeFileSync(join(dir, 't.csv'), '\uFEFFa,label\n1,x\n');
      assert.deepEqual(checkData(table, dir), []);
      assert.deepEqual(parseCsvHeader('x,"y ""q""",z'), ['x', 'y "q"', 'z']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
