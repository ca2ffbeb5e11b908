// The choices of "Descent: New Model Project": what a generated project does, which combinations make sense, the
// defaults that suit each choice, and one sentence explaining each (the generated README uses them).
// Pure TypeScript (no vscode): the VS Code flow, the headless CLI and the tests share it.

export const TASKS = ['image-classification', 'tabular-classification', 'regression', 'sequence-classification', 'autoencoding'] as const;
export type Task = (typeof TASKS)[number];

export const SKLEARN_DATASETS = ['digits', 'iris', 'wine', 'breast_cancer', 'diabetes'] as const;
export type SklearnDataset = (typeof SKLEARN_DATASETS)[number];

export const TORCHVISION_DATASETS = ['MNIST', 'FashionMNIST', 'CIFAR10'] as const;
export type TorchvisionDataset = (typeof TORCHVISION_DATASETS)[number];

/** Where the data comes from. Paths are written into config.json as given (relative to the project folder). */
export type DataSource =
  | { kind: 'sklearn'; name: SklearnDataset }
  | { kind: 'csv'; path: string; target: string; testPath?: string }
  | { kind: 'npz'; path: string; testPath?: string }
  | { kind: 'image-folder'; path: string; imageSize: number; testPath?: string }
  | { kind: 'torchvision'; name: TorchvisionDataset; root: string };
export type DataKind = DataSource['kind'];
export const DATA_KINDS: readonly DataKind[] = ['sklearn', 'csv', 'npz', 'image-folder', 'torchvision'];

export const ARCHITECTURES = ['logistic', 'mlp', 'cnn', 'resnet', 'rnn', 'lstm', 'gru', 'transformer', 'autoencoder', 'vae', 'transfer'] as const;
export type Architecture = (typeof ARCHITECTURES)[number];

export const LOSSES = ['cross-entropy', 'bce-with-logits', 'mse', 'l1', 'huber', 'elbo'] as const;
export type Loss = (typeof LOSSES)[number];

export const OPTIMIZERS = ['sgd', 'sgd-momentum', 'rmsprop', 'adam', 'adamw', 'adagrad', 'adadelta'] as const;
export type Optimizer = (typeof OPTIMIZERS)[number];

export const METRICS = ['accuracy', 'precision', 'recall', 'f1', 'mae', 'rmse'] as const;
export type Metric = (typeof METRICS)[number];

export const DEVICES = ['auto', 'cpu', 'cuda', 'mps'] as const;
export type Device = (typeof DEVICES)[number];

export interface Regularization {
  /** Dropout probability, 0 for none. */
  dropout: number;
  batchNorm: boolean;
  /** L2 penalty through the optimizer's weight_decay. */
  weightDecay: number;
  /** Coefficient of an L1 penalty on the weights added to the loss, 0 for none. */
  l1: number;
  /** Epochs without improvement of the validation loss before stopping, 0 to never stop early. */
  patience: number;
  /** Random flips and shifts of training images (image data only). */
  augmentation: boolean;
}

export interface ScaffoldOptions {
  /** Project name: a folder-friendly word, used in titles and the ONNX file name. */
  name: string;
  task: Task;
  data: DataSource;
  architecture: Architecture;
  /** Transfer learning only: train only the new head (true) or fine-tune the whole network (false). */
  freezeBackbone: boolean;
  /** Transfer learning only: start from ImageNet weights (downloaded by torchvision) or from random weights. */
  pretrained: boolean;
  /** Width of hidden layers (MLP, RNN hidden state, transformer model size, autoencoder). */
  hiddenSize: number;
  /** Size of the autoencoder's / VAE's code. */
  latentSize: number;
  loss: Loss;
  optimizer: Optimizer;
  lr: number;
  regularization: Regularization;
  metrics: Metric[];
  epochs: number;
  batchSize: number;
  seed: number;
  device: Device;
  /** Fraction of the training data held out for validation. */
  valFraction: number;
}

// ---- what goes with what ----

const CLASSIFICATION: readonly Task[] = ['image-classification', 'tabular-classification', 'sequence-classification'];

export function isClassification(task: Task): boolean {
  return CLASSIFICATION.includes(task);
}

/** Architectures offered for a task, the default first. */
export function architecturesFor(task: Task): Architecture[] {
  switch (task) {
    case 'image-classification':
      return ['cnn', 'resnet', 'transfer', 'mlp', 'logistic'];
    case 'tabular-classification':
      return ['mlp', 'logistic'];
    case 'regression':
      return ['mlp', 'logistic'];
    case 'sequence-classification':
      return ['lstm', 'gru', 'rnn', 'transformer'];
    case 'autoencoding':
      return ['autoencoder', 'vae'];
  }
}

/** Data sources offered for a task, the default first. */
export function dataKindsFor(task: Task): DataKind[] {
  switch (task) {
    case 'image-classification':
      return ['sklearn', 'image-folder', 'torchvision', 'npz'];
    case 'tabular-classification':
      return ['sklearn', 'csv', 'npz'];
    case 'regression':
      return ['sklearn', 'csv', 'npz'];
    case 'sequence-classification':
      return ['sklearn', 'npz', 'torchvision'];
    case 'autoencoding':
      return ['sklearn', 'image-folder', 'torchvision', 'npz', 'csv'];
  }
}

/** scikit-learn datasets offered for a task (images and sequences need the 8x8 digits), the default first. */
export function sklearnDatasetsFor(task: Task): SklearnDataset[] {
  switch (task) {
    case 'image-classification':
    case 'sequence-classification':
      return ['digits'];
    case 'tabular-classification':
      return ['digits', 'iris', 'wine', 'breast_cancer'];
    case 'regression':
      return ['diabetes'];
    case 'autoencoding':
      return ['digits', 'iris', 'wine', 'breast_cancer', 'diabetes'];
  }
}

/** torchvision datasets offered for a task (sequences read MNIST-like images row by row). */
export function torchvisionDatasetsFor(task: Task): TorchvisionDataset[] {
  return task === 'sequence-classification' ? ['MNIST', 'FashionMNIST'] : ['MNIST', 'FashionMNIST', 'CIFAR10'];
}

/** Losses that fit a task and architecture, the default first. */
export function lossesFor(task: Task, architecture: Architecture): Loss[] {
  if (architecture === 'vae') return ['elbo'];
  if (task === 'regression') return ['mse', 'l1', 'huber'];
  if (task === 'autoencoding') return ['mse', 'bce-with-logits', 'l1', 'huber'];
  return ['cross-entropy', 'bce-with-logits'];
}

/** Metrics that fit a task (the loss is always logged), the defaults first. */
export function metricsFor(task: Task): Metric[] {
  if (isClassification(task)) return ['accuracy', 'precision', 'recall', 'f1'];
  if (task === 'regression') return ['mae', 'rmse'];
  return [];
}

export function defaultMetrics(task: Task): Metric[] {
  if (isClassification(task)) return ['accuracy', 'f1'];
  if (task === 'regression') return ['mae', 'rmse'];
  return [];
}

/** A learning rate that works for each optimizer out of the box. */
export function defaultLearningRate(optimizer: Optimizer): number {
  switch (optimizer) {
    case 'sgd':
      return 0.05;
    case 'sgd-momentum':
      return 0.01;
    case 'rmsprop':
      return 1e-3;
    case 'adam':
      return 1e-3;
    case 'adamw':
      return 1e-3;
    case 'adagrad':
      return 0.01;
    case 'adadelta':
      return 1.0;
  }
}

/** Usable learning rates per optimizer (the linter's HP001 bounds: adaptive methods diverge from 0.1 up). */
function learningRateRange(optimizer: Optimizer): [low: number, high: number] {
  switch (optimizer) {
    case 'adam':
    case 'adamw':
    case 'rmsprop':
      return [1e-7, 0.1];
    case 'adadelta':
      return [1e-3, 10];
    default:
      return [1e-7, 1];
  }
}

export function defaultData(task: Task, kind: DataKind = dataKindsFor(task)[0]!): DataSource {
  switch (kind) {
    case 'sklearn':
      return { kind, name: sklearnDatasetsFor(task)[0]! };
    case 'csv':
      return { kind, path: 'data/train.csv', target: 'target' };
    case 'npz':
      return { kind, path: 'data/train.npz' };
    case 'image-folder':
      return { kind, path: 'data/images', imageSize: 32 };
    case 'torchvision':
      return { kind, name: torchvisionDatasetsFor(task)[0]!, root: 'data' };
  }
}

function defaultDropout(architecture: Architecture): number {
  switch (architecture) {
    case 'logistic':
    case 'autoencoder':
    case 'vae':
      return 0;
    case 'cnn':
    case 'resnet':
    case 'transfer':
      return 0.25;
    default:
      return 0.1;
  }
}

function defaultEpochs(task: Task, architecture: Architecture): number {
  if (architecture === 'transfer') return 5;
  if (task === 'image-classification' || task === 'sequence-classification') return 15;
  return 30;
}

/**
 * Defaults for a task, so "Enter, Enter, Enter" gives a project that trains offline: tabular classification on
 * scikit-learn's digits with an MLP and Adam. Any field of `overrides` replaces the default; fields that depend on
 * the architecture, optimizer or task (loss, lr, metrics, dropout, batch norm, augmentation) follow the override
 * unless given too.
 */
export function defaultOptions(task: Task = 'tabular-classification', overrides: Partial<ScaffoldOptions> = {}): ScaffoldOptions {
  const architecture = overrides.architecture ?? architecturesFor(task)[0]!;
  const optimizer = overrides.optimizer ?? 'adam';
  const data = overrides.data ?? defaultData(task);
  const isImage = data.kind === 'image-folder' || data.kind === 'torchvision';
  const regularization: Regularization = {
    dropout: defaultDropout(architecture),
    batchNorm: architecture === 'cnn' || architecture === 'resnet' || architecture === 'mlp',
    weightDecay: optimizer === 'adamw' ? 0.01 : 0,
    l1: 0,
    patience: 5,
    augmentation: task === 'image-classification' && isImage,
    ...overrides.regularization,
  };
  return {
    name: overrides.name ?? 'my-model',
    task,
    data,
    architecture,
    freezeBackbone: overrides.freezeBackbone ?? true,
    pretrained: overrides.pretrained ?? true,
    hiddenSize: overrides.hiddenSize ?? (architecture === 'transformer' ? 64 : 128),
    latentSize: overrides.latentSize ?? 16,
    loss: overrides.loss ?? lossesFor(task, architecture)[0]!,
    optimizer,
    lr: overrides.lr ?? defaultLearningRate(optimizer),
    regularization,
    metrics: overrides.metrics ?? defaultMetrics(task),
    epochs: overrides.epochs ?? defaultEpochs(task, architecture),
    batchSize: overrides.batchSize ?? (architecture === 'transfer' ? 32 : 64),
    seed: overrides.seed ?? 42,
    device: overrides.device ?? 'auto',
    valFraction: overrides.valFraction ?? 0.2,
  };
}

// ---- validation ----

export interface OptionProblem {
  /** The option at fault, as a dotted path: "loss", "data.target", "regularization.dropout". */
  field: string;
  message: string;
}

const NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;

function oneOf<T extends string>(values: readonly T[], value: unknown): value is T {
  return typeof value === 'string' && (values as readonly string[]).includes(value);
}

function isSafeRelativePath(path: unknown): path is string {
  return typeof path === 'string' && path.trim() !== '' && !/[\0\n\r"\\]/.test(path);
}

/** Every problem with a set of options (empty when it can be generated). Never throws, whatever the input. */
export function validateOptions(input: unknown): OptionProblem[] {
  const problems: OptionProblem[] = [];
  const add = (field: string, message: string) => problems.push({ field, message });
  if (typeof input !== 'object' || input === null) return [{ field: '', message: 'Options must be an object.' }];
  const o = input as Partial<ScaffoldOptions>;

  if (typeof o.name !== 'string' || !NAME_PATTERN.test(o.name)) {
    add('name', 'The project name must start with a letter and use only letters, digits, "-" and "_" (64 at most).');
  }
  if (!oneOf(TASKS, o.task)) {
    add('task', `Unknown task ${JSON.stringify(o.task)}; choose one of ${TASKS.join(', ')}.`);
    return problems;
  }
  const task = o.task;

  const data = o.data as Partial<DataSource> | undefined;
  if (!data || typeof data !== 'object' || !oneOf(DATA_KINDS, data.kind)) {
    add('data.kind', `Unknown data source; choose one of ${DATA_KINDS.join(', ')}.`);
  } else if (!dataKindsFor(task).includes(data.kind)) {
    add('data.kind', `${dataKindLabel(data.kind)} does not fit ${taskLabel(task)}; choose one of: ${dataKindsFor(task).map(dataKindLabel).join(', ')}.`);
  } else {
    const d = data as DataSource;
    if (d.kind === 'sklearn' && !sklearnDatasetsFor(task).includes(d.name)) {
      add('data.name', `scikit-learn's ${String(d.name)} does not fit ${taskLabel(task)}; choose one of: ${sklearnDatasetsFor(task).join(', ')}.`);
    }
    if (d.kind === 'torchvision' && !torchvisionDatasetsFor(task).includes(d.name)) {
      add('data.name', `torchvision's ${String(d.name)} does not fit ${taskLabel(task)}; choose one of: ${torchvisionDatasetsFor(task).join(', ')}.`);
    }
    if ((d.kind === 'csv' || d.kind === 'npz' || d.kind === 'image-folder') && !isSafeRelativePath(d.path)) {
      add('data.path', 'Give the path of the data (a file, or the folder with one sub-folder per class).');
    }
    if ((d.kind === 'csv' || d.kind === 'npz' || d.kind === 'image-folder') && d.testPath !== undefined && !isSafeRelativePath(d.testPath)) {
      add('data.testPath', 'The test data path must be a non-empty path without quotes or backslashes, or absent.');
    }
    if (d.kind === 'torchvision' && !isSafeRelativePath(d.root)) add('data.root', 'Give the folder torchvision downloads the dataset into.');
    if (d.kind === 'csv' && task !== 'autoencoding' && (typeof d.target !== 'string' || d.target.trim() === '' || /["\\\n]/.test(d.target))) {
      add('data.target', 'Name the CSV column that holds the target.');
    }
    if (d.kind === 'image-folder' && !(Number.isInteger(d.imageSize) && d.imageSize >= 8 && d.imageSize <= 512)) {
      add('data.imageSize', 'Images are resized to a square side between 8 and 512 pixels.');
    }
  }

  if (!oneOf(ARCHITECTURES, o.architecture)) {
    add('architecture', `Unknown architecture ${JSON.stringify(o.architecture)}.`);
  } else {
    if (!architecturesFor(task).includes(o.architecture)) {
      add('architecture', `${architectureLabel(o.architecture)} does not fit ${taskLabel(task)}; choose one of: ${architecturesFor(task).map(architectureLabel).join(', ')}.`);
    }
    if (oneOf(LOSSES, o.loss) && !lossesFor(task, o.architecture).includes(o.loss)) {
      add('loss', `${lossLabel(o.loss)} does not fit ${architectureLabel(o.architecture)} for ${taskLabel(task)}; choose one of: ${lossesFor(task, o.architecture).map(lossLabel).join(', ')}.`);
    }
    if (o.architecture === 'transfer' && data?.kind !== 'image-folder' && data?.kind !== 'torchvision') {
      add('data.kind', 'Transfer learning from a torchvision ResNet needs real images: an image folder or a torchvision dataset.');
    }
  }
  if (!oneOf(LOSSES, o.loss)) add('loss', `Unknown loss ${JSON.stringify(o.loss)}.`);
  if (!oneOf(OPTIMIZERS, o.optimizer)) {
    add('optimizer', `Unknown optimizer ${JSON.stringify(o.optimizer)}.`);
  } else if (typeof o.lr !== 'number' || !Number.isFinite(o.lr) || o.lr <= 0) {
    add('lr', 'The learning rate must be a positive number.');
  } else {
    const [low, high] = learningRateRange(o.optimizer);
    if (o.lr < low || o.lr >= high) {
      add('lr', `A learning rate of ${o.lr} will not train with ${optimizerLabel(o.optimizer)} (usable: from ${low} to below ${high}; the default is ${defaultLearningRate(o.optimizer)}).`);
    }
  }
  if (typeof o.freezeBackbone !== 'boolean') add('freezeBackbone', 'freezeBackbone must be true or false.');
  if (typeof o.pretrained !== 'boolean') add('pretrained', 'pretrained must be true or false.');
  const intIn = (field: string, value: unknown, min: number, max: number) => {
    if (!(typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max)) add(field, `${field} must be a whole number from ${min} to ${max}.`);
  };
  intIn('hiddenSize', o.hiddenSize, 2, 4096);
  intIn('latentSize', o.latentSize, 1, 1024);
  intIn('epochs', o.epochs, 1, 100000);
  intIn('batchSize', o.batchSize, 1, 65536);
  intIn('seed', o.seed, 0, 2 ** 31 - 1);
  if (o.architecture === 'transformer' && typeof o.hiddenSize === 'number' && o.hiddenSize % 4 !== 0) {
    add('hiddenSize', 'The transformer splits its model size over 4 attention heads: use a multiple of 4.');
  }
  if (!oneOf(DEVICES, o.device)) add('device', `device must be one of ${DEVICES.join(', ')}.`);
  if (!(typeof o.valFraction === 'number' && o.valFraction > 0 && o.valFraction < 0.9)) {
    add('valFraction', 'The validation fraction must be above 0 and below 0.9.');
  }

  const r = o.regularization;
  if (!r || typeof r !== 'object') {
    add('regularization', 'regularization must be an object.');
  } else {
    if (!(typeof r.dropout === 'number' && r.dropout >= 0 && r.dropout < 1)) add('regularization.dropout', 'Dropout is a probability from 0 to below 1.');
    if (typeof r.batchNorm !== 'boolean') add('regularization.batchNorm', 'batchNorm must be true or false.');
    if (!(typeof r.weightDecay === 'number' && r.weightDecay >= 0 && r.weightDecay < 1)) add('regularization.weightDecay', 'Weight decay is from 0 to below 1 (typical: 1e-4 to 0.05).');
    if (!(typeof r.l1 === 'number' && r.l1 >= 0 && r.l1 < 1)) add('regularization.l1', 'The L1 coefficient is from 0 to below 1 (typical: 1e-5).');
    intIn('regularization.patience', r.patience, 0, 100000);
    if (typeof r.augmentation !== 'boolean') {
      add('regularization.augmentation', 'augmentation must be true or false.');
    } else if (r.augmentation && !(task === 'image-classification' && (data?.kind === 'image-folder' || data?.kind === 'torchvision'))) {
      add('regularization.augmentation', 'Augmentation (random flips and shifts) is for image classification on an image folder or a torchvision dataset.');
    }
    if (r.dropout > 0 && o.architecture === 'logistic') add('regularization.dropout', 'Logistic regression has no hidden layer to drop out: set dropout to 0.');
  }
  if (!Array.isArray(o.metrics) || !o.metrics.every((m) => oneOf(METRICS, m))) {
    add('metrics', `metrics must be a list of: ${METRICS.join(', ')}.`);
  } else {
    const bad = o.metrics.filter((m) => !metricsFor(task).includes(m));
    if (bad.length) add('metrics', `${bad.join(', ')} ${bad.length === 1 ? 'does' : 'do'} not apply to ${taskLabel(task)}${metricsFor(task).length ? `; choose from: ${metricsFor(task).join(', ')}` : ' (the loss is logged)'}.`);
  }
  return problems;
}

/** Throws an Error listing every problem, or returns the options typed. */
export function assertValidOptions(input: unknown): ScaffoldOptions {
  const problems = validateOptions(input);
  if (problems.length) throw new Error(`Invalid project options:\n${problems.map((p) => `- ${p.field}: ${p.message}`).join('\n')}`);
  return input as ScaffoldOptions;
}

// ---- labels and explanations ----

export function taskLabel(task: Task): string {
  return {
    'image-classification': 'image classification',
    'tabular-classification': 'tabular classification',
    regression: 'regression',
    'sequence-classification': 'sequence classification',
    autoencoding: 'autoencoding / generation',
  }[task];
}

export function dataKindLabel(kind: DataKind): string {
  return { sklearn: "a scikit-learn bundled dataset", csv: 'a CSV file', npz: 'NPZ/NPY arrays', 'image-folder': 'an image folder', torchvision: 'a torchvision dataset' }[kind];
}

export function architectureLabel(a: Architecture): string {
  return {
    logistic: 'logistic regression / perceptron',
    mlp: 'MLP',
    cnn: 'CNN',
    resnet: 'ResNet-style CNN',
    rnn: 'RNN',
    lstm: 'LSTM',
    gru: 'GRU',
    transformer: 'transformer encoder',
    autoencoder: 'autoencoder',
    vae: 'variational autoencoder',
    transfer: 'transfer learning from ResNet-18',
  }[a];
}

export function lossLabel(l: Loss): string {
  return { 'cross-entropy': 'cross-entropy', 'bce-with-logits': 'BCE with logits', mse: 'MSE', l1: 'MAE (L1)', huber: 'Huber', elbo: 'ELBO' }[l];
}

export function optimizerLabel(o: Optimizer): string {
  return { sgd: 'SGD', 'sgd-momentum': 'SGD with momentum', rmsprop: 'RMSprop', adam: 'Adam', adamw: 'AdamW', adagrad: 'Adagrad', adadelta: 'Adadelta' }[o];
}

export interface Explanation {
  /** What was chosen, e.g. "Optimizer: Adam, lr 0.001". */
  choice: string;
  /** One sentence: what it does and why it suits this project. */
  why: string;
}

function dataExplanation(d: DataSource, task: Task): string {
  switch (d.kind) {
    case 'sklearn': {
      const what = {
        digits: '1,797 handwritten digits as 8x8 grey images, 10 classes',
        iris: '150 iris flowers described by 4 measurements, 3 species',
        wine: '178 wines described by 13 chemical measurements, 3 cultivars',
        breast_cancer: '569 tumours described by 30 measurements, benign or malignant',
        diabetes: '442 patients described by 10 measurements, with a disease-progression score to predict',
      }[d.name];
      const shape = task === 'sequence-classification' ? ' read row by row as sequences of 8 steps' : task === 'image-classification' ? ' kept as 1x8x8 images' : '';
      return `scikit-learn ships ${d.name} (${what})${shape} inside the package, so the project trains offline at once.`;
    }
    case 'csv':
      return `Rows of ${d.path} are examples; the column "${d.target}" is the target and every other (numeric) column is a feature, standardised with the training split's mean and spread.`;
    case 'npz':
      return `${d.path} holds the arrays x (inputs) and y (targets) — an .npz file, or x.npy with y.npy beside it.`;
    case 'image-folder':
      return `${d.path} has one sub-folder per class with its images (in further sub-folders too); they are resized to ${d.imageSize}x${d.imageSize} and scaled to [0, 1].`;
    case 'torchvision':
      return `torchvision downloads ${d.name} into ${d.root}/ on the first run and uses its official test split as the test set.`;
  }
}

function architectureExplanation(o: ScaffoldOptions): string {
  switch (o.architecture) {
    case 'logistic':
      return o.task === 'regression'
        ? 'One linear layer (linear regression): the simplest baseline; anything deeper has to beat it.'
        : 'One linear layer whose outputs are class scores (logistic regression, a perceptron with a smooth loss): the baseline every deeper model should beat.';
    case 'mlp':
      return `Two fully connected hidden layers of ${o.hiddenSize} units with ReLU: learns non-linear combinations of the input features.`;
    case 'cnn':
      return 'Two convolution blocks (convolution, ReLU, max pooling) learn local patterns such as edges and strokes, shared across positions, then a linear layer classifies.';
    case 'resnet':
      return 'Residual blocks add their input to their output (skip connections), so gradients flow straight through and deeper networks still train.';
    case 'rnn':
      return `A recurrent network reads the sequence one step at a time and keeps a hidden state of ${o.hiddenSize} units; its last state is classified.`;
    case 'lstm':
      return `An LSTM reads the sequence step by step; its gates decide what to keep in a memory cell of ${o.hiddenSize} units, so it remembers further back than a plain RNN.`;
    case 'gru':
      return `A GRU reads the sequence step by step with two gates (lighter than an LSTM's three) and a hidden state of ${o.hiddenSize} units.`;
    case 'transformer':
      return `A transformer encoder lets every step attend to every other step (self-attention, 4 heads, model size ${o.hiddenSize}) with learned position embeddings; the mean over steps is classified.`;
    case 'autoencoder':
      return `An encoder squeezes each input into a code of ${o.latentSize} numbers and a decoder rebuilds the input from it, so the code must keep what matters.`;
    case 'vae':
      return `A variational autoencoder encodes each input as a Gaussian over a ${o.latentSize}-dimensional code and decodes samples from it, so new inputs can be generated by decoding random codes.`;
    case 'transfer':
      return `A ResNet-18 from torchvision${o.pretrained ? ' pretrained on ImageNet' : ' (random weights)'} gets a new final layer for your classes; ${o.freezeBackbone ? 'its other layers are frozen, so only the new layer learns (fast, good with little data)' : 'every layer is fine-tuned (slower, better when you have more data)'}.`;
  }
}

function lossExplanation(o: ScaffoldOptions): string {
  switch (o.loss) {
    case 'cross-entropy':
      return 'Cross-entropy on the raw scores (logits) — PyTorch applies log-softmax inside, so the model must not end with a softmax.';
    case 'bce-with-logits':
      return o.task === 'autoencoding'
        ? 'Binary cross-entropy on logits treats each input value in [0, 1] as a probability to reconstruct; the sigmoid is applied inside the loss for numerical stability.'
        : 'Binary cross-entropy on logits scores each class as its own yes/no question (one-hot targets); the sigmoid is applied inside the loss for numerical stability.';
    case 'mse':
      return 'Mean squared error punishes large errors most; the standard loss for real-valued targets.';
    case 'l1':
      return 'Mean absolute error (L1) punishes all errors in proportion, so outliers pull the model less than with MSE.';
    case 'huber':
      return 'Huber loss is quadratic for small errors and linear for large ones: the smoothness of MSE with the robustness of MAE.';
    case 'elbo':
      return 'The negative ELBO: how badly each input is reconstructed plus the KL divergence that keeps the codes close to a standard Gaussian.';
  }
}

function optimizerExplanation(o: Optimizer): string {
  switch (o) {
    case 'sgd':
      return 'Plain stochastic gradient descent: each step moves the weights against the gradient of one mini-batch.';
    case 'sgd-momentum':
      return 'SGD with momentum 0.9 keeps a running average of past gradients, which speeds it along consistent directions and damps zig-zags.';
    case 'rmsprop':
      return 'RMSprop divides each step by a running average of recent squared gradients, so every weight gets a step size that suits it.';
    case 'adam':
      return 'Adam combines momentum with per-weight step sizes; it works well with little tuning, which makes it the usual default.';
    case 'adamw':
      return 'AdamW is Adam with weight decay applied directly to the weights (decoupled), which regularises better than an L2 term in the loss.';
    case 'adagrad':
      return 'Adagrad gives each weight a step size that shrinks with the sum of its past squared gradients, suiting sparse features.';
    case 'adadelta':
      return 'Adadelta adapts step sizes from running averages of gradients and updates, so its learning rate of 1.0 is a scale, not a step size.';
  }
}

/** One sentence per choice, in the order the README lists them. */
export function explainChoices(o: ScaffoldOptions): Explanation[] {
  const r = o.regularization;
  const isImage = o.data.kind === 'image-folder' || o.data.kind === 'torchvision';
  const out: Explanation[] = [
    {
      choice: `Task: ${taskLabel(o.task)}`,
      why: {
        'image-classification': 'The model reads an image and answers which class it shows.',
        'tabular-classification': 'The model reads a row of numeric features and answers which class it belongs to.',
        regression: 'The model reads a row of numeric features and predicts a number; the target is standardised for training and errors are reported in its own units.',
        'sequence-classification': 'The model reads a sequence of feature vectors, one step at a time or all at once, and answers which class it belongs to.',
        autoencoding: 'The model learns to rebuild its input through a small code, with no labels needed; the code compresses the data, and a VAE can generate new examples.',
      }[o.task],
    },
    { choice: `Data: ${dataKindLabel(o.data.kind)}`, why: dataExplanation(o.data, o.task) },
    {
      choice: `Splits: ${Math.round(o.valFraction * 100)}% of the training data for validation`,
      why: 'Validation data is never trained on: it picks the best epoch and triggers early stopping, and the test set (when there is one) is used once, at the end.',
    },
    { choice: `Architecture: ${architectureLabel(o.architecture)}`, why: architectureExplanation(o) },
    { choice: `Loss: ${lossLabel(o.loss)}`, why: lossExplanation(o) },
    { choice: `Optimizer: ${optimizerLabel(o.optimizer)}, learning rate ${o.lr}`, why: optimizerExplanation(o.optimizer) },
  ];
  if (r.dropout > 0) out.push({ choice: `Dropout: p = ${r.dropout}`, why: `During training each hidden unit is zeroed with probability ${r.dropout}, so the network cannot rely on any single unit; model.eval() turns it off.` });
  if (r.batchNorm && ['mlp', 'cnn', 'resnet'].includes(o.architecture)) {
    out.push({ choice: 'Batch normalisation', why: 'Each layer\'s outputs are normalised over the batch, which steadies and speeds up training; in eval mode it uses running averages instead.' });
  }
  if (r.weightDecay > 0) out.push({ choice: `Weight decay: ${r.weightDecay}`, why: 'Every step shrinks the weights a little (L2 regularisation), favouring simpler models that generalise better.' });
  if (r.l1 > 0) out.push({ choice: `L1 penalty: ${r.l1}`, why: 'The sum of absolute weights is added to the loss, pushing unneeded weights to exactly zero.' });
  if (r.patience > 0) out.push({ choice: `Early stopping: patience ${r.patience}`, why: `Training stops when the validation loss has not improved for ${r.patience} epochs, and the best model so far is kept.` });
  if (r.augmentation && isImage) out.push({ choice: 'Data augmentation', why: 'Training images are randomly flipped and shifted each epoch, so the model sees more variety and overfits less.' });
  if (o.metrics.length) {
    const names: Record<Metric, string> = {
      accuracy: 'accuracy (share of correct answers)',
      precision: 'precision (of the examples predicted as a class, the share that are)',
      recall: 'recall (of the examples of a class, the share found)',
      f1: 'F1 (the harmonic mean of precision and recall)',
      mae: 'MAE (mean absolute error)',
      rmse: 'RMSE (root mean squared error)',
    };
    const averaged = o.metrics.some((m) => m === 'precision' || m === 'recall' || m === 'f1') ? '; precision, recall and F1 are averaged over classes (macro)' : '';
    out.push({ choice: `Metrics: ${o.metrics.join(', ')}`, why: `Logged for each split every epoch: ${o.metrics.map((m) => names[m]).join(', ')}${averaged}.` });
  }
  if (isClassification(o.task)) out.push({ choice: 'Confusion matrix', why: 'Each epoch the validation confusion matrix (rows: true class, columns: predicted) shows which classes are mistaken for which.' });
  out.push(
    { choice: `Epochs: ${o.epochs}, batch size: ${o.batchSize}`, why: 'An epoch is one pass over the training data, in shuffled mini-batches of this size; each batch makes one optimizer step.' },
    { choice: `Seed: ${o.seed}`, why: 'Python, NumPy and PyTorch are seeded, so the split, the initial weights and the batch order are the same on every run.' },
    {
      choice: `Device: ${o.device}`,
      why: o.device === 'auto' ? 'Uses a CUDA GPU when there is one, else Apple\'s MPS, else the CPU.' : `Runs on ${o.device}; pass --device auto to pick the best available.`,
    },
  );
  return out;
}
