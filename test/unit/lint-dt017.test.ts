import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, fix, ids, lint, useParser } from './lint/helpers';

useParser();

const TV = `${HEADER}import numpy as np\nfrom PIL import Image\nfrom torchvision import datasets, transforms\nimport torchvision.transforms.functional as TF\nfrom torchvision.transforms import v2\n`;
const dt017 = (code: string) => ids(code, 'DT017');

test('DT017: a Lambda dividing by 255 after ToTensor() in a dataset transform; the fix removes the Lambda', () => {
  const code = `${TV}tf = transforms.Compose([transforms.ToTensor(), transforms.Lambda(lambda x: x / 255.)])\ntrain_set = datasets.MNIST("data", train=True, download=True, transform=tf)\n`;
  const f = lint(code);
  assert.deepEqual(f.map((x) => [x.rule, x.severity]), [['DT017', 'warning']]);
  assert.equal(
    f[0]!.message,
    'ToTensor() already scales pixels to [0, 1]; dividing by 255 again leaves inputs in [0, 0.004] and training crawls. Drop the / 255 (or use PILToTensor() if you want to scale yourself).',
  );
  const fixed = fix(code, 'DT017');
  assert.match(fixed, /tf = transforms\.Compose\(\[transforms\.ToTensor\(\)\]\)\n/);
  assert.deepEqual(lint(fixed), []);
});

test('DT017: Lambda spellings: / 255, .div(255), torch.div(x, 255), * (1/255); positional transform of CIFAR10', () => {
  for (const body of ['x / 255', 'x.div(255)', 'torch.div(x, 255)', 'x * (1/255)', 'x.float() / 255.0']) {
    const code = `${TV}tf = transforms.Compose([transforms.ToTensor(), transforms.Lambda(lambda x: ${body})])\nds = datasets.CIFAR10("data", True, tf)\n`;
    assert.deepEqual(dt017(code), ['DT017'], body);
  }
});

test('DT017: a PIL-only transform before ToTensor proves PIL input, whatever the dataset', () => {
  const code = `${TV}train_tf = transforms.Compose([\n    transforms.Resize((64, 64)),\n    transforms.RandomHorizontalFlip(),\n    transforms.ToTensor(),\n    transforms.Lambda(lambda img: img / 255.0),\n])\n`;
  assert.deepEqual(dt017(code), ['DT017']);
  const fixed = fix(code, 'DT017');
  assert.match(fixed, /transforms\.ToTensor\(\),\n\]\)/);
  assert.deepEqual(dt017(fixed), []);
});

test('DT017: v2 ToImage + ToDtype(scale=True) then / 255', () => {
  const code = `${TV}tf = v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True), v2.Lambda(lambda x: x / 255)])\nds = datasets.ImageFolder("train", transform=tf)\n`;
  const f = lint(code, { select: ['DT017'] });
  assert.equal(f.length, 1);
  assert.match(f[0]!.message, /^ToDtype\(\.\.\., scale=True\) already scales .* \(or set scale=False\)\.$/);
});

test('DT017: ToTensor()(img) / 255.0 on a PIL image; the fix keeps the left side', () => {
  const code = `${TV}img = Image.open("cat.jpg").convert("RGB")\nx = transforms.ToTensor()(img) / 255.0\n`;
  assert.deepEqual(dt017(code), ['DT017']);
  const fixed = fix(code, 'DT017');
  assert.match(fixed, /\nx = transforms\.ToTensor\(\)\(img\)\n$/);
  assert.deepEqual(dt017(fixed), []);
});

test('DT017: TF.to_tensor(img) / 255 and cv2.imread through to_tensor', () => {
  assert.deepEqual(dt017(`${TV}def load(p):\n    img = Image.open(p)\n    return TF.to_tensor(img) / 255\n`), ['DT017']);
  assert.deepEqual(dt017(`${TV}import cv2\nimg = cv2.cvtColor(cv2.imread("a.png"), cv2.COLOR_BGR2RGB)\nt = TF.to_tensor(img).unsqueeze(0) / 255.\n`), ['DT017']);
});

const DATASET = (getitem: string, tf = 'transforms.Compose([transforms.Resize(224), transforms.ToTensor()])') =>
  `${TV}class ImageDataset(torch.utils.data.Dataset):\n    def __init__(self, paths, labels, transform=None):\n        self.paths = paths\n        self.labels = labels\n        self.transform = transform\n        self.to_tensor = transforms.ToTensor()\n\n    def __len__(self):\n        return len(self.paths)\n\n    def __getitem__(self, idx):\n${getitem
    .split('\n')
    .map((l) => '        ' + l)
    .join('\n')}\n\ntrain_ds = ImageDataset(train_paths, train_labels, transform=${tf})\n`;

test('DT017: Dataset.__getitem__ dividing after self.transform (resolved through the constructor call)', () => {
  const code = DATASET('img = Image.open(self.paths[idx]).convert("RGB")\nif self.transform:\n    img = self.transform(img)\nimg = img / 255.\nreturn img, self.labels[idx]');
  assert.deepEqual(dt017(code), ['DT017']);
  const fixed = fix(code, 'DT017');
  assert.doesNotMatch(fixed, /255/);
  assert.deepEqual(dt017(fixed), []);
  assert.deepEqual(dt017(DATASET('img = Image.open(self.paths[idx])\nimg = self.transform(img).float() / 255\nreturn img, self.labels[idx]')), ['DT017']);
  assert.deepEqual(dt017(DATASET('img = Image.open(self.paths[idx])\nx = self.to_tensor(img) / 255\nreturn x, self.labels[idx]')), ['DT017']);
  assert.deepEqual(dt017(DATASET('img = Image.open(self.paths[idx])\nimg = self.transform(img)\nimg /= 255\nreturn img, self.labels[idx]')), ['DT017']);
  // a Lambda in the pipeline passed to the Dataset
  assert.deepEqual(
    dt017(DATASET('img = Image.open(self.paths[idx])\nreturn self.transform(img), self.labels[idx]', 'transforms.Compose([transforms.ToTensor(), transforms.Lambda(lambda t: t / 255.)])')),
    ['DT017'],
  );
});

test('DT017: silent when the division comes before ToTensor, or the tensor stays uint8', () => {
  // divided as a NumPy array, then ToTensor (float arrays are not rescaled)
  assert.deepEqual(dt017(`${TV}img = np.array(Image.open("a.png")) / 255.0\nx = transforms.ToTensor()(img)\n`), []);
  assert.deepEqual(dt017(`${TV}img = np.array(Image.open("a.png")).astype(np.float32)\nx = transforms.ToTensor()(img) / 255.0\n`), []);
  // PILToTensor / ToImage keep uint8: dividing is right
  assert.deepEqual(dt017(`${TV}tf = transforms.Compose([transforms.PILToTensor(), transforms.Lambda(lambda x: x.float() / 255)])\nds = datasets.MNIST("d", transform=tf)\n`), []);
  assert.deepEqual(dt017(`${TV}tf = v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32), v2.Lambda(lambda x: x / 255)])\nds = datasets.MNIST("d", transform=tf)\n`), []);
  assert.deepEqual(dt017(`${TV}tf = v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=False), v2.Lambda(lambda x: x / 255)])\nds = datasets.MNIST("d", transform=tf)\n`), []);
  assert.deepEqual(dt017(`${TV}x = transforms.PILToTensor()(Image.open("a.png")).float() / 255\n`), []);
});

test('DT017: silent on unknown inputs, masks and targets, and look-alikes', () => {
  // ToTensor first with an unknown input (maybe a float array): unknown
  assert.deepEqual(dt017(`${TV}tf = transforms.Compose([transforms.ToTensor(), transforms.Lambda(lambda x: x / 255.)])\n`), []);
  assert.deepEqual(dt017(`${TV}def prep(img):\n    return transforms.ToTensor()(img) / 255\n`), []);
  // masks
  assert.deepEqual(dt017(`${TV}mask = transforms.ToTensor()(Image.open("m.png")) / 255\n`), []);
  assert.deepEqual(
    dt017(`${TV}mask_tf = transforms.Compose([transforms.Resize(64), transforms.ToTensor(), transforms.Lambda(lambda m: m / 255)])\n`),
    [],
  );
  // Normalize in between, or a Lambda that multiplies back
  assert.deepEqual(dt017(`${TV}tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,)), transforms.Lambda(lambda x: x / 255)])\nds = datasets.MNIST("d", transform=tf)\n`), []);
  assert.deepEqual(dt017(`${TV}tf = transforms.Compose([transforms.ToTensor(), transforms.Lambda(lambda x: x * 255), transforms.Lambda(lambda x: x / 255)])\nds = datasets.MNIST("d", transform=tf)\n`), []);
  // a lambda parameter with the name of a scaled module-level value
  assert.deepEqual(dt017(`${TV}x = transforms.ToTensor()(Image.open("a.png"))\nf = lambda x: x / 255\nys = [x / 255 for x in batches]\n`), []);
  // rescaled in place in between
  assert.deepEqual(dt017(`${TV}x = transforms.ToTensor()(Image.open("a.png"))\nx *= 255\nx = x / 255\n`), []);
  // the transform is a parameter whose call sites pass a PILToTensor pipeline
  assert.deepEqual(
    dt017(DATASET('img = Image.open(self.paths[idx])\nimg = self.transform(img).float() / 255\nreturn img, self.labels[idx]', 'transforms.Compose([transforms.Resize(224), transforms.PILToTensor()])')),
    [],
  );
  // the dataset's transform is unknown (no call site)
  assert.deepEqual(dt017(DATASET('img = Image.open(self.paths[idx])\nimg = self.transform(img) / 255\nreturn img, self.labels[idx]').replace(/\ntrain_ds = .*\n$/, '\n')), []);
  // no ToTensor in the file at all
  assert.deepEqual(dt017(`${HEADER}x = torch.randint(0, 256, (4, 3, 8, 8)).float() / 255\n`), []);
});
