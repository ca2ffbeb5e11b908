import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, fix, ids, lint, useParser } from './lint/helpers';

useParser();

// ---- DT010 held-out-data-augmented ----
const TV = `${HEADER}from torchvision import datasets, transforms\n`;
const AUG = 'transforms.Compose([transforms.RandomCrop(32, padding=4), transforms.RandomHorizontalFlip(), transforms.ToTensor()])';
const PLAIN = 'transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))])';

test('DT010: a train=False dataset built with the training transform is a warning naming the augmentations; fix uses test_transform', () => {
  const code = `${TV}train_transform = ${AUG}\ntest_transform = ${PLAIN}\ntrain_set = datasets.CIFAR10("data", train=True, download=True, transform=train_transform)\ntest_set = datasets.CIFAR10("data", train=False, download=True, transform=train_transform)\n`;
  const f = lint(code);
  assert.deepEqual(f.map((x) => `${x.rule}:${x.severity}:${x.range.start.line}`), ['DT010:warning:8']);
  assert.equal(
    f[0]!.message,
    'test_set is built with train_transform, which holds random augmentations (RandomCrop, RandomHorizontalFlip): its scores change from run to run and understate the model. Use a transform without them.',
  );
  const fixed = fix(code, 'DT010');
  assert.match(fixed, /test_set = datasets\.CIFAR10\("data", train=False, download=True, transform=test_transform\)/);
  assert.match(fixed, /train_set = datasets\.CIFAR10\("data", train=True, download=True, transform=train_transform\)/);
  assert.deepEqual(lint(fixed), [], 'the fixed text is clean');
  // no name at all: train=False says it
  const bare = `${TV}train_transform = ${AUG}\nloader = DataLoader(datasets.CIFAR10("data", train=False, transform=train_transform), batch_size=256)\n`;
  assert.match(lint(bare, { select: ['DT010'] })[0]!.message, /^CIFAR10\(train=False\) is built with train_transform/);
});

test('DT010: val_set = ImageFolder(val_dir, transform=train_tf) is reported by its name; fix uses val_tf', () => {
  const code = `${HEADER}from torchvision import transforms\nfrom torchvision.datasets import ImageFolder\ntrain_tf = transforms.Compose([transforms.RandomResizedCrop(224), transforms.ColorJitter(0.4, 0.4, 0.4), transforms.ToTensor()])\nval_tf = transforms.Compose([transforms.Resize(256), transforms.CenterCrop(224), transforms.ToTensor()])\ntrain_set = ImageFolder(train_dir, transform=train_tf)\nval_set = ImageFolder(val_dir, transform=train_tf)\n`;
  const f = lint(code);
  assert.deepEqual(f.map((x) => `${x.rule}:${x.severity}`), ['DT010:warning']);
  assert.match(f[0]!.message, /^val_set is built with train_tf, which holds random augmentations \(RandomResizedCrop, ColorJitter\)/);
  const fixed = fix(code, 'DT010');
  assert.match(fixed, /val_set = ImageFolder\(val_dir, transform=val_tf\)/);
  assert.deepEqual(lint(fixed), []);
  // any dataset class with a transform= keyword, assigned to a held-out name
  assert.deepEqual(ids(`${TV}aug = ${AUG}\ntest_ds = ImageDataset(test_files, transform=aug)\n`, 'DT010'), ['DT010']);
  assert.deepEqual(ids(`${TV}aug = ${AUG}\nself.valid_dataset = FolderDataset(root, transform=aug)\n`, 'DT010'), ['DT010']);
});

test('DT010: split="test" and image_set="val" keywords make a dataset held out', () => {
  const code = `${TV}aug = ${AUG}\nsvhn = datasets.SVHN("data", split="test", download=True, transform=aug)\n`;
  const f = lint(code);
  assert.deepEqual(f.map((x) => `${x.rule}:${x.severity}`), ['DT010:warning']);
  assert.match(f[0]!.message, /^svhn is built with aug, which holds random augmentations \(RandomCrop, RandomHorizontalFlip\)/);
  assert.equal(f[0]!.fixes, undefined, 'no evaluation transform in the file: no fix');
  assert.match(lint(`${TV}aug = ${AUG}\nloader = DataLoader(datasets.STL10("data", split='test', transform=aug))\n`, { select: ['DT010'] })[0]!.message, /^STL10\(split='test'\) is built/);
  assert.deepEqual(ids(`${TV}aug = ${AUG}\nvoc = datasets.VOCSegmentation("data", image_set="val", transform=aug)\n`, 'DT010'), ['DT010']);
});

test('DT010: transforms.v2 pipelines; fix uses eval_transforms', () => {
  const code = `${HEADER}from torchvision import datasets\nfrom torchvision.transforms import v2\ntrain_tf = v2.Compose([v2.RandomResizedCrop(224), v2.RandomHorizontalFlip(), v2.TrivialAugmentWide(), v2.RandomErasing(), v2.ToImage(), v2.ToDtype(torch.float32, scale=True)])\neval_transforms = v2.Compose([v2.Resize(256), v2.CenterCrop(224), v2.ToImage(), v2.ToDtype(torch.float32, scale=True)])\nval_ds = datasets.ImageNet("data", split="val", transform=train_tf)\n`;
  const f = lint(code);
  assert.deepEqual(f.map((x) => `${x.rule}:${x.severity}`), ['DT010:warning']);
  assert.match(f[0]!.message, /random augmentations \(RandomResizedCrop, RandomHorizontalFlip, TrivialAugmentWide\):/, 'at most three named');
  const fixed = fix(code, 'DT010');
  assert.match(fixed, /val_ds = datasets\.ImageNet\("data", split="val", transform=eval_transforms\)/);
  assert.deepEqual(lint(fixed), []);
});

test('DT010: through an alias, a dict of transforms, and an inline pipeline', () => {
  const alias = `${TV}train_tf = ${AUG}\ntf = train_tf\ntest_set = datasets.CIFAR10("data", train=False, transform=tf)\n`;
  assert.deepEqual(ids(alias, 'DT010'), ['DT010']);
  const dict = `${TV}data_transforms = {"train": ${AUG}, "val": ${PLAIN}}\nval_set = datasets.ImageFolder("data/val", transform=data_transforms["train"])\n`;
  const f = lint(dict, { select: ['DT010'] });
  assert.match(f[0]!.message, /^val_set is built with data_transforms\["train"\], which holds/);
  assert.deepEqual(ids(`${TV}val_set = datasets.ImageFolder("data/val", transform=data_transforms["val"])\ndata_transforms = {"train": ${AUG}, "val": ${PLAIN}}\n`, 'DT010'), []);
  const inline = `${TV}test_set = datasets.CIFAR10("data", train=False, transform=${AUG})\n`;
  assert.match(lint(inline, { select: ['DT010'] })[0]!.message, /^test_set is built with a transform, which holds random augmentations \(RandomCrop, RandomHorizontalFlip\)/);
});

test('DT010: no fix when the file has two candidate evaluation transforms (or an augmenting one under that name)', () => {
  const two = `${TV}train_tf = ${AUG}\nval_tf = ${PLAIN}\ntest_tf = transforms.Compose([transforms.Resize(32), transforms.ToTensor()])\ntest_set = datasets.CIFAR10("data", train=False, transform=train_tf)\n`;
  const f = lint(two, { select: ['DT010'] });
  assert.deepEqual(f.map((x) => x.rule), ['DT010']);
  assert.equal(f[0]!.fixes, undefined);
  const augmentingTest = `${TV}train_tf = ${AUG}\ntest_tf = transforms.Compose([transforms.RandomRotation(10), transforms.ToTensor()])\ntest_set = datasets.CIFAR10("data", train=False, transform=train_tf)\n`;
  assert.equal(lint(augmentingTest, { select: ['DT010'] })[0]!.fixes, undefined);
  const later = `${TV}train_tf = ${AUG}\ntest_set = datasets.CIFAR10("data", train=False, transform=train_tf)\ntest_tf = ${PLAIN}\n`;
  assert.equal(lint(later, { select: ['DT010'] })[0]!.fixes, undefined, 'the evaluation transform is bound after the call');
});

test('DT010: look-alikes: training data, deterministic transforms, rebinding, TTA, parameters, train=True: fine', () => {
  // the training dataset built with the augmenting transform
  assert.deepEqual(ids(`${TV}train_transform = ${AUG}\ntrain_set = datasets.CIFAR10("data", train=True, transform=train_transform)\ntrainset = datasets.ImageFolder("d", transform=train_transform)\n`, 'DT010'), []);
  // a held-out dataset with a deterministic transform
  const det = 'transforms.Compose([transforms.Resize(256), transforms.CenterCrop(224), transforms.ToTensor(), transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])';
  assert.deepEqual(ids(`${TV}test_tf = ${det}\ntest_set = datasets.CIFAR10("data", train=False, transform=test_tf)\nval_set = datasets.ImageFolder("v", transform=${det})\n`, 'DT010'), []);
  // the transform variable is rebound to a deterministic pipeline before the call
  assert.deepEqual(ids(`${TV}tf = ${AUG}\ntrain_set = datasets.CIFAR10("data", train=True, transform=tf)\ntf = ${PLAIN}\ntest_set = datasets.CIFAR10("data", train=False, transform=tf)\n`, 'DT010'), []);
  // explicit test-time augmentation
  assert.deepEqual(ids(`${TV}tta_transform = ${AUG}\ntest_set = datasets.CIFAR10("data", train=False, transform=tta_transform)\ntest_set_tta = datasets.ImageFolder("t", transform=train_tf)\ntrain_tf = ${AUG}\n`, 'DT010'), []);
  // a transform that is a parameter of a function
  assert.deepEqual(ids(`${TV}transform = ${AUG}\ndef make_test_set(root, transform):\n    test_set = datasets.CIFAR10(root, train=False, transform=transform)\n    return test_set\n`, 'DT010'), []);
  // train=True and split="train", whatever the name says
  assert.deepEqual(ids(`${TV}aug = ${AUG}\nval_set = datasets.CIFAR10("data", train=True, transform=aug)\ntest_ds = datasets.SVHN("data", split="train", transform=aug)\n`, 'DT010'), []);
  // a transform picked per branch, or by a condition
  assert.deepEqual(ids(`${TV}def build(train):\n    if not train:\n        tf = ${PLAIN}\n    else:\n        tf = ${AUG}\n    test_set = datasets.CIFAR10("data", train=False, transform=tf)\n    return test_set\n`, 'DT010'), []);
  assert.deepEqual(ids(`${TV}def build(train):\n    tf = ${AUG} if train else ${PLAIN}\n    return datasets.CIFAR10("data", train=False, transform=tf)\n`, 'DT010'), []);
  // neither name nor flag says held out; unknown transforms
  assert.deepEqual(ids(`${TV}aug = ${AUG}\nds = datasets.ImageFolder("d", transform=aug)\ntest_set = datasets.CIFAR10("data", train=False, transform=get_transform(False))\n`, 'DT010'), []);
});
