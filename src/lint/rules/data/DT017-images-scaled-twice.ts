import { calleeName, keywordArg, positionalArgs, receiver, unparen, type Analysis } from '../../analysis';
import { datasetClasses } from '../../analysis/datasets';
import { parameterArguments } from '../../analysis/parameters';
import { stringValue } from '../../analysis/runtime';
import type { PyNode } from '../../parser';
import type { RawFix, Rule, RuleContext } from '../../types';

/**
 * What an image value is known to be:
 * - pil: a PIL image (8-bit modes), or `pilOrTensor` after a v1 transform that accepts only PIL images or tensors;
 * - u8arr / u8t: a uint8 NumPy array / uint8 tensor (0-255);
 * - scaled: a float tensor that a transform already divided by 255 (`by` names it).
 */
type Kind = 'pil' | 'pilOrTensor' | 'u8arr' | 'u8t' | 'scaled';
interface State {
  k: Kind;
  by?: string;
}

/** torchvision transforms that keep the value range (and the kind: PIL stays PIL, a [0, 1] tensor stays in [0, 1]). */
const KEEPS_RANGE =
  /^(Resize|CenterCrop|RandomCrop|RandomResizedCrop|RandomHorizontalFlip|RandomVerticalFlip|RandomRotation|RandomAffine|RandomPerspective|Pad|Grayscale|RandomGrayscale|ColorJitter|GaussianBlur|RandomErasing)$/;
/** Tensor / array methods that keep the values (dtype, device, shape). */
const KEEPS_VALUES = /^(float|to|cuda|cpu|unsqueeze|squeeze|contiguous|clone|detach|permute|view|reshape|type|half|double|astype|transpose)$/;
/** Names of masks, labels and targets: their scaling conventions vary, stay silent. */
const NOT_IMAGE = /mask|label|target|seg|annot|depth|(^|_)gt(_|$)|(^|_)y(_|$)/i;
/** PIL.Image methods that return an 8-bit image of the same range. */
const PIL_METHODS = /^(convert|resize|crop|rotate|transpose|copy)$/;
/** torchvision datasets that hand PIL images to `transform`, and the position of `transform` when passed positionally. */
const TV_PIL_DATASETS: Record<string, number | undefined> = {
  MNIST: 2, FashionMNIST: 2, KMNIST: 2, EMNIST: undefined, QMNIST: undefined, CIFAR10: 2, CIFAR100: 2, SVHN: 2, STL10: undefined,
  ImageFolder: 1, ImageNet: undefined, Flowers102: undefined, OxfordIIITPet: undefined, Food101: undefined, StanfordCars: undefined,
  Caltech101: undefined, Caltech256: undefined, FGVCAircraft: undefined, DTD: undefined, GTSRB: undefined, EuroSAT: undefined,
  USPS: undefined, CelebA: undefined, Places365: undefined,
};

const is255 = (n: PyNode | undefined): boolean => {
  const e = unparen(n);
  return (e?.type === 'integer' || e?.type === 'float') && /^255(\.0*)?$/.test(e.text);
};
/** `1/255`, `(1. / 255)`, `1/255.0` */
const isInverse255 = (n: PyNode | undefined): boolean => /^\(?1(\.0*)?\/255(\.0*)?\)?$/.test((n?.text ?? '').replace(/\s+/g, ''));

/** The operator token of a binary operator or augmented assignment (tokens have no field here). */
const operatorOf = (n: PyNode): string | undefined => n.children.find((c) => !c.named && c.type !== '(' && c.type !== ')')?.type;

/** A division by 255 (`x / 255.`, `x * (1/255)`, `x.div(255)`, `torch.div(x, 255)`): the dividend, else undefined. */
function dividend(n: PyNode, a: Analysis): PyNode | undefined {
  if (n.type === 'binary_operator') {
    const op = operatorOf(n);
    if (op === '/' && is255(n.child('right'))) return n.child('left');
    if (op === '*' && isInverse255(n.child('right'))) return n.child('left');
    return undefined;
  }
  if (n.type !== 'call') return undefined;
  const name = calleeName(n);
  if (name !== 'div' && name !== 'div_' && name !== 'true_divide') return undefined;
  const args = positionalArgs(n);
  if (n.child('arguments')?.namedChildren.length !== args.length) return undefined; // rounding_mode=...
  const q = a.callee(n);
  if (q === 'torch.div' || q === 'torch.true_divide') return args.length === 2 && is255(args[1]) ? args[0] : undefined;
  return args.length === 1 && is255(args[0]) ? receiver(n) : undefined;
}

/** Whether an identifier is bound by an enclosing lambda or comprehension (invisible to `Scopes`). */
function locallyBound(id: PyNode): boolean {
  for (let p = id.parent; p && p.type !== 'function_definition'; p = p.parent) {
    if (p.type === 'lambda') {
      let found = false;
      p.child('parameters')?.walk((c) => void (c.type === 'identifier' && c.text === id.text && (found = true)));
      if (found) return true;
    }
    if (/comprehension|generator_expression/.test(p.type)) {
      for (const c of p.namedChildren) {
        if (c.type !== 'for_in_clause') continue;
        let found = false;
        c.child('left')?.walk((x) => void (x.type === 'identifier' && x.text === id.text && (found = true)));
        if (found) return true;
      }
    }
  }
  return false;
}

class Flow {
  readonly findings = new Map<number, { node: PyNode; by: string; fixes?: RawFix[] }>();
  private readonly busy = new Set<PyNode>();

  constructor(private readonly ctx: RuleContext) {}

  private get a(): Analysis {
    return this.ctx.analysis;
  }

  /** The value a name holds at `id`: undefined when unknown, or changed in place between its binding and `id`. */
  private bound(id: PyNode): PyNode | undefined {
    if (locallyBound(id)) return undefined;
    // img = self.transform(img): the value img had before this assignment
    const as = id.ancestor('assignment');
    const at = as && as.child('right') && as.child('right')!.start <= id.start && id.end <= as.child('right')!.end ? as : id;
    const v = this.a.scopes.valueAt(id.text, at);
    if (!v) return undefined;
    const binding = v.ancestor('assignment');
    if (binding && binding.end < id.start) {
      const between = this.ctx.source.slice(binding.end, id.start);
      const name = id.text.replace(/[^\w]/g, '');
      if (new RegExp(`\\b${name}\\s*(\\[[^\\]]*\\]\\s*)?([-+*/%@]|//|\\*\\*)=|\\b${name}\\.\\w+_\\(`).test(between)) return undefined;
    }
    return v;
  }

  /** The transform objects an expression may hold: transform calls (`Compose([...])`, `ToTensor()`). */
  private transforms(f: PyNode | undefined, depth = 0): PyNode[] {
    const e = unparen(f);
    if (!e || depth > 4) return [];
    if (e.type === 'call') return [e];
    if (e.type === 'identifier') {
      if (locallyBound(e)) return [];
      const v = this.bound(e);
      if (v) return this.transforms(v, depth + 1);
      if (this.a.scopes.valueAt(e.text, e) !== null) return [];
      // a parameter: what the file's call sites pass
      return (parameterArguments(this.a, e) ?? []).flatMap((arg) => this.transforms(arg, depth + 1));
    }
    if (e.type === 'attribute' && e.child('object')?.text === 'self') {
      const cls = e.ancestor('class_definition');
      const attr = e.child('attribute')?.text;
      if (!cls || !attr) return [];
      return this.a.scopes.selfAttr(cls, attr).flatMap((v) => this.transforms(v, depth + 1));
    }
    return [];
  }

  /** Applies a transform (a torchvision transform or a Compose of them) to an input; reports Lambda divisions. */
  apply(t: PyNode, input: State | undefined): State | undefined {
    const q = this.a.callee(t) ?? '';
    if (!q.startsWith('torchvision.transforms.') || this.busy.has(t)) return undefined;
    const name = q.slice(q.lastIndexOf('.') + 1);
    const v1 = !q.startsWith('torchvision.transforms.v2.');
    if (name === 'Compose') {
      const list = unparen(positionalArgs(t)[0] ?? keywordArg(t, 'transforms'));
      if (list?.type !== 'list' && list?.type !== 'tuple') return undefined;
      this.busy.add(t);
      let s = input;
      const items = list.namedChildren.filter((c) => c.type !== 'comment');
      items.forEach((item, i) => {
        // an unknown input may still become known (a v1 PIL-only transform); an unknown step ends it
        if (!s && i > 0) return;
        if (item.type !== 'call') s = undefined;
        else if (calleeName(item) === 'Lambda') s = this.lambda(item, s, items, i);
        else s = this.apply(item, s);
      });
      this.busy.delete(t);
      return s;
    }
    if (!input) return KEEPS_RANGE.test(name) && v1 ? { k: 'pilOrTensor' } : undefined;
    const k = input.k;
    switch (name) {
      case 'ToTensor':
        return k === 'pil' || k === 'pilOrTensor' || k === 'u8arr' ? { k: 'scaled', by: 'ToTensor()' } : undefined;
      case 'PILToTensor':
        return k === 'pil' || k === 'pilOrTensor' ? { k: 'u8t' } : undefined;
      case 'ToImage':
        return k === 'pil' || k === 'u8arr' || k === 'u8t' ? { k: 'u8t' } : k === 'scaled' ? input : undefined;
      case 'ConvertImageDtype':
        return k === 'u8t' && /float|half|double/.test(t.child('arguments')?.text ?? '') ? { k: 'scaled', by: 'ConvertImageDtype()' } : k === 'scaled' ? input : undefined;
      case 'ToDtype': {
        const dtype = positionalArgs(t)[0] ?? keywordArg(t, 'dtype');
        const scale = positionalArgs(t)[1] ?? keywordArg(t, 'scale');
        if (!dtype || !/float|half|double/.test(dtype.text)) return undefined;
        if (k === 'scaled') return input;
        return k === 'u8t' && scale?.text === 'True' ? { k: 'scaled', by: 'ToDtype(..., scale=True)' } : undefined;
      }
    }
    if (KEEPS_RANGE.test(name)) {
      if (k === 'pilOrTensor' || k === 'pil' || k === 'scaled' || k === 'u8t') return input;
    }
    return undefined;
  }

  /** A Lambda element of a Compose: a division of its parameter by 255 on scaled input is the mistake. */
  private lambda(item: PyNode, s: State | undefined, items: PyNode[], i: number): State | undefined {
    const fn = unparen(positionalArgs(item)[0] ?? keywordArg(item, 'lambd'));
    const params = fn?.type === 'lambda' ? (fn.child('parameters')?.namedChildren ?? []) : [];
    const body = unparen(fn?.child('body'));
    if (s?.k !== 'scaled' || params.length !== 1 || params[0]!.type !== 'identifier' || !body) return undefined;
    let x = unparen(dividend(body, this.a));
    while (x?.type === 'call' && /^(float|contiguous|clone)$/.test(calleeName(x) ?? '') && positionalArgs(x).length === 0) x = unparen(receiver(x));
    if (x?.type !== 'identifier' || x.text !== params[0]!.text) return undefined;
    // remove the element and the comma before it (after it, for the first element)
    const edit =
      i > 0
        ? { start: items[i - 1]!.end, end: item.end, newText: '' }
        : items.length > 1
          ? { start: item.start, end: items[1]!.start, newText: '' }
          : undefined;
    this.findings.set(item.start, { node: item, by: s.by ?? 'ToTensor()', fixes: edit ? [{ title: 'Remove the Lambda that divides by 255', edits: [edit] }] : undefined });
    return undefined;
  }

  /**
   * `out['image']` of an albumentations call `out = self.transform(image=img, ...)` (or the call subscripted in place):
   * scaled when the pipeline ends scaled (a top-level `Normalize()` or `ToFloat()`).
   */
  private albumentationsImage(sub: PyNode, depth: number): State | undefined {
    if (stringValue(unparen(sub.child('subscript'))) !== 'image') return undefined;
    let call = unparen(sub.child('value'));
    if (call?.type === 'identifier') call = unparen(this.bound(call));
    if (call?.type !== 'call' || !keywordArg(call, 'image') || depth > 8) return undefined;
    let out: State | undefined;
    for (const t of this.transforms(call.child('function'))) out ??= this.albumentations(t);
    return out;
  }

  /** An albumentations Compose (or one transform): scaled after a top-level Normalize (by max_pixel_value=255) or ToFloat. */
  private albumentations(t: PyNode): State | undefined {
    const step = (c: PyNode, s: State | undefined): State | undefined => {
      const q = this.a.callee(c) ?? '';
      if (!q.startsWith('albumentations.')) return undefined;
      const name = q.slice(q.lastIndexOf('.') + 1);
      if (name === 'Normalize') {
        const max = keywordArg(c, 'max_pixel_value') ?? positionalArgs(c)[2];
        return !max || is255(max) ? { k: 'scaled', by: 'albumentations Normalize()' } : undefined;
      }
      if (name === 'ToFloat') {
        const max = keywordArg(c, 'max_value') ?? positionalArgs(c)[0];
        return !max || max.type === 'none' || is255(max) ? { k: 'scaled', by: 'albumentations ToFloat()' } : undefined;
      }
      return name === 'FromFloat' ? undefined : s;
    };
    const q = this.a.callee(t) ?? '';
    if (!/^albumentations\.(.*\.)?Compose$/.test(q)) return step(t, undefined);
    const list = unparen(positionalArgs(t)[0] ?? keywordArg(t, 'transforms'));
    if (list?.type !== 'list' && list?.type !== 'tuple') return undefined;
    let s: State | undefined;
    for (const item of list.namedChildren) if (item.type === 'call') s = step(item, s);
    return s;
  }

  /** What an expression holds, as far as this rule cares. */
  stateOf(n: PyNode | undefined, depth = 0): State | undefined {
    const e = unparen(n);
    if (!e || depth > 8) return undefined;
    if (e.type === 'identifier') {
      const v = this.bound(e);
      return v ? this.stateOf(v, depth + 1) : undefined;
    }
    if (e.type === 'subscript') return this.albumentationsImage(e, depth);
    if (e.type !== 'call') return undefined;
    const a = this.a;
    const q = a.callee(e);
    const name = calleeName(e) ?? '';
    const args = positionalArgs(e);
    if (q === 'PIL.Image.open') return { k: 'pil' };
    if (q === 'PIL.Image.fromarray') {
      const mode = stringValue(unparen(args[1] ?? keywordArg(e, 'mode')));
      return (mode && /^(L|RGB|RGBA)$/.test(mode)) || /uint8/.test(args[0]?.text ?? '') ? { k: 'pil' } : undefined;
    }
    if (q === 'cv2.imread') return args.length === 1 || /IMREAD_(COLOR|GRAYSCALE)$/.test(args[1]?.text ?? '') ? { k: 'u8arr' } : undefined;
    if (q === 'cv2.cvtColor' || q === 'cv2.resize') return this.stateOf(args[0], depth + 1)?.k === 'u8arr' ? { k: 'u8arr' } : undefined;
    if (q === 'numpy.array' || q === 'numpy.asarray') {
      if (args.length !== 1 || e.child('arguments')!.namedChildren.length !== 1) return undefined;
      const inner = this.stateOf(args[0], depth + 1)?.k;
      return inner === 'pil' || inner === 'u8arr' ? { k: 'u8arr' } : undefined;
    }
    if (q === 'torchvision.io.read_image' || q === 'torchvision.io.decode_image') return { k: 'u8t' };
    if (q === 'torchvision.transforms.functional.to_tensor' || q === 'torchvision.transforms.v2.functional.to_tensor') {
      const k = this.stateOf(args[0], depth + 1)?.k;
      return k === 'pil' || k === 'u8arr' ? { k: 'scaled', by: 'to_tensor()' } : undefined;
    }
    const recv = receiver(e);
    if (recv && PIL_METHODS.test(name)) return this.stateOf(recv, depth + 1)?.k === 'pil' ? { k: 'pil' } : undefined;
    if (recv && KEEPS_VALUES.test(name)) {
      const s = this.stateOf(recv, depth + 1);
      if (s?.k !== 'scaled') return undefined;
      // .to(device) / .to(torch.float32): still scaled; an integer dtype is not
      return /int|uint8|long|short|byte|bool/i.test(e.child('arguments')?.text ?? '') ? undefined : s;
    }
    // a transform applied: ToTensor()(img), tf(img), self.transform(img)
    if (args.length !== 1 || e.child('arguments')!.namedChildren.length !== 1) return undefined;
    const ts = this.transforms(e.child('function'));
    if (!ts.length) return undefined;
    const input = this.stateOf(args[0], depth + 1);
    let out: State | undefined;
    for (const t of ts) {
      const s = this.apply(t, input);
      if (s?.k === 'scaled') out ??= s;
    }
    return out;
  }
}

/** The Compose (or transform) an expression names, through a few bindings. */
function pipelineOf(a: Analysis, n: PyNode | undefined, depth = 0): PyNode | undefined {
  const e = unparen(n);
  if (!e || depth > 3) return undefined;
  if (e.type === 'call') return e;
  if (e.type === 'identifier') return pipelineOf(a, a.scopes.valueAt(e.text, e) ?? undefined, depth + 1);
  return undefined;
}

/** The name an expression is stored under (`img = ...`, `self.img = ...`), for the mask/label test. */
function targetName(n: PyNode): string {
  for (let p = n.parent; p; p = p.parent) {
    if (p.type === 'assignment' || p.type === 'augmented_assignment') return p.child('left')?.text ?? '';
    if (p.type === 'keyword_argument') return p.child('name')?.text ?? '';
    if (/statement|definition|block/.test(p.type)) return '';
  }
  return '';
}

function message(by: string): string {
  const alt = by === 'ToTensor()' || by === 'to_tensor()' ? ' (or use PILToTensor() if you want to scale yourself)' : by.startsWith('ToDtype') ? ' (or set scale=False)' : '';
  if (by === 'albumentations Normalize()') return `${by} already divides pixels by max_pixel_value=255 and standardises them; dividing by 255 again shrinks the inputs 255-fold and training crawls. Drop the / 255.`;
  return `${by} already scales pixels to [0, 1]; dividing by 255 again leaves inputs in [0, 0.004] and training crawls. Drop the / 255${alt}.`;
}

/** The fix for a standalone division: keep the dividend (`ToTensor()(img) / 255.0` -> `ToTensor()(img)`). */
function divisionFix(div: PyNode, x: PyNode, source: string): RawFix[] | undefined {
  const parent = div.parent;
  // img = img / 255.: drop the statement when its block keeps another one
  if (parent?.type === 'assignment' && parent.child('right') === div && parent.child('left')?.text === x.text) {
    const stmt = parent.parent;
    const block = stmt?.parent;
    if (stmt?.type === 'expression_statement' && block?.type === 'block' && block.namedChildren.filter((c) => c.type !== 'comment').length > 1) {
      const lineStart = source.lastIndexOf('\n', stmt.start - 1) + 1;
      const lineEnd = source.indexOf('\n', stmt.end);
      if (source.slice(lineStart, stmt.start).trim() === '' && lineEnd >= 0 && source.slice(stmt.end, lineEnd).trim() === '') {
        return [{ title: 'Remove the second division by 255', edits: [{ start: lineStart, end: lineEnd + 1, newText: '' }] }];
      }
    }
    return undefined;
  }
  return [{ title: 'Remove the division by 255', edits: [{ start: div.start, end: div.end, newText: x.text }] }];
}

export const DT017: Rule = {
  meta: {
    id: 'DT017',
    name: 'images-scaled-twice',
    group: 'data',
    defaultSeverity: 'warning',
    summary: 'Images divided by 255 after ToTensor() already scaled them to [0, 1].',
    why:
      'torchvision\'s `ToTensor()` (and `to_tensor()`, `ToDtype(torch.float32, scale=True)`, `ConvertImageDtype`) turns 0-255 ' +
      'pixels into floats in [0, 1]. Dividing by 255 again leaves the inputs in [0, 0.004]: the first layer sees almost ' +
      'constant, tiny values, so training is slow or stalls while nothing fails. Drop the extra division, or use ' +
      '`PILToTensor()` / `ToImage()` (which keep uint8) if you want to scale yourself. Reported only when the image is ' +
      'known to reach the transform as a PIL image or a uint8 array (ToTensor leaves float arrays as they are).',
    wrong:
      'from torchvision import datasets, transforms\n' +
      'tf = transforms.Compose([transforms.ToTensor(), transforms.Lambda(lambda x: x / 255.0)])\n' +
      'train_set = datasets.MNIST("data", train=True, download=True, transform=tf)',
    right:
      'from torchvision import datasets, transforms\n' +
      'tf = transforms.Compose([transforms.ToTensor()])\n' +
      'train_set = datasets.MNIST("data", train=True, download=True, transform=tf)',
    concept: 'Input normalisation: features on a unit scale',
    fixable: true,
  },
  check(ctx) {
    const a = ctx.analysis;
    if (!ctx.source.includes('255')) return;
    if (!['ToTensor', 'to_tensor', 'ToDtype', 'ConvertImageDtype', 'Normalize', 'ToFloat'].some((n) => a.callsNamed(n).length > 0)) return;
    const flow = new Flow(ctx);
    // 1. pipelines on their own (a v1 PIL-only transform before ToTensor proves PIL input) and those handed PIL images
    for (const c of a.callsNamed('Compose')) {
      if (!c.text.includes('Lambda') || NOT_IMAGE.test(targetName(c))) continue;
      flow.apply(c, undefined);
    }
    for (const [name, pos] of Object.entries(TV_PIL_DATASETS)) {
      for (const c of a.callsNamed(name)) {
        if (!(a.callee(c) ?? '').startsWith('torchvision.datasets.')) continue;
        const tf = keywordArg(c, 'transform') ?? (pos === undefined ? undefined : positionalArgs(c)[pos]);
        const p = pipelineOf(a, tf);
        if (p) flow.apply(p, { k: 'pil' });
      }
    }
    // the Dataset classes of the file: self.transform(img) on a PIL image
    for (const d of datasetClasses(a)) {
      for (const c of d.calls) {
        const f = c.child('function');
        if (f?.type === 'attribute' && f.child('object')?.text === 'self' && !NOT_IMAGE.test(f.text) && !NOT_IMAGE.test(positionalArgs(c)[0]?.text ?? '')) flow.stateOf(c);
      }
    }
    // 2. divisions by 255 of a scaled value
    const divisions = [...ctx.nodesOfType('binary_operator'), ...a.callsNamed('div'), ...a.callsNamed('div_'), ...a.callsNamed('true_divide')];
    for (const div of divisions) {
      const x = unparen(dividend(div, a));
      if (!x || NOT_IMAGE.test(x.text) || NOT_IMAGE.test(targetName(div))) continue;
      const s = flow.stateOf(x);
      if (s?.k !== 'scaled') continue;
      const inPlace = div.type === 'call' && calleeName(div) === 'div_';
      flow.findings.set(div.start, { node: div, by: s.by ?? 'ToTensor()', fixes: inPlace ? undefined : divisionFix(div, x, ctx.source) });
    }
    for (const aug of ctx.nodesOfType('augmented_assignment')) {
      const left = aug.child('left');
      if (operatorOf(aug) !== '/=' || !is255(aug.child('right')) || left?.type !== 'identifier' || NOT_IMAGE.test(left.text)) continue;
      const s = flow.stateOf(left);
      if (s?.k === 'scaled') flow.findings.set(aug.start, { node: aug, by: s.by ?? 'ToTensor()' });
    }
    for (const f of [...flow.findings.values()].sort((x, y) => x.node.start - y.node.start)) {
      ctx.report({ node: f.node, message: message(f.by), fixes: f.fixes });
    }
  },
};
