// Import aliases and qualified-name resolution: `nn.CrossEntropyLoss` -> `torch.nn.CrossEntropyLoss`.
import type { PyNode } from '../parser';

/**
 * Names that snippets use without importing them (a notebook cell, a pasted fragment). They resolve to these
 * modules only when the file binds the name nowhere else.
 */
const CONVENTIONAL: Record<string, string> = {
  torch: 'torch',
  nn: 'torch.nn',
  F: 'torch.nn.functional',
  optim: 'torch.optim',
  tf: 'tensorflow',
  keras: 'keras',
  np: 'numpy',
  DataLoader: 'torch.utils.data.DataLoader',
};

/** The names a snippet may use unimported (a local rule's cached findings depend on whether the file rebinds them). */
export const CONVENTIONAL_NAMES: readonly string[] = Object.keys(CONVENTIONAL);

/** The module a conventional name stands for (`F` -> `torch.nn.functional`). */
export function conventionalModule(name: string): string {
  return CONVENTIONAL[name]!;
}

/** Spellings of the same module; resolution maps them to one name so rules list each API once. */
const CANONICAL: [string, string][] = [
  ['tensorflow.keras.', 'keras.'],
  ['tf_keras.', 'keras.'],
  ['torch.nn.modules.loss.', 'torch.nn.'],
  ['torch.nn.modules.activation.', 'torch.nn.'],
  ['torch.nn.modules.linear.', 'torch.nn.'],
  ['torch.nn.modules.conv.', 'torch.nn.'],
  ['torch.nn.modules.batchnorm.', 'torch.nn.'],
  ['torch.nn.modules.container.', 'torch.nn.'],
  ['torch.utils.data.dataloader.', 'torch.utils.data.'],
];

const words = (s: string): ReadonlySet<string> => new Set(s.split(/\s+/).filter(Boolean));
const KERAS_LAYERS = words(`
  Dense Conv1D Conv2D Conv3D Conv1DTranspose Conv2DTranspose Conv3DTranspose SeparableConv1D SeparableConv2D
  DepthwiseConv2D Convolution1D Convolution2D Convolution3D MaxPooling1D MaxPooling2D MaxPooling3D AveragePooling1D
  AveragePooling2D AveragePooling3D MaxPool1D MaxPool2D MaxPool3D AvgPool1D AvgPool2D AvgPool3D UpSampling1D
  UpSampling2D UpSampling3D ZeroPadding1D ZeroPadding2D ZeroPadding3D Cropping1D Cropping2D Cropping3D Flatten
  GlobalAveragePooling1D GlobalAveragePooling2D GlobalAveragePooling3D GlobalMaxPooling1D GlobalMaxPooling2D
  GlobalMaxPooling3D GlobalAvgPool1D GlobalAvgPool2D GlobalMaxPool1D GlobalMaxPool2D Reshape Permute RepeatVector
  TimeDistributed Lambda Dropout SpatialDropout1D SpatialDropout2D SpatialDropout3D GaussianNoise GaussianDropout
  AlphaDropout BatchNormalization LayerNormalization Activation Softmax ReLU LeakyReLU PReLU ELU ThresholdedReLU
  Input InputLayer LSTM GRU SimpleRNN Bidirectional ConvLSTM2D CuDNNLSTM CuDNNGRU RNN Embedding Concatenate Add
  Multiply Average Maximum Subtract Dot Masking Rescaling Normalization MultiHeadAttention Attention Layer`);
/**
 * What the rules look up in modules that snippets star-import (`from keras.layers import *`): with several star
 * imports, a name resolves to the module that exports it. Python builtins that `from torch import *` shadows (`max`,
 * `sum`) are left out on purpose: most code that calls them means the builtin.
 */
const STAR_EXPORTS: Record<string, ReadonlySet<string>> = {
  keras: words('Sequential Model Input layers models optimizers losses activations callbacks metrics backend utils datasets preprocessing'),
  'keras.layers': KERAS_LAYERS,
  'keras.models': words('Sequential Model load_model clone_model model_from_json'),
  'keras.optimizers': words('SGD Adam AdamW RMSprop Adagrad Adadelta Adamax Nadam Ftrl Optimizer'),
  'keras.losses': words(`
    BinaryCrossentropy CategoricalCrossentropy SparseCategoricalCrossentropy BinaryFocalCrossentropy MeanSquaredError
    MeanAbsoluteError MeanSquaredLogarithmicError MeanAbsolutePercentageError Huber KLDivergence Hinge SquaredHinge
    CategoricalHinge LogCosh Poisson CosineSimilarity binary_crossentropy categorical_crossentropy
    sparse_categorical_crossentropy mean_squared_error mean_absolute_error mean_squared_logarithmic_error
    mean_absolute_percentage_error mse mae msle mape huber kl_divergence hinge squared_hinge poisson`),
  'keras.activations': words('softmax sigmoid relu tanh elu selu softplus softsign swish gelu exponential hard_sigmoid linear log_softmax'),
  torch: words(`
    Tensor FloatTensor LongTensor IntTensor DoubleTensor tensor as_tensor from_numpy zeros ones empty rand randn randint
    randperm arange no_grad enable_grad inference_mode set_grad_enabled save load manual_seed softmax log_softmax
    sigmoid tanh relu argmax argmin argsort topk cat stack squeeze unsqueeze flatten matmul mm bmm einsum clamp where
    exp log sqrt mean std device use_deterministic_algorithms compile autocast`),
  'torch.nn': words(`
    Module Sequential ModuleList ModuleDict Parameter Linear Bilinear LazyLinear Identity Conv1d Conv2d Conv3d
    ConvTranspose1d ConvTranspose2d ConvTranspose3d LazyConv1d LazyConv2d LazyConv3d MaxPool1d MaxPool2d MaxPool3d
    AvgPool1d AvgPool2d AvgPool3d AdaptiveAvgPool1d AdaptiveAvgPool2d AdaptiveMaxPool2d Flatten Unflatten Dropout
    Dropout1d Dropout2d Dropout3d AlphaDropout BatchNorm1d BatchNorm2d BatchNorm3d LayerNorm GroupNorm InstanceNorm1d
    InstanceNorm2d Embedding EmbeddingBag RNN LSTM GRU RNNCell LSTMCell GRUCell MultiheadAttention Transformer
    TransformerEncoder TransformerEncoderLayer TransformerDecoder TransformerDecoderLayer ReLU ReLU6 LeakyReLU PReLU
    ELU SELU GELU SiLU Mish Tanh Sigmoid Softmax Softmax2d LogSoftmax Softmin Softplus Hardtanh Upsample PixelShuffle
    CrossEntropyLoss NLLLoss BCELoss BCEWithLogitsLoss MSELoss L1Loss SmoothL1Loss HuberLoss KLDivLoss CTCLoss
    MarginRankingLoss HingeEmbeddingLoss CosineEmbeddingLoss TripletMarginLoss PoissonNLLLoss GaussianNLLLoss
    MultiLabelSoftMarginLoss MultiMarginLoss DataParallel functional init utils`),
  'torch.nn.functional': words(`
    softmax log_softmax softmin sigmoid tanh relu relu6 leaky_relu elu selu gelu silu dropout dropout2d cross_entropy
    nll_loss binary_cross_entropy binary_cross_entropy_with_logits mse_loss l1_loss smooth_l1_loss huber_loss kl_div
    one_hot interpolate upsample linear conv1d conv2d max_pool2d avg_pool2d adaptive_avg_pool2d pad normalize`),
  'torch.optim': words('Optimizer SGD Adam AdamW RMSprop Adagrad Adadelta Adamax NAdam RAdam LBFGS SparseAdam lr_scheduler swa_utils'),
  'torch.optim.lr_scheduler': words(`
    StepLR MultiStepLR ExponentialLR CosineAnnealingLR CosineAnnealingWarmRestarts ReduceLROnPlateau OneCycleLR CyclicLR
    LambdaLR MultiplicativeLR LinearLR ConstantLR PolynomialLR SequentialLR ChainedScheduler`),
  'torch.utils.data': words(`
    DataLoader Dataset IterableDataset TensorDataset Subset ConcatDataset random_split Sampler RandomSampler
    SequentialSampler SubsetRandomSampler WeightedRandomSampler BatchSampler DistributedSampler get_worker_info`),
};

/** The table a star-imported module's names are looked up in (`tensorflow.keras.layers.core` -> keras.layers's). */
function starTable(module: string): ReadonlySet<string> | undefined {
  const m = canonical(`${module}.`).slice(0, -1);
  return STAR_EXPORTS[m] ?? (m.startsWith('keras.layers.') ? KERAS_LAYERS : undefined);
}

export function canonical(qname: string): string {
  if (qname.charCodeAt(0) !== 116 /* t: every spelling above starts with it */) return qname;
  for (const [from, to] of CANONICAL) if (qname.startsWith(from)) return to + qname.slice(from.length);
  return qname;
}

export class Imports {
  /** local name -> qualified name it stands for */
  readonly aliases = new Map<string, string>();
  /** Modules star-imported (`from keras.layers import *`), in file order; '' for a relative one. */
  readonly wildcards: string[] = [];

  constructor(importNodes: readonly PyNode[], private readonly boundElsewhere: (name: string) => boolean) {
    for (const n of importNodes) this.add(n);
  }

  private add(n: PyNode): void {
    if (n.type === 'import_statement') {
      for (const c of n.childrenOf('name')) {
        if (c.type === 'aliased_import') {
          const mod = c.child('name')?.text;
          const alias = c.child('alias')?.text;
          if (mod && alias) this.aliases.set(alias, mod);
        } else if (c.type === 'dotted_name') {
          const head = c.text.split('.')[0]!;
          this.aliases.set(head, head);
        }
      }
    } else if (n.type === 'import_from_statement') {
      const modNode = n.child('module_name');
      const star = n.children.some((c) => c.type === 'wildcard_import');
      if (star && modNode) this.wildcards.push(modNode.type === 'relative_import' ? '' : modNode.text.replace(/\s+/g, ''));
      if (!modNode || modNode.type === 'relative_import') return;
      const mod = modNode.text.replace(/\s+/g, '');
      for (const c of n.childrenOf('name')) {
        if (c.type === 'aliased_import') {
          const name = c.child('name')?.text;
          const alias = c.child('alias')?.text;
          if (name && alias) this.aliases.set(alias, `${mod}.${name}`);
        } else if (c.type === 'dotted_name') {
          this.aliases.set(c.text, `${mod}.${c.text}`);
        }
      }
    }
  }

  /**
   * The star-imported module a name the file never binds comes from: the last one whose table lists it. A module
   * without a table (`from utils import *`) resolves nothing: no rule knows its names, and an unknown qualified name
   * would read as "a library call" where no name reads as "maybe the user's model".
   */
  private starModule(name: string): string | undefined {
    const stars = this.wildcards;
    for (let i = stars.length - 1; i >= 0; i--) if (starTable(stars[i]!)?.has(name)) return `${stars[i]}.${name}`;
    return undefined;
  }

  /** The names the star imports may resolve (their modules' tables): a cached finding depends on whether the file binds them. */
  starNames(): string[] {
    return this.wildcards.flatMap((m) => [...(starTable(m) ?? [])]);
  }

  /** The local name that stands for a module (`torch` -> 'torch' or 'T'), for quick fixes that insert code. */
  localName(module: string): string | undefined {
    for (const [local, q] of this.aliases) if (q === module) return local;
    return undefined;
  }

  /** Qualified name of a dotted expression (identifier or attribute chain), or undefined when not imported. */
  resolve(node: PyNode | undefined): string | undefined {
    if (!node) return undefined;
    // The head name first: most dotted expressions (`loss.backward`, `x.view`) start with a local variable, and
    // those return before any string is built.
    let n: PyNode | undefined = node;
    while (n && n.type === 'attribute') n = n.child('object');
    if (!n || n.type !== 'identifier') return undefined;
    const head = n.text;
    let base = this.aliases.get(head);
    if (base === undefined && !this.boundElsewhere(head)) base = CONVENTIONAL[head] ?? this.starModule(head);
    if (base === undefined) return undefined;
    const parts: string[] = [];
    for (n = node; n.type === 'attribute'; n = n.child('object')!) {
      const attr = n.child('attribute');
      if (!attr) return undefined;
      parts.unshift(attr.text);
    }
    return canonical([base, ...parts].join('.'));
  }
}
