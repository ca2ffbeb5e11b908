import { calleeName, hasKeywordSplat, keywordArg, positionalArgs, receiver, type Analysis } from '../../analysis';
import { loadedDatasetClass } from '../../analysis/datasets';
import { kerasCallee, kerasModels } from '../../analysis/keras';
import { scopeOf } from '../../analysis/scopes';
import type { PyNode } from '../../parser';
import type { Rule, RuleContext } from '../../types';

/** Keras loaders that return uint8 images (0..255). */
const KERAS_IMAGES = /^keras\.datasets\.(mnist|fashion_mnist|cifar10|cifar100)\.load_data$/;
/** Keras image datasets a snippet may use without its import (`(x, y), _ = mnist.load_data()`). */
const SNIPPET_DATASETS = /^(mnist|fashion_mnist|cifar10|cifar100)$/;

/**
 * The Keras dataset loader a call is, as `keras.datasets.<name>.load_data`: imported, or in a snippet, a dataset
 * module name the file neither imports nor binds (and no star import could define).
 */
function kerasImages(a: Analysis, call: PyNode): string | undefined {
  const q = a.callee(call);
  if (q !== undefined) return KERAS_IMAGES.test(q) ? q : undefined;
  const recv = receiver(call);
  if (calleeName(call) !== 'load_data' || recv?.type !== 'identifier' || !SNIPPET_DATASETS.test(recv.text)) return undefined;
  if (a.imports.wildcards.length || a.scopes.isBoundAnywhere(recv.text) || a.qname(recv) !== undefined) return undefined;
  return `keras.datasets.${recv.text}.load_data`;
}

/** Calls that return uint8 images. */
const IMAGE_READERS = /^(cv2\.imread|torchvision\.io\.(read_image|decode_image|decode_jpeg|decode_png)|imageio\.(v\d\.)?imread|skimage\.io\.imread|tensorflow\.(io|image)\.decode_(jpeg|png|bmp|gif|image))$/;
/** Keras's `img_to_array`: a float32 array of the image's 0-255 values. */
const IMG_TO_ARRAY = /^(keras\.(preprocessing\.image|utils)|keras_preprocessing\.image|keras\.src\.utils\.image_utils)\.img_to_array$/;
/** Keras's `load_img`: a PIL image (0-255), read as pixels through `np.array(...)`. */
const LOAD_IMG = /^(keras\.(preprocessing\.image|utils)|keras_preprocessing\.image)\.load_img$/;
/** Keras model methods that run the model on inputs which must be scaled like the training inputs. */
const HELD_OUT_SINKS = /^(predict|predict_on_batch|predict_classes|predict_proba|evaluate)$/;
/** torchvision datasets whose `.data` holds uint8 images. */
const TV_DATASETS = /^torchvision\.datasets\.(MNIST|FashionMNIST|KMNIST|EMNIST|CIFAR10|CIFAR100)$/;
/** Operations that keep the values as they are (shape, dtype, device, container changes). */
const KEEPS = /^(reshape|astype|float|double|half|to|view|unsqueeze|squeeze|permute|transpose|from_numpy|tensor|as_tensor|Tensor|FloatTensor|expand_dims|array|asarray|cuda|contiguous|flatten|type|copy|clone|numpy|cpu|detach|flip|fliplr|flipud|rot90|ascontiguousarray|moveaxis|swapaxes|drop|to_numpy|cast|convert_to_tensor|constant|vstack|stack|concatenate)$/;
/** TensorFlow image operations that keep the 0-255 range (a resize returns float32 values of the same range). */
const TF_KEEPS = /^tensorflow\.image\.(resize|resize_with_pad|resize_with_crop_or_pad|central_crop|flip_left_right|flip_up_down|rot90)$/;
/** OpenCV operations that return an image of the same dtype and 0-255 range (first argument: the image). */
const CV2_KEEPS = /^cv2\.(resize|cvtColor|flip|rotate|copyMakeBorder|warpAffine|warpPerspective|GaussianBlur|medianBlur|blur|remap)$/;
/** CSV files of pixel values (digit-recognizer, (fashion-/sign-/k)mnist): integers 0-255. */
const PIXEL_CSV = /mnist|digit|pixel/i;
/** Signs that the file scales its values somewhere (a division by 255 or a max, a scaler): the CSV path stays silent. */
const SCALES_TEXT = /\/=?\s*\(?\s*(255|256|[\w.]+\.max\(|np\.max\()|MinMaxScaler|StandardScaler|RobustScaler|MaxAbsScaler|\bnormali[sz]e\(|[Rr]escal|\bscale\(|\.div_?\(|divide\(/;
/** A call of the Dataset's transform on a sample (`self.transform(img)`, `tfms(img)`). */
const TRANSFORM_CALL = /^(transforms?|tfms?|tf|trans|aug\w*)$/i;
const FLOAT_CALLS = /^(float|double|half)$/;
/** PIL.Image methods that return an image with the same 0-255 pixel range. */
const PIL_METHODS = /^(convert|resize|crop|rotate|transpose|copy)$/;

interface Raw {
  /** converted to a floating dtype on the way (torch then accepts it silently) */
  floated: boolean;
  /** converted to a floating NumPy dtype (`.astype(np.float32)`): ToTensor() then leaves the values as they are */
  npFloat?: boolean;
  /** went through the Dataset's transform (ToTensor) as a float array */
  viaToTensor?: boolean;
  /** a DataFrame's values, not known to be pixels until reshaped to 28x28 */
  pending?: boolean;
  /** a PIL image (`Image.open(...)`), pixels only once read as an array (`np.array(img)`) */
  pil?: boolean;
  /** where the raw images come from, for the message */
  origin: string;
}

function isFloatDtype(n: PyNode | undefined): boolean {
  return n !== undefined && /float|double|half/.test(n.text);
}

/** Raw names per scope (function, or null for the module), as the events of `check` have left them so far. */
type RawByScope = Map<PyNode | null, Map<string, Raw>>;

/** What `check` knows besides the names of one scope. */
interface State {
  byScope: RawByScope;
  /** raw `self.<attr>` values per class (set in one method, read in another) */
  selves: Map<PyNode, Map<string, Raw>>;
  /** pixel CSVs count as sources (the file reads a CSV and never scales anything) */
  csv: boolean;
  /** the only scaling in the file is ToTensor()/Normalize(small constants): float arrays pass through unscaled */
  toTensorOnly: boolean;
  /**
   * Where the file scales images for training: `ImageDataGenerator(rescale=1/255)`, or raw pixels divided by 255. The
   * arrays the model then predicts on or is evaluated on must be scaled the same way.
   */
  scaledAt?: PyNode;
  /** the file scales somewhere by its text: only the exact sink (Normalize of [0, 1] statistics) is read */
  normalizeOnly?: boolean;
}

const PIL_IMAGE: Raw = { floated: false, pil: true, origin: 'Image.open(...) (uint8 pixels)' };

/** torchvision transforms that return an image of the same kind and 0-255 range (a PIL image stays a PIL image). */
const PIXEL_KEEPING_NAMES = ['Resize', 'CenterCrop', 'RandomCrop', 'RandomResizedCrop', 'RandomHorizontalFlip', 'RandomVerticalFlip', 'RandomRotation', 'RandomAffine', 'RandomPerspective', 'Pad', 'ColorJitter', 'GaussianBlur'];
const PIXEL_KEEPING_TRANSFORMS = new RegExp(`^torchvision\\.transforms\\.(${PIXEL_KEEPING_NAMES.join('|')})$`);

/** The object a callee names: `self.tf` (its one assignment in the class), a local name's value, or the expression. */
function calledObject(fn: PyNode | undefined, a: Analysis): PyNode | undefined {
  if (fn?.type === 'attribute' && fn.child('object')?.text === 'self') {
    const cls = fn.ancestor('class_definition');
    const values = cls ? a.scopes.selfAttr(cls, fn.child('attribute')?.text ?? '') : [];
    return values.length === 1 ? values[0] : undefined;
  }
  if (fn?.type === 'identifier') return a.scopes.valueAt(fn.text, fn) ?? undefined;
  return fn;
}

const pixelTransformFiles = new WeakMap<Analysis, boolean>();

/** `self.jitter(img)` with `self.jitter = transforms.ColorJitter(...)` (or a Compose of such): the pixels are kept. */
function keepsPixels(call: PyNode, a: Analysis): boolean {
  // cheap first: the file builds such a transform at all
  let any = pixelTransformFiles.get(a);
  if (any === undefined) pixelTransformFiles.set(a, (any = PIXEL_KEEPING_NAMES.some((n) => a.callsNamed(n).length > 0)));
  if (!any) return false;
  const obj = calledObject(call.child('function'), a);
  if (obj?.type !== 'call' || positionalArgs(call).length !== 1) return false;
  const q = a.callee(obj);
  if (q === 'torchvision.transforms.Compose') {
    const steps = positionalArgs(obj)[0];
    return steps?.type === 'list' && steps.namedChildren.length > 0 && steps.namedChildren.every((t) => t.type === 'call' && PIXEL_KEEPING_TRANSFORMS.test(a.callee(t) ?? ''));
  }
  return q !== undefined && PIXEL_KEEPING_TRANSFORMS.test(q);
}

/**
 * `self.norm(x)` with `self.norm = transforms.Normalize(mean, std)` of [0, 1] statistics (ImageNet's): the Normalize
 * call, when it is one. Such statistics assume inputs already divided by 255.
 */
function unitNormalize(call: PyNode, a: Analysis): PyNode | undefined {
  const obj = calledObject(call.child('function'), a);
  if (obj?.type !== 'call' || a.callee(obj) !== 'torchvision.transforms.Normalize' || hasKeywordSplat(obj)) return undefined;
  const numbers = (obj.child('arguments')?.text ?? '').match(/\d*\.?\d+(e-?\d+)?/g) ?? [];
  return numbers.length > 0 && numbers.every((x) => Number(x) <= 1) ? obj : undefined;
}

/** A torchvision Normalize built on its own (assigned or called), not as a step of a Compose list. */
function standaloneNormalize(ctx: RuleContext): boolean {
  return ctx.analysis.callsNamed('Normalize').some((c) => c.parent?.type !== 'list' && ctx.analysis.callee(c) === 'torchvision.transforms.Normalize');
}

/** `(-1, 28, 28)`, `(-1, 1, 28, 28)`, `(-1, 28, 28, 1)`: a reshape to MNIST-sized images. */
function reshapesTo28(call: PyNode): boolean {
  const args = positionalArgs(call);
  const dims = (args.length === 1 && args[0]!.type === 'tuple' ? args[0]!.namedChildren : args).map((d) => d.text.trim());
  return dims.some((d, i) => d === '28' && dims[i + 1] === '28');
}

const FRAME_PIXELS: Raw = { floated: false, pending: true, origin: 'CSV pixel columns reshaped to 28x28 (0-255 integers)' };

/** The `return` statements of a function, not those of nested functions. */
function returnsOf(fn: PyNode): PyNode[] {
  const out: PyNode[] = [];
  fn.child('body')?.walk((n) => {
    if (n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
    if (n.type === 'return_statement') out.push(n);
  });
  return out;
}

/**
 * `DataLoader(MyDataset(...))` whose `__getitem__` returns raw images first on every return (`return img, label`):
 * the batches hold them. Read from the raw names `__getitem__` had at each return (its events come earlier).
 */
function rawItems(loader: PyNode, ctx: RuleContext, st: State): Raw | undefined {
  const cls = loadedDatasetClass(loader, ctx.analysis);
  const raws = cls && (st.byScope.get(cls.getitem) ?? new Map<string, Raw>());
  const returns = cls ? returnsOf(cls.getitem) : [];
  if (!raws || !returns.length) return undefined;
  let found: Raw | undefined;
  for (const r of returns) {
    const value = unparenValue(r.namedChildren[0]);
    // return img, label / return img (unlabelled test samples)
    const first = value?.type === 'tuple' || value?.type === 'expression_list' ? value.namedChildren[0] : value;
    const raw = rawOf(first, raws, ctx, st);
    if (!raw) return undefined;
    found = {
      floated: (found?.floated ?? true) && raw.floated,
      viaToTensor: (found?.viaToTensor ?? true) && raw.viaToTensor,
      pending: found?.pending || raw.pending,
      pil: found?.pil || raw.pil,
      origin: found && found.origin !== `${cls!.name}.__getitem__: ${raw.origin}` ? found.origin : `${cls!.name}.__getitem__: ${raw.origin}`,
    };
  }
  return found;
}

function unparenValue(n: PyNode | undefined): PyNode | undefined {
  while (n?.type === 'parenthesized_expression') n = n.namedChildren[0];
  return n;
}

/** What an expression holds if it is raw integer images: directly a source, or a value-preserving op on a raw name. */
function rawOf(e: PyNode | undefined, raws: Map<string, Raw>, ctx: RuleContext, st: State, items = false): Raw | undefined {
  if (!e) return undefined;
  if (e.type === 'parenthesized_expression') return rawOf(e.namedChildren[0], raws, ctx, st, items);
  if (e.type === 'identifier') return raws.get(e.text);
  if (e.type === 'list' || e.type === 'tuple') {
    const each = e.namedChildren.filter((c) => c.type !== 'comment').map((c) => rawOf(c, raws, ctx, st, items));
    return each.length && each.every((r) => r) ? each[0] : undefined;
  }
  if (e.type === 'subscript') return rawOf(e.child('value'), raws, ctx, st, items);
  if (e.type === 'attribute') {
    const attr = e.child('attribute')?.text;
    const obj = e.child('object');
    if ((attr === 'data' || attr === 'train_data' || attr === 'test_data') && obj?.type === 'identifier') {
      const v = ctx.analysis.scopes.valueAt(obj.text, obj);
      const q = v?.type === 'call' ? ctx.analysis.callee(v) : undefined;
      if (q && TV_DATASETS.test(q)) return { floated: false, origin: `${obj.text}.${attr} (uint8 ${q.split('.').pop()} images)` };
    }
    if (attr === 'T' || ((attr === 'iloc' || attr === 'loc') && st.csv)) return rawOf(obj, raws, ctx, st, items);
    // df.drop('label', axis=1).values: pixels if the frame is a pixel CSV, else maybe (until reshaped to 28x28)
    if (attr === 'values' && st.csv) return rawOf(obj, raws, ctx, st, items) ?? FRAME_PIXELS;
    if (obj?.type === 'identifier' && obj.text === 'self' && attr) {
      const cls = e.ancestor('class_definition');
      return cls ? st.selves.get(cls)?.get(attr) : undefined;
    }
    return undefined;
  }
  if (e.type !== 'call') return undefined;
  const q = ctx.analysis.callee(e);
  if (q && IMAGE_READERS.test(q)) return { floated: false, origin: `${q.split('.').pop()}() (uint8 pixels)` };
  if (q === 'PIL.Image.open') return PIL_IMAGE;
  // img.convert("RGB") / img.resize(...) on a PIL image, or a torchvision transform that returns a PIL image for one
  if (PIL_METHODS.test(e.child('function')?.child('attribute')?.text ?? '') && receiver(e)) {
    const inner = rawOf(receiver(e), raws, ctx, st, items);
    if (inner?.pil) return inner;
  }
  if (keepsPixels(e, ctx.analysis)) return rawOf(positionalArgs(e)[0], raws, ctx, st, items);
  if (q && IMG_TO_ARRAY.test(q)) return { floated: true, origin: 'img_to_array() (0-255 values)' };
  if (q && TF_KEEPS.test(q)) {
    const inner = rawOf(positionalArgs(e)[0] ?? keywordArg(e, 'images') ?? keywordArg(e, 'image'), raws, ctx, st, items);
    return inner && { ...inner, floated: inner.floated || q.includes('resize') };
  }
  // cv2.resize(img, (224, 224)), cv2.cvtColor(img, cv2.COLOR_BGR2RGB): same dtype, same range
  if (q && CV2_KEEPS.test(q)) return rawOf(positionalArgs(e)[0] ?? keywordArg(e, 'src'), raws, ctx, st, items);
  if (st.csv && q === 'pandas.read_csv') {
    const path = positionalArgs(e)[0] ?? keywordArg(e, 'filepath_or_buffer');
    return path && PIXEL_CSV.test(path.text) ? { floated: false, origin: `the pixel CSV ${path.text} (0-255 integers)` } : undefined;
  }
  if (st.csv && calleeName(e) === 'to_numpy') return rawOf(receiver(e), raws, ctx, st, items) ?? FRAME_PIXELS;
  // df.drop('label', axis=1).values.reshape(-1, 28, 28): pixel columns of a CSV frame
  if (st.csv && /^(reshape|view)$/.test(calleeName(e) ?? '') && reshapesTo28(e)) {
    const inner = rawOf(receiver(e), raws, ctx, st, items);
    return inner && { ...inner, pending: false };
  }
  // self.transform(img) on a float array whose pipeline only has ToTensor: ToTensor() divides uint8 input only
  if (st.toTensorOnly && TRANSFORM_CALL.test(calleeName(e) ?? '') && (receiver(e) === undefined || receiver(e)!.text === 'self')) {
    const inner = rawOf(positionalArgs(e)[0], raws, ctx, st, items);
    return inner?.npFloat ? { ...inner, viaToTensor: true, origin: `${inner.origin}, made float32 before ToTensor(), which scales only uint8 arrays` } : undefined;
  }
  // np.array(Image.open(path))
  if (q && /^numpy\.(array|asarray)$/.test(q)) {
    let arg = positionalArgs(e)[0];
    // Image.open(p).convert("RGB").resize((64, 64)): PIL images all the same, still 0-255
    while (arg?.type === 'call' && PIL_METHODS.test(arg.child('function')?.child('attribute')?.text ?? '')) arg = receiver(arg);
    const opened = arg?.type === 'call' ? ctx.analysis.callee(arg) : undefined;
    if (opened && LOAD_IMG.test(opened)) return { floated: isFloatDtype(keywordArg(e, 'dtype')), origin: 'np.array(load_img(...)) (uint8 pixels)' };
    if (opened === 'PIL.Image.open') return { floated: isFloatDtype(keywordArg(e, 'dtype')), origin: 'np.array(Image.open(...)) (uint8 pixels)' };
    // np.array(img) with img a PIL image held by a name
    if (rawOf(arg, raws, ctx, st, items)?.pil) return { floated: isFloatDtype(keywordArg(e, 'dtype')), origin: 'np.array(Image.open(...)) (uint8 pixels)' };
  }
  // TensorDataset(x, y) / DataLoader(ds): containers whose batches hold the raw images
  if (q === 'torch.utils.data.TensorDataset' || q === 'torch.utils.data.DataLoader') {
    const held = rawOf(positionalArgs(e)[0] ?? keywordArg(e, 'dataset'), raws, ctx, st, items);
    return held ?? (q === 'torch.utils.data.DataLoader' && items ? rawItems(e, ctx, st) : undefined);
  }
  const name = calleeName(e);
  if (!name || !KEEPS.test(name)) return undefined;
  const recv = receiver(e);
  const isFunction = recv === undefined || (q !== undefined && /^(torch|numpy|tensorflow)\.[a-z_]+$/.test(q));
  const inner = isFunction ? rawOf(positionalArgs(e)[0], raws, ctx, st, items) : rawOf(recv, raws, ctx, st, items);
  if (!inner || inner.pil) return undefined;
  const floated =
    inner.floated ||
    FLOAT_CALLS.test(name) ||
    isFloatDtype(keywordArg(e, 'dtype')) ||
    ((name === 'astype' || name === 'to' || name === 'type') && positionalArgs(e).some(isFloatDtype));
  const npFloat = inner.npFloat || (name === 'astype' && (positionalArgs(e).some(isFloatDtype) || isFloatDtype(keywordArg(e, 'dtype'))));
  return { ...inner, floated, npFloat };
}

/**
 * Whether the file scales inside the model or its input pipeline (Rescaling layer, ImageDataGenerator(rescale=...),
 * ToTensor, Normalize): 'yes', 'no', 'totensor' when that is only ToTensor() and Normalize() with constants of at
 * most 1 (which leave a float array's 0-255 values large), or 'pipeline' when it is only `ImageDataGenerator(rescale=)`:
 * the generator's batches are scaled, arrays handed to the model directly are not.
 */
function scalesElsewhere(ctx: RuleContext): 'yes' | 'no' | 'totensor' | 'pipeline' {
  let found: 'no' | 'totensor' = 'no';
  let pipeline = false;
  for (const c of ctx.nodesOfType('call')) {
    const n = calleeName(c) ?? '';
    if (n === 'ToTensor') found = 'totensor';
    else if (n === 'Normalize') {
      if (ctx.analysis.callee(c)?.startsWith('albumentations')) return 'yes'; // divides by max_pixel_value
      const big = /\d/.test(c.child('arguments')?.text ?? '') && !(c.child('arguments')?.text ?? '').match(/[\d.]+(e-?\d+)?/g)?.every((x) => Number(x) <= 1);
      if (big || hasKeywordSplat(c)) return 'yes';
      found = 'totensor';
    } else if (/^(Rescaling|Normalization|preprocess_input|ToDtype|ConvertImageDtype)$/.test(n)) return 'yes';
    else if (n === 'Lambda' && /\b25[56]\b/.test(c.text)) return 'yes'; // Lambda(lambda x: x / 255.0) in the model
    else if (keywordArg(c, 'preprocessing_function') !== undefined) return 'yes';
    else if (keywordArg(c, 'rescale') !== undefined) {
      if (n !== 'ImageDataGenerator') return 'yes';
      pipeline = true;
    }
  }
  if (pipeline) return found === 'no' ? 'pipeline' : 'yes';
  return found;
}

/** `x / 255.0`, `x.astype("float32") / 255`, `x / 255.` on raw images: the file knows its pixels need scaling. */
function dividesRaw(e: PyNode | undefined, raws: Map<string, Raw>, ctx: RuleContext, st: State): boolean {
  const d = unparenValue(e);
  if (d?.type !== 'binary_operator' || !d.children.some((c) => c.type === '/')) return false;
  return /^\(?\s*25[56](\.0*)?\s*\)?$/.test(d.child('right')?.text ?? '') && rawOf(d.child('left'), raws, ctx, st) !== undefined;
}

/**
 * A Keras model whose predictions or evaluation must see inputs scaled like its training inputs: built in the file
 * (a saved model loaded from disk may scale inside), by a class that does not divide by 255 in its own code.
 */
function isTrainedKerasModel(recv: PyNode | undefined, ctx: RuleContext): boolean {
  if (recv?.type !== 'identifier') return false;
  const cls = kerasModels(ctx.analysis).modelClassAt(recv);
  if (cls) return !/\b25[56]\b/.test(cls.text);
  const v = ctx.analysis.scopes.valueAt(recv.text, recv);
  // a pretrained keras.applications model takes its own preprocess_input, not the file's 0-1 scaling
  return isKerasModel(recv, ctx) && !/load_model$|^keras\.applications\./.test(v?.type === 'call' ? (kerasCallee(ctx.analysis, v) ?? '') : '');
}

function isKerasModel(recv: PyNode | undefined, ctx: RuleContext): boolean {
  if (recv?.type !== 'identifier') return false;
  const v = ctx.analysis.scopes.valueAt(recv.text, recv);
  if (v?.type !== 'call') return false;
  const q = kerasCallee(ctx.analysis, v);
  if (q !== undefined) return q.startsWith('keras.');
  // `model = Sequential()` in a snippet that left out its imports: a name the file neither imports nor binds
  const f = v.child('function');
  const a = ctx.analysis;
  return f?.type === 'identifier' && /^(Sequential|Model)$/.test(f.text) && !a.imports.wildcards.length && !a.scopes.isBoundAnywhere(f.text) && a.qname(f) === undefined;
}

function isTorchModel(fn: PyNode | undefined, ctx: RuleContext): boolean {
  if (fn?.type !== 'identifier') return false;
  const v = ctx.analysis.scopes.valueAt(fn.text, fn);
  if (v?.type !== 'call') return false;
  let c: PyNode | undefined = v;
  // Net().to(device)
  for (let hop = 0; hop < 3; hop++) {
    while (c?.type === 'call' && /^(to|cuda|train)$/.test(calleeName(c) ?? '') && receiver(c)) c = receiver(c);
    // model = model.to(device): the value model had before this assignment
    if (c?.type !== 'identifier') break;
    const at = c.ancestor('assignment');
    const prev: PyNode | null | undefined = at ? ctx.analysis.scopes.valueAt(c.text, at) : undefined;
    if (prev?.type !== 'call') return false;
    c = prev;
  }
  if (c?.type !== 'call') return false;
  const q = ctx.analysis.callee(c);
  const f = c.child('function');
  return (q !== undefined && (/^torch\.nn\.[A-Z]/.test(q) || q.startsWith('torchvision.models.'))) || (f?.type === 'identifier' && ctx.analysis.moduleClass(f.text) !== undefined);
}

/** The first name of a tuple target `(xb, yb)` / `xb, yb`. */
function unparenFirst(n: PyNode | undefined): PyNode | undefined {
  while (n && (n.type === 'tuple_pattern' || n.type === 'pattern_list' || n.type === 'parenthesized_expression' || n.type === 'tuple')) n = n.namedChildren[0];
  return n?.type === 'identifier' ? n : undefined;
}

export const DT006: Rule = {
  meta: {
    id: 'DT006',
    name: 'unscaled-integer-images',
    group: 'data',
    defaultSeverity: 'warning',
    summary: 'Raw 0-255 integer images are fed to the network without scaling.',
    why:
      'Image loaders such as `keras.datasets.mnist.load_data()`, `cv2.imread`, `torchvision.io.read_image` or a torchvision ' +
      'dataset\'s `.data` return uint8 pixels from 0 to 255. Fed to a network as they are (or only cast to float), the inputs ' +
      'are two orders of magnitude larger than the unit-scale values that default weight initialisation and learning rates ' +
      'assume: activations saturate, gradients explode or vanish, and the loss plateaus or becomes NaN although the code runs. ' +
      'Divide by 255 (or use `ToTensor()`, `Normalize`, a `Rescaling(1/255)` layer) before training. Reported only when the ' +
      'integer source and the training call are both visible and no scaling happens in between or in the model. Once the ' +
      'file scales its training images (`ImageDataGenerator(rescale=1/255)`, `x_train / 255.0`), arrays of raw pixels given ' +
      'to the model\'s `predict`/`evaluate` or to `validation_data` (`img_to_array(load_img(...))`, `cv2.imread`) are ' +
      'reported as well: the model sees inputs 255 times larger than anything it was trained on. A float tensor of raw pixels ' +
      '(`np.array(Image.open(p)).astype(np.float32)`) given to a torchvision `Normalize` whose mean and std are statistics of ' +
      '[0, 1] images (ImageNet\'s 0.485/0.229...) is reported too: the result is still in the hundreds.',
    wrong:
      'from keras.datasets import mnist\nfrom keras import layers, models\n(x_train, y_train), (x_test, y_test) = mnist.load_data()\n' +
      'model = models.Sequential([layers.Flatten(), layers.Dense(10, activation="softmax")])\n' +
      'model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")\nmodel.fit(x_train, y_train, epochs=5)',
    right:
      'from keras.datasets import mnist\nfrom keras import layers, models\n(x_train, y_train), (x_test, y_test) = mnist.load_data()\n' +
      'x_train = x_train.astype("float32") / 255.0\n' +
      'model = models.Sequential([layers.Flatten(), layers.Dense(10, activation="softmax")])\n' +
      'model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")\nmodel.fit(x_train, y_train, epochs=5)',
    concept: 'Input normalisation: features on a unit scale',
    fixable: false,
  },
  check(ctx) {
    const a = ctx.analysis;
    // cheap exit: no integer-image source in the file
    let readsCsv = false;
    const hasSource = ctx.nodesOfType('call').some((c) => {
      const q = a.callee(c);
      if (q === 'pandas.read_csv') readsCsv = true;
      if (kerasImages(a, c)) return true;
      return q !== undefined && (IMAGE_READERS.test(q) || TV_DATASETS.test(q) || q === 'PIL.Image.open' || IMG_TO_ARRAY.test(q) || LOAD_IMG.test(q));
    });
    if (!hasSource && !readsCsv) return;
    const scales = scalesElsewhere(ctx);
    // the file divides by 255 (or a max) or uses a scaler somewhere: the values of a CSV may well be scaled already
    const unscaledText = scales !== 'yes' && !SCALES_TEXT.test(ctx.source);
    const st: State = { byScope: new Map(), selves: new Map(), csv: readsCsv && unscaledText, toTensorOnly: scales === 'totensor' };
    // ImageDataGenerator(rescale=...) scales what the generators yield: arrays given to the model directly are held out
    if (scales === 'pipeline') st.scaledAt = ctx.nodesOfType('call').find((c) => calleeName(c) === 'ImageDataGenerator' && keywordArg(c, 'rescale'));
    // a scaling somewhere in the text silences the model sinks, not a Normalize object applied to raw float pixels
    st.normalizeOnly = scales === 'totensor' && !unscaledText;
    if (scales === 'yes' || (st.normalizeOnly && !standaloneNormalize(ctx)) || (!hasSource && !st.csv)) return;
    // statements that bind or use names, per scope, in document order
    const events = [
      ...ctx.nodesOfType('assignment'),
      ...ctx.nodesOfType('augmented_assignment'),
      ...ctx.nodesOfType('call'),
      ...ctx.nodesOfType('for_statement'),
    ].sort((x, y) => x.start - y.start);
    const rawByScope = st.byScope;
    const reported = new Set<string>();
    for (const ev of events) {
      const scope = scopeOf(ev);
      let raws = rawByScope.get(scope);
      if (!raws) rawByScope.set(scope, (raws = new Map()));
      if (ev.type === 'for_statement') {
        // for xb, yb in loader / for i, (xb, yb) in enumerate(loader): xb holds the loader's raw images
        let it = ev.child('right');
        let left = ev.child('left');
        left?.walk((n) => void (n.type === 'identifier' && raws!.delete(n.text)));
        if (it?.type === 'call' && calleeName(it) === 'enumerate') {
          it = positionalArgs(it)[0];
          left = left?.namedChildren[1];
        }
        while (it?.type === 'call' && /^(tqdm|iter)$/.test(calleeName(it) ?? '')) it = positionalArgs(it)[0];
        const r = rawOf(it, raws, ctx, st, true);
        const first = left?.type === 'identifier' ? undefined : unparenFirst(left);
        if (r && first) raws.set(first.text, r);
        continue;
      }
      if (ev.type === 'augmented_assignment') {
        // x /= 255: the training inputs are scaled
        if (ev.children.some((c) => c.type === '/=') && /^25[56](\.0*)?$/.test(ev.child('right')?.text ?? '') && rawOf(ev.child('left'), raws, ctx, st)) st.scaledAt ??= ev;
        raws.delete(ev.child('left')?.text ?? '');
        continue;
      }
      if (ev.type === 'assignment') {
        const left = ev.child('left');
        const right = ev.child('right');
        if (!left || !right) continue;
        if (!st.scaledAt && [right, ...(right.type === 'expression_list' ? right.namedChildren : [])].some((v) => dividesRaw(v, raws!, ctx, st))) st.scaledAt = right;
        const images = right.type === 'call' ? kerasImages(a, right) : undefined;
        if (images) {
          // (x_train, y_train), (x_test, y_test) = mnist.load_data()
          for (const pair of left.namedChildren) {
            const x = pair.namedChildren[0];
            if (x?.type === 'identifier') raws.set(x.text, { floated: false, origin: `${images.split('.')[2]}.load_data() (uint8 pixels)` });
          }
          continue;
        }
        if (left.type === 'identifier') {
          const r = rawOf(right, raws, ctx, st, true);
          if (r) raws.set(left.text, r);
          else raws.delete(left.text);
        } else if (left.type === 'attribute' && left.child('object')?.text === 'self') {
          // self.images = ... in __init__, read as self.images[i] in __getitem__
          const cls = ev.ancestor('class_definition');
          const attr = left.child('attribute')?.text;
          if (!cls || !attr) continue;
          let selves = st.selves.get(cls);
          if (!selves) st.selves.set(cls, (selves = new Map()));
          const r = rawOf(right, raws, ctx, st, true);
          if (r) selves.set(attr, r);
          else selves.delete(attr);
        } else if (left.type === 'pattern_list' || left.type === 'tuple_pattern') {
          const targets = left.namedChildren;
          const values = right.type === 'expression_list' || right.type === 'tuple' ? right.namedChildren : [];
          // imgs, labels = imgs.to(device), labels.to(device): element by element
          const rs = values.length === targets.length ? values.map((v) => rawOf(v, raws!, ctx, st, true)) : [];
          targets.forEach((t, i) => {
            if (t.type === 'identifier' && rs[i]) raws!.set(t.text, rs[i]!);
            else t.walk((n) => void (n.type === 'identifier' && raws!.delete(n.text)));
          });
        }
        continue;
      }
      // in-place scaling: x.div_(255), x.mul_(...)
      const name = calleeName(ev) ?? '';
      const recv = receiver(ev);
      if (/^(div_|mul_|sub_|true_divide_)$/.test(name) && recv?.type === 'identifier') {
        raws.delete(recv.text);
        continue;
      }
      if (!st.scaledAt && name === 'fit' && (ev.child('arguments')?.namedChildren ?? []).some((v) => dividesRaw(v, raws!, ctx, st))) st.scaledAt = ev;
      // sinks: keras model.fit(x, ...); torch model(x); once training is scaled, what the model predicts on or is
      // evaluated on (model.predict(x), model.evaluate(x, y), fit's validation_data)
      let arg: PyNode | undefined;
      let heldOut: PyNode | undefined;
      let needsFloat = false;
      if (name === 'fit' && isKerasModel(recv, ctx)) {
        if (scales !== 'pipeline') arg = positionalArgs(ev)[0] ?? keywordArg(ev, 'x');
        const val = unparenValue(keywordArg(ev, 'validation_data'));
        heldOut = val?.type === 'tuple' ? val.namedChildren[0] : undefined;
      } else if (HELD_OUT_SINKS.test(name) && isTrainedKerasModel(recv, ctx)) heldOut = positionalArgs(ev)[0] ?? keywordArg(ev, 'x');
      else if (isTorchModel(ev.child('function'), ctx)) {
        arg = positionalArgs(ev)[0];
        needsFloat = true; // integer tensors make the torch layer raise; a float cast makes it silent
      }
      // Normalize(ImageNet mean/std) on a float tensor of 0-255 values
      const norm = positionalArgs(ev).length === 1 ? unitNormalize(ev, a) : undefined;
      const n = norm ? rawOf(positionalArgs(ev)[0], raws, ctx, st) : undefined;
      if (n && n.floated && !n.pil && !n.pending && !reported.has(n.origin)) {
        reported.add(n.origin);
        const line = ctx.lines.position(norm!.start).line + 1;
        ctx.report({
          node: positionalArgs(ev)[0]!,
          message: `\`${positionalArgs(ev)[0]!.text}\` holds raw 0-255 pixels from ${n.origin} cast to float, and the Normalize of line ${line} uses statistics of [0, 1] images: divide by 255 first.`,
        });
        continue;
      }
      if (st.normalizeOnly) continue;
      const r = rawOf(arg, raws, ctx, st);
      if (r && !r.pending && !r.pil && (!needsFloat || r.floated) && (!st.toTensorOnly || r.viaToTensor) && !reported.has(r.origin)) {
        reported.add(r.origin);
        ctx.report({
          node: arg!,
          message: r.viaToTensor
            ? `\`${arg!.text}\` holds raw 0-255 pixels from ${r.origin}: they reach the network unscaled. Keep the array uint8 for ToTensor() or divide by 255.`
            : `\`${arg!.text}\` holds raw 0-255 pixels from ${r.origin} and reaches the network unscaled: divide by 255 (or normalise) first.`,
        });
      }
      const h = st.scaledAt && !st.toTensorOnly ? rawOf(heldOut, raws, ctx, st) : undefined;
      if (!h || h.pending || h.pil || reported.has(h.origin)) continue;
      reported.add(h.origin);
      const line = ctx.source.slice(0, st.scaledAt!.start).split('\n').length;
      ctx.report({
        node: heldOut!,
        message: `\`${heldOut!.text}\` holds raw 0-255 pixels from ${h.origin}, but the model trains on images scaled to 0-1 (line ${line}): divide by 255 before ${name}() too.`,
      });
    }
  },
};
