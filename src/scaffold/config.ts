// config.json of a generated project: the settings train.py reads, each with a command-line override.
// Only settings the generated code reads are written (no dead options).
import type { ScaffoldOptions } from './options';

export type ConfigValue = string | number | boolean;

export interface ConfigEntry {
  key: string;
  value: ConfigValue;
  /** Python type of the --flag; bool flags take true/false. */
  type: 'int' | 'float' | 'str' | 'bool';
  help: string;
}

export function usesHiddenSize(o: ScaffoldOptions): boolean {
  return !['logistic', 'cnn', 'resnet', 'transfer'].includes(o.architecture);
}

export function usesDropout(o: ScaffoldOptions): boolean {
  return o.regularization.dropout > 0 && o.architecture !== 'logistic' && o.architecture !== 'autoencoder' && o.architecture !== 'vae';
}

export function usesBatchNorm(o: ScaffoldOptions): boolean {
  return o.regularization.batchNorm && (o.architecture === 'mlp' || o.architecture === 'cnn' || o.architecture === 'resnet');
}

export function usesAugmentation(o: ScaffoldOptions): boolean {
  return o.regularization.augmentation && o.task === 'image-classification' && (o.data.kind === 'image-folder' || o.data.kind === 'torchvision');
}

export function configEntries(o: ScaffoldOptions): ConfigEntry[] {
  const e: ConfigEntry[] = [];
  const add = (key: string, value: ConfigValue, type: ConfigEntry['type'], help: string) => e.push({ key, value, type, help });
  const d = o.data;
  if (d.kind === 'csv' || d.kind === 'npz' || d.kind === 'image-folder') {
    add('data_path', d.path, 'str', d.kind === 'image-folder' ? 'folder with one sub-folder of images per class' : d.kind === 'csv' ? 'CSV file of training examples' : '.npz file with arrays x and y (or x.npy beside y.npy)');
    if (d.testPath !== undefined) add('test_path', d.testPath, 'str', 'test data in the same form, used once at the end');
  }
  if (d.kind === 'csv' && o.task !== 'autoencoding') add('target', d.target, 'str', 'name of the target column');
  if (d.kind === 'image-folder') add('image_size', d.imageSize, 'int', 'images are resized to this many pixels square');
  if (d.kind === 'torchvision') add('data_root', d.root, 'str', 'folder the dataset is downloaded into');
  add('val_fraction', o.valFraction, 'float', 'share of the training data held out for validation');
  add('num_workers', d.kind === 'image-folder' || d.kind === 'torchvision' ? 2 : 0, 'int', 'processes that load batches (0: in the main process)');
  if (usesHiddenSize(o)) add('hidden_size', o.hiddenSize, 'int', o.architecture === 'transformer' ? 'model size of the transformer (a multiple of 4)' : 'units in each hidden layer');
  if (o.architecture === 'autoencoder' || o.architecture === 'vae') add('latent_size', o.latentSize, 'int', 'size of the code');
  if (usesDropout(o)) add('dropout', o.regularization.dropout, 'float', 'dropout probability');
  if (o.architecture === 'transfer') {
    add('pretrained', o.pretrained, 'bool', 'start from ImageNet weights (downloaded on first use)');
    add('freeze_backbone', o.freezeBackbone, 'bool', 'train only the new final layer');
  }
  add('epochs', o.epochs, 'int', 'passes over the training data');
  add('batch_size', o.batchSize, 'int', 'examples per optimizer step');
  add('lr', o.lr, 'float', 'learning rate');
  if (o.optimizer === 'sgd-momentum') add('momentum', 0.9, 'float', 'SGD momentum');
  add('weight_decay', o.regularization.weightDecay, 'float', 'L2 regularisation through the optimizer');
  if (o.regularization.l1 > 0) add('l1', o.regularization.l1, 'float', 'coefficient of the L1 penalty on the weights');
  add('patience', o.regularization.patience, 'int', 'epochs without a better validation loss before stopping (0: never stop early)');
  add('seed', o.seed, 'int', 'random seed');
  add('device', o.device, 'str', 'auto, cpu, cuda, cuda:1 or mps');
  add('log_every', 10, 'int', 'log the training loss every this many steps');
  add('checkpoint_dir', 'checkpoints', 'str', 'where best.pt and last.pt are saved');
  add('trajectory_checkpoints', true, 'bool', 'also save the weights after every epoch (epoch_NNN.pt), the training path of loss-landscape plots');
  add('onnx_path', `${o.name}.onnx`, 'str', 'where the best model is exported as ONNX');
  return e;
}

export function renderConfig(o: ScaffoldOptions): string {
  const doc: Record<string, ConfigValue> = {};
  for (const entry of configEntries(o)) doc[entry.key] = entry.value;
  return JSON.stringify(doc, null, 4) + '\n';
}
