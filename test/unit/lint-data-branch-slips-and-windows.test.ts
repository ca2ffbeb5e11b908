import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, ids, lint, useParser } from './lint/helpers';

useParser();

// ---- DT010: an evaluation transform that one branch binds to the training builder ----
const TV = `${HEADER}import torchvision.transforms as T\nfrom torchvision.datasets import CIFAR10\n`;
const BUILDERS = `
def make_train_tf(size):
    return T.Compose([T.RandomResizedCrop(size), T.RandomHorizontalFlip(), T.ToTensor()])

def make_eval_tf(size):
    return T.Compose([T.Resize(size), T.ToTensor()])

def make_big_train_tf(size):
    return T.Compose([T.RandomResizedCrop(size * 2), T.ToTensor()])

def make_big_eval_tf(size):
    return T.Compose([T.Resize(size * 2), T.ToTensor()])
`;
const build = (cond: string, elseVal: string) => `${TV}${BUILDERS}
def datasets(root, size, big):
    if ${cond}:
        train_tf = make_big_train_tf(size)
        eval_tf = make_big_eval_tf(size)
    else:
        train_tf = make_train_tf(size)
        eval_tf = ${elseVal}
    train_set = CIFAR10(root, train=True, transform=train_tf)
    test_set = CIFAR10(root, train=False, transform=eval_tf)
    return train_set, test_set
`;

test('DT010: one branch of a model-family if gives the eval transform the training builder', () => {
  const f = lint(build('big', 'make_train_tf(size)'), { select: ['DT010'] });
  assert.deepEqual(f.map((x) => `${x.rule}:${x.range.start.line}`), ['DT010:27']);
  assert.match(f[0]!.message, /^test_set is built with eval_tf, which one branch binds to make_train_tf\(size\) \(line 26\), holding random augmentations \(RandomResizedCrop, RandomHorizontalFlip\)/);
  // the alias form: eval_tf = train_tf in one branch
  assert.deepEqual(ids(build('big', 'train_tf'), 'DT010'), ['DT010']);
  // elif chains too
  const elif = build('big', 'make_train_tf(size)').replace('    else:\n', '    elif size > 64:\n        train_tf = make_train_tf(size)\n        eval_tf = make_eval_tf(size)\n    else:\n');
  assert.deepEqual(ids(elif, 'DT010'), ['DT010']);
});

test('DT010: branch look-alikes stay quiet', () => {
  // both branches clean
  assert.deepEqual(ids(build('big', 'make_eval_tf(size)'), 'DT010'), []);
  // the condition chooses the augmentation itself: an option
  assert.deepEqual(ids(build('args.augment_test', 'make_train_tf(size)'), 'DT010'), []);
  assert.deepEqual(ids(build('use_tta', 'make_train_tf(size)'), 'DT010'), []);
  // the other branch's value is unknown (an imported builder): no evidence of intent
  const imported = build('big', 'make_train_tf(size)').replace('eval_tf = make_big_eval_tf(size)', 'eval_tf = timm_eval_transform(size)');
  assert.deepEqual(ids(imported, 'DT010'), []);
  // the augmented branch value is not named for training
  const named = build('big', 'make_big_train_tf(size)').replace(/make_big_train_tf/g, 'make_big_tf');
  assert.deepEqual(ids(named, 'DT010'), []);
  // a train-named target is not evaluation data
  const trainTarget = build('big', 'make_train_tf(size)').replace(/eval_tf/g, 'other_tf');
  assert.deepEqual(ids(trainTarget, 'DT010'), []);
});

// ---- DT016: windows cut by two bounds moved by one stride ----
const SK = 'import numpy as np\nfrom sklearn.model_selection import train_test_split\n';
const cutter = (init: string, hop: string, extra = '') => `${SK}
def cut(trace, hop):
    pieces = []
    ${init}
    while right <= len(trace):
${extra}        pieces.append(trace[left:right])
        left += ${hop}
        right += ${hop}
    return np.stack(pieces)

windows = cut(recording, 100)
w_train, w_test = train_test_split(windows, test_size=0.25, random_state=0)
`;

test('DT016: x[start:end] with both bounds moved by a hop shorter than the window', () => {
  const f = lint(cutter('left, right = 0, 400', 'hop'), { select: ['DT016'] });
  assert.deepEqual(f.map((x) => `${x.rule}:${x.range.start.line}`), ['DT016:13']);
  assert.match(f[0]!.message, /^windows holds overlapping windows of one series \(cut\) and train_test_split shuffles them/);
  // `right = left + size`, and a literal hop
  assert.deepEqual(ids(cutter('left = 0\n    right = left + 400', '50'), 'DT016'), ['DT016']);
  // one series per file in an outer loop: each file's windows still overlap
  const perFile = `${SK}
def cut_all(paths):
    pieces = []
    for p in paths:
        trace = np.load(p)
        left, right = 0, 512
        while right <= len(trace):
            pieces.append(trace[left:right])
            left += 64
            right += 64
    return np.array(pieces)

X = cut_all(files)
X_tr, X_te = train_test_split(X, test_size=0.2)
`;
  assert.deepEqual(ids(perFile, 'DT016'), ['DT016']);
});

test('DT016: stride look-alikes stay quiet', () => {
  // hop as long as the window: no overlap
  assert.deepEqual(ids(cutter('left, right = 0, 400', 'hop').replace('cut(recording, 100)', 'cut(recording, 400)'), 'DT016'), []);
  // hop unknown
  assert.deepEqual(ids(cutter('left, right = 0, 400', 'hop').replace('cut(recording, 100)', 'cut(recording, args.hop)'), 'DT016'), []);
  // the two bounds move by different amounts
  assert.deepEqual(ids(cutter('left, right = 0, 400', 'hop').replace('right += hop', 'right += 2 * hop'), 'DT016'), []);
  // the series changes every pass
  assert.deepEqual(ids(cutter('left, right = 0, 400', 'hop', '        trace = next_trace()\n'), 'DT016'), []);
  // split in time order
  assert.deepEqual(ids(cutter('left, right = 0, 400', 'hop').replace('random_state=0', 'shuffle=False'), 'DT016'), []);
  // a bound reset inside the loop
  assert.deepEqual(ids(cutter('left, right = 0, 400', 'hop', '        if right > 900:\n            left = 0\n'), 'DT016'), []);
});
