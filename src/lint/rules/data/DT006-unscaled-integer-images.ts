import { calleeName, keywordArg, positionalArgs, receiver } from '../../analysis';
import { loadedDatasetClass } from '../../analysis/datasets';
import { scopeOf } from '../../analysis/scopes';
import type { PyNode } from '../../parser';
import type { Rule, RuleContext } from '../../types';

/** Keras loaders that return uint8 images (0..255). */
const KERAS_IMAGES = /^keras\.datasets\.(mnist|fashion_mnist|cifar10|cifar100)\.load_data$/;
/** Calls that return uint8 images. */
const IMAGE_READERS = /^(cv2\.imread|torchvision\.io\.(read_image|decode_image|decode_jpeg|decode_png)|imageio\.(v\d\.)?imread|skimage\.io\.imread)$/;
/** torchvision datasets whose `.data` holds uint8 images. */
const TV_DATASETS = /^torchvision\.datasets\.(MNIST|FashionMNIST|KMNIST|EMNIST|CIFAR10|CIFAR100)$/;
/** Operations that keep the values as they are (shape, dtype, device, container changes). */
const KEEPS = /^(reshape|astype|float|double|half|to|view|unsqueeze|squeeze|permute|transpose|from_numpy|tensor|as_tensor|Tensor|FloatTensor|expand_dims|array|asarray|cuda|contiguous|flatten|type|copy|clone|numpy|cpu|detach)$/;
const FLOAT_CALLS = /^(float|double|half)$/;
/** PIL.Image methods that return an image with the same 0-255 pixel range. */
const PIL_METHODS = /^(convert|resize|crop|rotate|transpose|copy)$/;

interface Raw {
  /** converted to a floating dtype on the way (torch then accepts it silently) */
  floated: boolean;
  /** where the raw images come from, for the message */
  origin: string;
}

function isFloatDtype(n: PyNode | undefined): boolean {
  return n !== undefined && /float|double|half/.test(n.text);
}

/** Raw names per scope (function, or null for the module), as the events of `check` have left them so far. */
type RawByScope = Map<PyNode | null, Map<string, Raw>>;

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
function rawItems(loader: PyNode, ctx: RuleContext, byScope: RawByScope): Raw | undefined {
  const cls = loadedDatasetClass(loader, ctx.analysis);
  const raws = cls && byScope.get(cls.getitem);
  const returns = cls ? returnsOf(cls.getitem) : [];
  if (!raws || !returns.length) return undefined;
  let found: Raw | undefined;
  for (const r of returns) {
    const value = unparenValue(r.namedChildren[0]);
    const first = value?.type === 'tuple' || value?.type === 'expression_list' ? value.namedChildren[0] : undefined;
    const raw = rawOf(first, raws, ctx);
    if (!raw) return undefined;
    found = { floated: (found?.floated ?? true) && raw.floated, origin: `${cls!.name}.__getitem__: ${raw.origin}` };
  }
  return found;
}

function unparenValue(n: PyNode | undefined): PyNode | undefined {
  while (n?.type === 'parenthesized_expression') n = n.namedChildren[0];
  return n;
}

/** What an expression holds if it is raw integer images: directly a source, or a value-preserving op on a raw name. */
function rawOf(e: PyNode | undefined, raws: Map<string, Raw>, ctx: RuleContext, byScope?: RawByScope): Raw | undefined {
  if (!e) return undefined;
  if (e.type === 'parenthesized_expression') return rawOf(e.namedChildren[0], raws, ctx, byScope);
  if (e.type === 'identifier') return raws.get(e.text);
  if (e.type === 'subscript') return rawOf(e.child('value'), raws, ctx, byScope);
  if (e.type === 'attribute') {
    const attr = e.child('attribute')?.text;
    const obj = e.child('object');
    if ((attr === 'data' || attr === 'train_data' || attr === 'test_data') && obj?.type === 'identifier') {
      const v = ctx.analysis.scopes.valueAt(obj.text, obj);
      const q = v?.type === 'call' ? ctx.analysis.callee(v) : undefined;
      if (q && TV_DATASETS.test(q)) return { floated: false, origin: `${obj.text}.${attr} (uint8 ${q.split('.').pop()} images)` };
    }
    if (attr === 'T') return rawOf(obj, raws, ctx, byScope);
    return undefined;
  }
  if (e.type !== 'call') return undefined;
  const q = ctx.analysis.callee(e);
  if (q && IMAGE_READERS.test(q)) return { floated: false, origin: `${q.split('.').pop()}() (uint8 pixels)` };
  // np.array(Image.open(path))
  if (q && /^numpy\.(array|asarray)$/.test(q)) {
    let arg = positionalArgs(e)[0];
    // Image.open(p).convert("RGB").resize((64, 64)): PIL images all the same, still 0-255
    while (arg?.type === 'call' && PIL_METHODS.test(arg.child('function')?.child('attribute')?.text ?? '')) arg = receiver(arg);
    if (arg?.type === 'call' && ctx.analysis.callee(arg) === 'PIL.Image.open') return { floated: isFloatDtype(keywordArg(e, 'dtype')), origin: 'np.array(Image.open(...)) (uint8 pixels)' };
  }
  // TensorDataset(x, y) / DataLoader(ds): containers whose batches hold the raw images
  if (q === 'torch.utils.data.TensorDataset' || q === 'torch.utils.data.DataLoader') {
    const held = rawOf(positionalArgs(e)[0] ?? keywordArg(e, 'dataset'), raws, ctx, byScope);
    return held ?? (q === 'torch.utils.data.DataLoader' && byScope ? rawItems(e, ctx, byScope) : undefined);
  }
  const name = calleeName(e);
  if (!name || !KEEPS.test(name)) return undefined;
  const recv = receiver(e);
  const isFunction = recv === undefined || (q !== undefined && /^(torch|numpy)\.[a-z_]+$/.test(q));
  const inner = isFunction ? rawOf(positionalArgs(e)[0], raws, ctx, byScope) : rawOf(recv, raws, ctx, byScope);
  if (!inner) return undefined;
  const floated =
    inner.floated ||
    FLOAT_CALLS.test(name) ||
    isFloatDtype(keywordArg(e, 'dtype')) ||
    ((name === 'astype' || name === 'to' || name === 'type') && positionalArgs(e).some(isFloatDtype));
  return { floated, origin: inner.origin };
}

/** The file scales inside the model or its input pipeline (Rescaling layer, ImageDataGenerator(rescale=...), ToTensor, Normalize). */
function scalesElsewhere(ctx: RuleContext): boolean {
  return ctx.nodesOfType('call').some((c) => {
    const n = calleeName(c) ?? '';
    if (/^(Rescaling|Normalization|ToTensor|Normalize|preprocess_input|ToDtype|ConvertImageDtype)$/.test(n)) return true;
    return keywordArg(c, 'rescale') !== undefined || keywordArg(c, 'preprocessing_function') !== undefined;
  });
}

function isKerasModel(recv: PyNode | undefined, ctx: RuleContext): boolean {
  if (recv?.type !== 'identifier') return false;
  const v = ctx.analysis.scopes.valueAt(recv.text, recv);
  const q = v?.type === 'call' ? ctx.analysis.callee(v) : undefined;
  return q !== undefined && q.startsWith('keras.');
}

function isTorchModel(fn: PyNode | undefined, ctx: RuleContext): boolean {
  if (fn?.type !== 'identifier') return false;
  const v = ctx.analysis.scopes.valueAt(fn.text, fn);
  if (v?.type !== 'call') return false;
  let c: PyNode | undefined = v;
  // Net().to(device)
  while (c?.type === 'call' && /^(to|cuda|train)$/.test(calleeName(c) ?? '') && receiver(c)) c = receiver(c);
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
      'integer source and the training call are both visible and no scaling happens in between or in the model.',
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
    const hasSource = ctx.nodesOfType('call').some((c) => {
      const q = a.callee(c);
      return q !== undefined && (KERAS_IMAGES.test(q) || IMAGE_READERS.test(q) || TV_DATASETS.test(q) || q === 'PIL.Image.open');
    });
    if (!hasSource || scalesElsewhere(ctx)) return;
    // statements that bind or use names, per scope, in document order
    const events = [
      ...ctx.nodesOfType('assignment'),
      ...ctx.nodesOfType('augmented_assignment'),
      ...ctx.nodesOfType('call'),
      ...ctx.nodesOfType('for_statement'),
    ].sort((x, y) => x.start - y.start);
    const rawByScope: RawByScope = new Map();
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
        const r = rawOf(it, raws, ctx, rawByScope);
        const first = left?.type === 'identifier' ? undefined : unparenFirst(left);
        if (r && first) raws.set(first.text, r);
        continue;
      }
      if (ev.type === 'augmented_assignment') {
        raws.delete(ev.child('left')?.text ?? '');
        continue;
      }
      if (ev.type === 'assignment') {
        const left = ev.child('left');
        const right = ev.child('right');
        if (!left || !right) continue;
        if (right.type === 'call' && KERAS_IMAGES.test(a.callee(right) ?? '')) {
          // (x_train, y_train), (x_test, y_test) = mnist.load_data()
          for (const pair of left.namedChildren) {
            const x = pair.namedChildren[0];
            if (x?.type === 'identifier') raws.set(x.text, { floated: false, origin: `${a.callee(right)!.split('.')[2]}.load_data() (uint8 pixels)` });
          }
          continue;
        }
        if (left.type === 'identifier') {
          const r = rawOf(right, raws, ctx, rawByScope);
          if (r) raws.set(left.text, r);
          else raws.delete(left.text);
        } else if (left.type === 'pattern_list' || left.type === 'tuple_pattern') {
          left.walk((n) => void (n.type === 'identifier' && raws!.delete(n.text)));
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
      // sinks: keras model.fit(x, ...); torch model(x)
      let arg: PyNode | undefined;
      let needsFloat = false;
      if (name === 'fit' && isKerasModel(recv, ctx)) arg = positionalArgs(ev)[0] ?? keywordArg(ev, 'x');
      else if (isTorchModel(ev.child('function'), ctx)) {
        arg = positionalArgs(ev)[0];
        needsFloat = true; // integer tensors make the torch layer raise; a float cast makes it silent
      }
      const r = rawOf(arg, raws, ctx);
      if (!r || (needsFloat && !r.floated) || reported.has(r.origin)) continue;
      reported.add(r.origin);
      ctx.report({
        node: arg!,
        message: `\`${arg!.text}\` holds raw 0-255 pixels from ${r.origin} and reaches the network unscaled: divide by 255 (or normalise) first.`,
      });
    }
  },
};
