// The pure parts of the New Model Project flow (src/scaffold/vscode/flow.ts): Enter at every step gives valid
// options that train offline, every choice a step offers is valid with the earlier ones, names and folders.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { generateProject, validateOptions, type Regularization, type Task } from '../../src/scaffold';
import {
  applyRegularizers,
  architectureChoices,
  dataChoices,
  dataFromChoice,
  freeFolder,
  integerProblem,
  isNewProjectArgument,
  learningRateProblem,
  lossChoices,
  optimizerChoices,
  optionsFromArgument,
  optionsOf,
  projectName,
  regularizerChoices,
  regularizerOn,
  setAnswer,
  taskChoices,
  withDataRelativeTo,
  type Answers,
} from '../../src/scaffold/vscode/flow';

const NAME = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;

test('Enter, Enter, Enter: tabular classification on scikit-learn digits with an MLP, valid and offline', () => {
  const a: Answers = {};
  setAnswer(a, 'task', taskChoices()[0]!.value);
  const o = optionsOf(a);
  assert.equal(o.task, 'tabular-classification');
  assert.deepEqual(dataChoices(o.task)[0]!.value, { kind: 'sklearn', name: 'digits' });
  assert.equal(architectureChoices(o.task)[0]!.value, o.architecture);
  assert.equal(lossChoices(o.task, o.architecture)[0]!.value, o.loss);
  assert.equal(optimizerChoices(o)[0]!.value, o.optimizer);
  assert.equal(o.name, 'digits-mlp');
  assert.deepEqual(validateOptions(o), []);
});

test('every task offers scikit-learn data first, and every step\'s choices are valid with the earlier ones', () => {
  let count = 0;
  for (const { value: task } of taskChoices()) {
    assert.equal(dataChoices(task)[0]!.value.kind, 'sklearn', task);
    for (const { value: data } of dataChoices(task)) {
      const source = dataFromChoice(task, data);
      if (!source) continue; // files are asked for with a dialog
      for (const { value: architecture } of architectureChoices(task, source)) {
        const a: Answers = { task, data: source, architecture };
        for (const { value: loss } of lossChoices(task, architecture)) {
          for (const { value: optimizer } of optimizerChoices(optionsOf({ ...a, loss }))) {
            const o = optionsOf({ ...a, loss, optimizer });
            const regs = regularizerChoices(o).map((r) => r.id);
            for (const on of [[], regs]) {
              const full = optionsOf({ ...a, loss, optimizer, regularizers: on as (keyof Regularization)[] });
              assert.deepEqual(validateOptions(full), [], `${task} ${data.kind} ${architecture} ${loss} ${optimizer} ${on.join('+')}`);
              assert.match(full.name, NAME);
              count++;
            }
          }
        }
      }
    }
  }
  assert.ok(count > 100, String(count));
});

test('transfer learning is offered only with real images', () => {
  const ids = (data: Parameters<typeof architectureChoices>[1]) => architectureChoices('image-classification', data).map((c) => c.value);
  assert.ok(!ids({ kind: 'sklearn', name: 'digits' }).includes('transfer'));
  assert.ok(ids({ kind: 'torchvision', name: 'CIFAR10', root: 'data' }).includes('transfer'));
  assert.ok(ids({ kind: 'image-folder', path: 'data/images', imageSize: 64 }).includes('transfer'));
});

test('a changed answer clears the later ones, so their defaults follow', () => {
  const a: Answers = {};
  setAnswer(a, 'task', 'tabular-classification');
  setAnswer(a, 'architecture', 'logistic');
  setAnswer(a, 'optimizer', 'sgd');
  setAnswer(a, 'lr', 0.3);
  setAnswer(a, 'task', 'tabular-classification'); // same answer: kept
  assert.equal(a.lr, 0.3);
  setAnswer(a, 'task', 'sequence-classification');
  assert.deepEqual(a, { task: 'sequence-classification' });
  assert.equal(optionsOf(a).architecture, 'lstm');
});

test('regularizers: only those that change the code are offered; switching on gives usual values', () => {
  const logistic = optionsOf({ task: 'tabular-classification', architecture: 'logistic' });
  assert.ok(!regularizerChoices(logistic).some((r) => r.id === 'dropout' || r.id === 'batchNorm' || r.id === 'augmentation'));
  const r = applyRegularizers(logistic, ['weightDecay', 'l1', 'patience']);
  assert.deepEqual(r, { dropout: 0, batchNorm: false, weightDecay: 1e-4, l1: 1e-5, patience: 5, augmentation: false });
  const images = optionsOf({ task: 'image-classification', data: { kind: 'torchvision', name: 'MNIST', root: 'data' } });
  assert.ok(regularizerChoices(images).some((x) => x.id === 'augmentation'));
  assert.equal(regularizerOn(images.regularization, 'augmentation'), true);
  const none = applyRegularizers(images, []);
  assert.deepEqual(none, { dropout: 0, batchNorm: false, weightDecay: 0, l1: 0, patience: 0, augmentation: false });
  assert.deepEqual(validateOptions({ ...images, regularization: none }), []);
});

test('learning rate and whole-number entries', () => {
  const o = optionsOf({ task: 'tabular-classification' });
  assert.equal(learningRateProblem(o, '1e-3'), undefined);
  assert.match(learningRateProblem(o, 'fast')!, /Type a number/);
  assert.match(learningRateProblem(o, '0.5')!, /will not train with Adam/);
  assert.match(learningRateProblem(o, '-1')!, /positive/);
  assert.equal(integerProblem('64', 1, 65536), undefined);
  assert.match(integerProblem('0', 1, 100)!, /from 1 to 100/);
  assert.match(integerProblem('2.5', 1, 100)!, /whole number/);
});

test('project names and folders: named after the choices, never an existing folder', () => {
  assert.equal(projectName(optionsOf({ task: 'regression', data: { kind: 'csv', path: '/data/2024 House Prices.csv', target: 'price' } })), 'house-prices-mlp');
  assert.equal(projectName(optionsOf({ task: 'image-classification', data: { kind: 'torchvision', name: 'CIFAR10', root: 'data' }, architecture: 'resnet' })), 'cifar10-resnet');
  const taken = new Set([join('/w', 'digits-mlp'), join('/w', 'digits-mlp-2')]);
  assert.equal(freeFolder('/w', 'digits-mlp', (p) => taken.has(p)), join('/w', 'digits-mlp-3'));
  assert.equal(freeFolder('/w', 'iris-mlp', (p) => taken.has(p)), join('/w', 'iris-mlp'));
});

test('data paths chosen in a dialog become relative to the project folder', () => {
  const o = optionsOf({ task: 'regression', data: { kind: 'csv', path: '/home/me/data/houses.csv', target: 'price', testPath: '/home/me/data/test.csv' } });
  const rel = withDataRelativeTo(o, '/home/me/houses-mlp');
  assert.deepEqual(rel.data, { kind: 'csv', path: '../data/houses.csv', target: 'price', testPath: '../data/test.csv' });
  assert.deepEqual(validateOptions(rel), []);
  const inside = withDataRelativeTo(optionsOf({ task: 'image-classification', data: { kind: 'image-folder', path: '/p/images', imageSize: 32 } }), '/p');
  assert.equal(inside.data.kind === 'image-folder' && inside.data.path, 'images');
});

test('the command argument: a spec is completed with defaults; bad fields stay so validation names them', () => {
  assert.ok(isNewProjectArgument({ options: {}, folder: '/x' }));
  assert.ok(!isNewProjectArgument({ scheme: 'file', path: '/x' }));
  assert.ok(!isNewProjectArgument(undefined));
  const o = optionsFromArgument({ task: 'regression', regularization: { patience: 2 } });
  assert.deepEqual(validateOptions(o), []);
  assert.equal(o.regularization.patience, 2);
  assert.equal(o.architecture, 'mlp');
  const fields = validateOptions(optionsFromArgument({ task: 'nope' as Task })).map((p) => p.field);
  assert.deepEqual(fields, ['task']);
  assert.ok(generateProject(optionsFromArgument({ task: 'autoencoding', architecture: 'vae' }), { loggerSource: '# logger' }).files.length > 5);
});
