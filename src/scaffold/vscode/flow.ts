// The pure parts of the "New Model Project" flow (no vscode): the choices each step offers, names, folders,
// input validation and the command's argument. newProject.ts puts them on screen.
import { basename, extname, isAbsolute, join, relative, sep } from 'node:path';
import {
  architectureLabel,
  architecturesFor,
  dataKindsFor,
  defaultData,
  defaultOptions,
  explainChoices,
  lossesFor,
  lossLabel,
  OPTIMIZERS,
  optimizerLabel,
  sklearnDatasetsFor,
  TASKS,
  taskLabel,
  torchvisionDatasetsFor,
  validateOptions,
  type Architecture,
  type DataKind,
  type DataSource,
  type Loss,
  type Optimizer,
  type Regularization,
  type ScaffoldOptions,
  type SklearnDataset,
  type Task,
  type TorchvisionDataset,
} from '../options';

export interface Choice<T> {
  label: string;
  description?: string;
  detail?: string;
  value: T;
}

const TASK_DETAILS: Record<Task, string> = {
  'image-classification': 'Which class is in the image (digits, cats vs dogs, …)',
  'tabular-classification': 'Which class a row of measurements belongs to',
  regression: 'Predict a number from a row of measurements',
  'sequence-classification': 'Classify a sequence of steps (RNN, LSTM, GRU, transformer)',
  autoencoding: 'Compress and reconstruct the input (autoencoder, VAE)',
};

/** Tasks, the default (tabular classification on digits: trains offline in seconds) first. */
export function taskChoices(): Choice<Task>[] {
  const order: Task[] = ['tabular-classification', ...TASKS.filter((t) => t !== 'tabular-classification')];
  return order.map((t) => ({ label: capitalise(taskLabel(t)), detail: TASK_DETAILS[t], value: t }));
}

/** What the data step picks: a bundled dataset at once, or a kind that asks for a path next. */
export type DataChoice = { kind: 'sklearn'; name: string } | { kind: 'torchvision'; name: string } | { kind: 'csv' | 'npz' | 'image-folder' };

const SKLEARN_DETAILS: Record<string, string> = {
  digits: '1,797 handwritten 8x8 digits, 10 classes',
  iris: '150 flowers, 4 measurements, 3 species',
  wine: '178 wines, 13 measurements, 3 cultivars',
  breast_cancer: '569 tumours, 30 measurements, benign or malignant',
  diabetes: '442 patients, 10 measurements, a progression score',
};

/** Data sources for a task: scikit-learn's bundled datasets first (offline, instant), then files, then downloads. */
export function dataChoices(task: Task): Choice<DataChoice>[] {
  const out: Choice<DataChoice>[] = [];
  const kinds = dataKindsFor(task);
  if (kinds.includes('sklearn')) {
    for (const name of sklearnDatasetsFor(task)) {
      out.push({ label: `$(package) scikit-learn: ${name}`, description: 'bundled, offline', detail: SKLEARN_DETAILS[name], value: { kind: 'sklearn', name } });
    }
  }
  const files: [DataKind, string, string][] = [
    ['image-folder', '$(folder) Image folder…', 'One sub-folder of images per class'],
    ['csv', '$(table) CSV file…', 'One row per example, a target column'],
    ['npz', '$(file-binary) NPZ / NPY arrays…', 'x and y arrays in an .npz, or x.npy with y.npy beside it'],
  ];
  for (const [kind, label, detail] of files) {
    if (kinds.includes(kind)) out.push({ label, detail, value: { kind: kind as 'csv' | 'npz' | 'image-folder' } });
  }
  if (kinds.includes('torchvision')) {
    for (const name of torchvisionDatasetsFor(task)) {
      out.push({ label: `$(cloud-download) torchvision: ${name}`, description: 'downloaded on the first run', value: { kind: 'torchvision', name } });
    }
  }
  return out;
}

/** The data source of a bundled or downloaded dataset choice; undefined for the kinds that ask for a path. */
export function dataFromChoice(task: Task, choice: DataChoice): DataSource | undefined {
  if (choice.kind === 'sklearn') return { kind: 'sklearn', name: choice.name as SklearnDataset };
  if (choice.kind === 'torchvision') return { ...defaultData(task, 'torchvision'), name: choice.name as TorchvisionDataset } as DataSource;
  return undefined;
}

/** Architectures for a task; with the data known, those it cannot feed are left out (transfer learning needs real images). */
export function architectureChoices(task: Task, data?: DataSource): Choice<Architecture>[] {
  const realImages = data === undefined || data.kind === 'image-folder' || data.kind === 'torchvision';
  return architecturesFor(task).filter((a) => a !== 'transfer' || realImages).map((a, i) => ({ label: capitalise(architectureLabel(a)), description: i === 0 ? 'default' : undefined, value: a }));
}

export function lossChoices(task: Task, architecture: Architecture): Choice<Loss>[] {
  return lossesFor(task, architecture).map((l, i) => ({ label: lossLabel(l), description: i === 0 ? 'default' : undefined, value: l }));
}

/** Optimizers with their default learning rates, Adam (the default) first. */
export function optimizerChoices(o: ScaffoldOptions): Choice<Optimizer>[] {
  const order: Optimizer[] = ['adam', ...OPTIMIZERS.filter((x) => x !== 'adam')];
  return order.map((x) => {
    const lr = defaultOptions(o.task, { ...o, optimizer: x, lr: undefined, regularization: undefined }).lr;
    return { label: optimizerLabel(x), description: `lr ${lr}${x === 'adam' ? ' · default' : ''}`, value: x };
  });
}

export interface RegularizerChoice {
  id: keyof Regularization;
  label: string;
  detail: string;
}

/** Regularizers that change the generated code for these options (none that would be dead options). */
export function regularizerChoices(o: ScaffoldOptions): RegularizerChoice[] {
  const out: RegularizerChoice[] = [];
  if (o.architecture !== 'logistic' && o.architecture !== 'autoencoder' && o.architecture !== 'vae') {
    out.push({ id: 'dropout', label: 'Dropout', detail: `Randomly zeroes activations while training (p = ${o.regularization.dropout || 0.2})` });
  }
  if (o.architecture === 'mlp' || o.architecture === 'cnn' || o.architecture === 'resnet') {
    out.push({ id: 'batchNorm', label: 'Batch normalisation', detail: 'Normalises each layer\'s inputs over the batch: faster, steadier training' });
  }
  out.push({ id: 'weightDecay', label: 'Weight decay (L2)', detail: `Pulls weights towards zero through the optimizer (${o.regularization.weightDecay || 1e-4})` });
  out.push({ id: 'l1', label: 'L1 penalty', detail: `Adds ${o.regularization.l1 || 1e-5} x the sum of |weights| to the loss: sparse weights` });
  out.push({ id: 'patience', label: 'Early stopping', detail: `Stops after ${o.regularization.patience || 5} epochs without a better validation loss` });
  if (o.task === 'image-classification' && (o.data.kind === 'image-folder' || o.data.kind === 'torchvision')) {
    out.push({ id: 'augmentation', label: 'Data augmentation', detail: 'Random flips and shifts of the training images' });
  }
  return out;
}

export function regularizerOn(r: Regularization, id: keyof Regularization): boolean {
  const v = r[id];
  return typeof v === 'boolean' ? v : v > 0;
}

/** The regularization with exactly the `on` ids switched on; a switched-on numeric one keeps its value or gets a usual one. */
export function applyRegularizers(o: ScaffoldOptions, on: readonly (keyof Regularization)[]): Regularization {
  const r = o.regularization;
  const has = (id: keyof Regularization) => on.includes(id);
  const offered = new Set(regularizerChoices(o).map((c) => c.id));
  return {
    dropout: offered.has('dropout') && has('dropout') ? r.dropout || 0.2 : 0,
    batchNorm: offered.has('batchNorm') && has('batchNorm'),
    weightDecay: has('weightDecay') ? r.weightDecay || 1e-4 : 0,
    l1: has('l1') ? r.l1 || 1e-5 : 0,
    patience: has('patience') ? r.patience || 5 : 0,
    augmentation: offered.has('augmentation') && has('augmentation'),
  };
}

/** An error message for a learning-rate entry, or undefined when it can be used with the optimizer. */
export function learningRateProblem(o: ScaffoldOptions, text: string): string | undefined {
  const lr = Number(text.trim());
  if (text.trim() === '' || !Number.isFinite(lr)) return 'Type a number, e.g. 0.001 or 1e-3.';
  return validateOptions({ ...o, lr }).find((p) => p.field === 'lr')?.message;
}

/** An error message for a whole-number entry, or undefined. */
export function integerProblem(text: string, min: number, max: number): string | undefined {
  const n = Number(text.trim());
  if (!/^\d+$/.test(text.trim()) || n < min || n > max) return `Type a whole number from ${min} to ${max}.`;
  return undefined;
}

/** A folder-friendly project name from the choices: "digits-mlp", "train-mlp" for data/train.csv. */
export function projectName(o: ScaffoldOptions): string {
  const d = o.data;
  const source = d.kind === 'sklearn' || d.kind === 'torchvision' ? d.name : basename(d.path, extname(d.path));
  let name = `${source}-${o.architecture}`.toLowerCase().replace(/[^a-z0-9_-]+/g, '-').replace(/^[^a-z]+/, '');
  if (!name) name = `${o.architecture}-model`;
  return name.slice(0, 64).replace(/-+$/, '');
}

/** `parent/name`, or `name-2`, `name-3`… when the folder exists already. */
export function freeFolder(parent: string, name: string, exists: (path: string) => boolean): string {
  let candidate = join(parent, name);
  for (let i = 2; exists(candidate); i++) candidate = join(parent, `${name}-${i}`);
  return candidate;
}

/** The data path as config.json holds it: relative to the project folder, with "/" separators. */
export function dataPathFor(projectDir: string, path: string): string {
  if (!isAbsolute(path)) return path;
  const rel = relative(projectDir, path);
  return (rel === '' ? '.' : rel).split(sep).join('/');
}

/** Options with the data paths (absolute while the flow runs) made relative to the project folder. */
export function withDataRelativeTo(o: ScaffoldOptions, projectDir: string): ScaffoldOptions {
  const d = o.data;
  if (d.kind === 'sklearn' || d.kind === 'torchvision') return o;
  const data = { ...d, path: dataPathFor(projectDir, d.path) };
  if (d.testPath !== undefined) data.testPath = dataPathFor(projectDir, d.testPath);
  return { ...o, data };
}

/** The argument of `descent.newProject` for tests and automation: skips the pickers. */
export interface NewProjectArgument {
  /** Full options, or a spec: `task` plus the fields that differ from defaultOptions(task). */
  options?: unknown;
  /** The project folder (created; must not already hold any of the generated files). */
  folder?: string;
  /** Open train.py (default true). */
  open?: boolean;
}

export function isNewProjectArgument(arg: unknown): arg is NewProjectArgument {
  return typeof arg === 'object' && arg !== null && !('scheme' in arg) && ('options' in arg || 'folder' in arg);
}

/** Full options from a spec: the defaults of its task, overridden by its other fields (as the headless CLI reads it). */
export function optionsFromArgument(spec: unknown): ScaffoldOptions {
  const s = (spec && typeof spec === 'object' ? spec : {}) as Partial<ScaffoldOptions>;
  const task: Task = (TASKS as readonly string[]).includes(s.task as string) ? (s.task as Task) : 'tabular-classification';
  const base = defaultOptions(task, s);
  // Unknown fields and an unknown task stay, so validateOptions reports them; a partial regularization is completed.
  return { ...base, ...s, regularization: base.regularization } as ScaffoldOptions;
}

/** One line per choice, for the final summary. */
export function summary(o: ScaffoldOptions): string {
  return explainChoices(o).map((e) => e.choice).join(' · ');
}

/** The choices made so far; a step whose answer changes clears the later ones, so their defaults follow. */
export interface Answers {
  task?: Task;
  data?: DataSource;
  architecture?: Architecture;
  loss?: Loss;
  optimizer?: Optimizer;
  lr?: number;
  regularizers?: (keyof Regularization)[];
  epochs?: number;
  batchSize?: number;
}

export function optionsOf(a: Answers): ScaffoldOptions {
  const task = a.task ?? 'tabular-classification';
  const o = defaultOptions(task, {
    data: a.data,
    architecture: a.architecture,
    optimizer: a.optimizer,
    lr: a.lr,
    epochs: a.epochs,
    batchSize: a.batchSize,
  });
  if (a.loss && lossesFor(task, o.architecture).includes(a.loss)) o.loss = a.loss;
  if (a.regularizers) o.regularization = applyRegularizers(o, a.regularizers);
  o.name = projectName(o);
  return o;
}

const ORDER: (keyof Answers)[] = ['task', 'data', 'architecture', 'loss', 'optimizer', 'lr', 'regularizers', 'epochs', 'batchSize'];

export function setAnswer<K extends keyof Answers>(a: Answers, key: K, value: Answers[K]): void {
  if (JSON.stringify(a[key]) !== JSON.stringify(value)) {
    for (const later of ORDER.slice(ORDER.indexOf(key) + 1)) delete a[later];
  }
  a[key] = value;
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
