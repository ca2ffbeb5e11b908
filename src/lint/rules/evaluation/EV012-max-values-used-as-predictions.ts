import { calleeName, keywordArg, positionalArgs, receiver, unparen, type Analysis } from '../../analysis';
import { signedInt } from '../../analysis/numbers';
import { scopeOf } from '../../analysis/scopes';
import type { PyNode } from '../../parser';
import type { RawFix, Rule } from '../../types';

/** Where the values of `max(x, dim)` are taken, and how to take the indices instead. */
interface ValuesTaken {
  /** The subscript `...[0]`, the attribute `....values`, or the first target of `vals, _ = ...`. */
  node: PyNode;
  /** The expression that holds the values (the subscript / attribute), or the assignment for the unpacking. */
  holder: PyNode;
  how: 'subscript' | 'values' | 'unpack';
  /** The edit that takes the indices, when local and safe. */
  fix?: RawFix;
}

/**
 * `torch.max(x, 1)` / `torch.max(x, dim=-1)` / `x.max(1)` / `x.max(dim=1)`: a reduction over one non-batch dimension,
 * which returns (values, indices). `torch.max(x)` (a scalar), `torch.max(a, b)` (elementwise) and NumPy's `max`
 * (values only) are not. The tensor, or undefined.
 */
function maxWithDim(call: PyNode, a: Analysis): PyNode | undefined {
  if (calleeName(call) !== 'max' || call.child('function')?.type !== 'attribute') return undefined;
  const args = call.child('arguments');
  if (args?.type !== 'argument_list') return undefined;
  for (const c of args.namedChildren) {
    if (c.type === 'list_splat' || c.type === 'dictionary_splat') return undefined;
    if (c.type === 'keyword_argument' && !/^(dim|keepdim)$/.test(c.child('name')?.text ?? '')) return undefined;
  }
  const q = a.callee(call);
  const isFunction = q === 'torch.max';
  if (q !== undefined && !isFunction) return undefined; // np.max, math functions, anything resolved elsewhere
  const pos = positionalArgs(call);
  const kw = keywordArg(call, 'dim');
  const n = isFunction ? 1 : 0;
  if (pos.length !== (kw ? n : n + 1)) return undefined;
  const dim = signedInt(kw ?? pos[n]);
  // dim 0 over a batch is EV011's; without an integer literal it may be a second tensor (elementwise max).
  if (dim === undefined || dim === 0) return undefined;
  const tensor = isFunction ? pos[0] : receiver(call);
  if (!tensor || isNumpyValue(a, tensor)) return undefined;
  return tensor;
}

/** `x.numpy()` / `np.something(...)` or a name bound to one: NumPy's `max(axis)` returns values only. */
function isNumpyValue(a: Analysis, e: PyNode | undefined, depth = 0): boolean {
  let x = unparen(e);
  if (x?.type === 'identifier' && depth === 0) return isNumpyValue(a, a.scopes.valueAt(x.text, x) ?? undefined, 1);
  for (; x?.type === 'call' || x?.type === 'attribute' || x?.type === 'subscript'; ) {
    if (x.type === 'call') {
      const q = a.callee(x);
      if (q?.startsWith('numpy.') || q?.startsWith('pandas.')) return true;
      if (x.child('function')?.child('attribute')?.text === 'numpy') return true;
      x = unparen(receiver(x));
    } else x = unparen(x.child(x.type === 'attribute' ? 'object' : 'value'));
  }
  return false;
}

/** The values of a max-with-dim call, where they are taken: `[0]`, `.values`, or `vals, _ = ...`. */
function valuesTaken(call: PyNode, a: Analysis): ValuesTaken | undefined {
  if (!maxWithDim(call, a)) return undefined;
  let outer = call;
  while (outer.parent?.type === 'parenthesized_expression') outer = outer.parent;
  const p = outer.parent;
  if (!p) return undefined;
  if (p.type === 'subscript' && p.child('value') === outer) {
    const idx = p.childrenOf('subscript');
    if (idx.length !== 1 || idx[0]!.type !== 'integer' || idx[0]!.text !== '0') return undefined;
    const i = idx[0]!;
    return { node: p, holder: p, how: 'subscript', fix: { title: 'Take the indices: [1]', edits: [{ start: i.start, end: i.end, newText: '1' }] } };
  }
  if (p.type === 'attribute' && p.child('object') === outer) {
    const attr = p.child('attribute');
    if (attr?.text !== 'values' || (p.parent?.type === 'call' && p.parent.child('function') === p)) return undefined;
    return { node: p, holder: p, how: 'values', fix: { title: 'Take the indices: .indices', edits: [{ start: attr.start, end: attr.end, newText: 'indices' }] } };
  }
  if (p.type === 'assignment' && p.child('right') === outer) {
    const left = p.child('left');
    if (left?.type !== 'pattern_list' && left?.type !== 'tuple_pattern' && left?.type !== 'list_pattern') return undefined;
    const names = left.namedChildren.filter((c) => c.type !== 'comment');
    if (names.length !== 2 || names[0]!.type !== 'identifier' || names[1]!.type !== 'identifier') return undefined;
    const [first, second] = names as [PyNode, PyNode];
    const fix: RawFix | undefined = /^_\w*$/.test(second.text)
      ? {
          title: `Take the indices: ${second.text}, ${first.text} = ...`,
          edits: [
            { start: first.start, end: first.end, newText: second.text },
            { start: second.start, end: second.end, newText: first.text },
          ],
        }
      : undefined;
    return { node: first, holder: p, how: 'unpack', fix };
  }
  return undefined;
}

// Methods that keep the values (a copy, a move, a cast): the result is still the max scores.
const KEEP = new Set(['cpu', 'cuda', 'to', 'detach', 'numpy', 'tolist', 'item', 'long', 'int', 'float', 'double', 'squeeze', 'flatten', 'contiguous', 'clone']);
// Methods on the labels side that keep them labels.
const LABEL_KEEP = new Set([...KEEP, 'view', 'view_as', 'reshape', 'type', 'type_as', 'unsqueeze']);

/** Climbs from an expression through parentheses, `.data` and value-keeping methods; the outermost such node. */
function climb(e: PyNode): PyNode {
  for (;;) {
    const p = e.parent;
    if (!p) return e;
    if (p.type === 'parenthesized_expression') e = p;
    else if (p.type === 'attribute' && p.child('object') === e && p.child('attribute')?.text === 'data' && !(p.parent?.type === 'call' && p.parent.child('function') === p)) e = p;
    else if (p.type === 'attribute' && p.child('object') === e && KEEP.has(p.child('attribute')?.text ?? '') && p.parent?.type === 'call' && p.parent.child('function') === p) e = p.parent;
    else return e;
  }
}

// Names that hold labels: y, y_true, yb, labels, targets, gt, ground_truth, classes, ... but not predictions or scores.
const LABEL = /^(y|ys|yb|y_?(true|batch|test|val|valid|train|gt)|gt|truth|ground_?truth|.*labels?|.*targets?|.*class(es)?|.*_cls|cls)$/i;
const NOT_LABEL = /pred|hat|logit|out|score|prob|feat|emb|conf|max|values?$/i;

/** Whether an expression is the labels: a label-like name, through copies, casts, reshapes and `batch['label']`. */
function isLabels(e: PyNode | undefined, tensorBase: string | undefined): boolean {
  let x = unparen(e);
  for (let i = 0; i < 8 && x; i++) {
    if (x.type === 'call') {
      const fn = x.child('function');
      if (fn?.type !== 'attribute' || !LABEL_KEEP.has(fn.child('attribute')?.text ?? '')) return false;
      x = unparen(fn.child('object'));
    } else if (x.type === 'attribute' && x.child('attribute')?.text === 'data') {
      x = unparen(x.child('object'));
    } else if (x.type === 'subscript') {
      const key = x.childrenOf('subscript');
      if (key.length === 1 && key[0]!.type === 'string') return labelName(key[0]!.text.replace(/^[a-z]*['"]+|['"]+$/gi, ''), tensorBase);
      x = unparen(x.child('value'));
    } else if (x.type === 'identifier') {
      return labelName(x.text, tensorBase);
    } else if (x.type === 'attribute') {
      return labelName(x.child('attribute')?.text ?? '', tensorBase);
    } else return false;
  }
  return false;
}

function labelName(name: string, tensorBase: string | undefined): boolean {
  return LABEL.test(name) && !NOT_LABEL.test(name) && name !== tensorBase;
}

/** The name at the root of the reduced tensor (`outputs.data` -> outputs), to tell `x == x.max(1)[0]` masks apart. */
function baseName(e: PyNode | undefined): string | undefined {
  let x = unparen(e);
  while (x && (x.type === 'attribute' || x.type === 'call' || x.type === 'subscript')) x = unparen(x.type === 'attribute' ? x.child('object') : x.type === 'call' ? (receiver(x) ?? positionalArgs(x)[0]) : x.child('value'));
  return x?.type === 'identifier' ? x.text : undefined;
}

const METRIC = /^sklearn\.metrics\.(\w+\.)*(accuracy_score|balanced_accuracy_score|f1_score|fbeta_score|precision_score|recall_score|confusion_matrix|classification_report|precision_recall_fscore_support|matthews_corrcoef|cohen_kappa_score)$/;

/** How a values expression is used as predictions: compared with the labels, or given to a classification metric. */
function usedAsPredictions(e: PyNode, a: Analysis, tensorBase: string | undefined): string | undefined {
  const x = climb(e);
  const p = x.parent;
  if (!p) return undefined;
  if (p.type === 'comparison_operator') {
    const operands = p.namedChildren.filter((c) => c.type !== 'comment');
    const ops = p.children.filter((c) => !c.named);
    if (operands.length !== 2 || ops.length !== 1 || (ops[0]!.text !== '==' && ops[0]!.text !== '!=')) return undefined;
    const other = operands[0] === x ? operands[1] : operands[0];
    return isLabels(other, tensorBase) ? `compared with ${other!.text}` : undefined;
  }
  // values.eq(labels)
  if (p.type === 'attribute' && p.child('object') === x && p.child('attribute')?.text === 'eq') {
    const call = p.parent;
    if (call?.type !== 'call' || call.child('function') !== p) return undefined;
    const args = positionalArgs(call);
    return args.length === 1 && isLabels(args[0], tensorBase) ? `compared with ${args[0]!.text}` : undefined;
  }
  const argList = p.type === 'keyword_argument' ? p.parent : p;
  if (argList?.type !== 'argument_list') return undefined;
  const call = argList.parent;
  if (call?.type !== 'call') return undefined;
  const q = a.callee(call);
  if (q && METRIC.test(q)) return `passed to ${q.split('.').pop()}()`;
  if (p.type === 'keyword_argument') return undefined;
  const args = positionalArgs(call);
  // labels.eq(values) / torch.eq(values, labels)
  if (q === 'torch.eq' && args.length === 2) {
    const other = args[0] === x ? args[1] : args[0];
    return isLabels(other, tensorBase) ? `compared with ${other!.text}` : undefined;
  }
  if (!q && call.child('function')?.type === 'attribute' && call.child('function')?.child('attribute')?.text === 'eq' && args.length === 1) {
    const r = receiver(call);
    return isLabels(r, tensorBase) ? `compared with ${r!.text}` : undefined;
  }
  return undefined;
}

/** Whether a node binds `name` (assignment / for / with-as / walrus / del targets, augmented assignment, import). */
function bindsName(id: PyNode): boolean {
  for (let n: PyNode = id, p = id.parent; p; n = p, p = p.parent) {
    switch (p.type) {
      case 'pattern_list':
      case 'tuple_pattern':
      case 'list_pattern':
      case 'list_splat_pattern':
        continue;
      case 'assignment':
      case 'augmented_assignment':
        return p.child('left') === n;
      case 'for_statement':
      case 'for_in_clause':
        return p.child('left') === n;
      case 'as_pattern_target':
      case 'as_pattern':
        return p.child('alias') === n || p.type === 'as_pattern_target';
      case 'named_expression':
        return p.child('name') === n;
      case 'global_statement':
      case 'nonlocal_statement':
      case 'delete_statement':
        return true;
      default:
        return false;
    }
  }
  return false;
}

/**
 * The reads of `name` after `after` in its scope that still see that binding: in document order, up to the next
 * statement that binds the name again (a conservative stop), never inside nested functions, lambdas or classes.
 */
function readsAfter(name: string, after: PyNode, root: PyNode): PyNode[] {
  const scope = scopeOf(after) ?? root;
  const out: PyNode[] = [];
  let stopped = false;
  scope.walk((n) => {
    if (stopped) return false;
    if (n !== scope && (n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition')) return false;
    if (n.end <= after.end) return false; // before the binding, or the binding itself
    if (n.type !== 'identifier' || n.text !== name || n.start < after.end) return;
    if (bindsName(n)) stopped = true;
    else out.push(n);
  });
  return out;
}

export const EV012: Rule = {
  meta: {
    id: 'EV012',
    name: 'max-values-used-as-predictions',
    group: 'evaluation',
    defaultSeverity: 'error',
    summary: '`torch.max(outputs, 1)[0]` is the highest score of each sample, not its class: the predictions are `[1]`, the indices.',
    why:
      '`torch.max(outputs, 1)` and `outputs.max(1)` return a pair, `(values, indices)`: the highest score of each ' +
      'sample and where it is. The predicted class is the index. Taking the first element (`[0]`, `.values`, or ' +
      '`preds, _ = torch.max(outputs, 1)`) and comparing it with the labels compares scores with class numbers, so ' +
      'the accuracy is close to 0 or meaningless, and nothing fails. Take the indices: `_, preds = torch.max(outputs, 1)`, ' +
      '`outputs.max(1).indices`, or simply `outputs.argmax(dim=1)`.',
    wrong: 'for x, y in val_loader:\n    outputs = model(x)\n    preds, _ = torch.max(outputs, 1)\n    correct += (preds == y).sum().item()',
    right: 'for x, y in val_loader:\n    outputs = model(x)\n    _, preds = torch.max(outputs, 1)\n    correct += (preds == y).sum().item()',
    concept: 'Tensor reductions: values and indices',
    fixable: true,
  },
  nodeTypes: ['call'],
  candidate: { reads: ['imports'], test: (call, ctx) => valuesTaken(call, ctx.analysis) !== undefined },
  visit(call, ctx) {
    const taken = valuesTaken(call, ctx.analysis);
    if (!taken) return;
    const a = ctx.analysis;
    const tensorBase = baseName(maxWithDim(call, a));
    let use: string | undefined;
    if (taken.how === 'unpack') {
      // preds, _ = torch.max(outputs, 1): the reads of preds that still see this binding (valueAt: bound, unknown).
      for (const r of readsAfter(taken.node.text, taken.holder, ctx.root)) {
        if (a.scopes.valueAt(r.text, r) !== null) break;
        if ((use = usedAsPredictions(r, a, tensorBase))) break;
      }
    } else {
      use = usedAsPredictions(taken.holder, a, tensorBase);
      // preds = torch.max(outputs, 1)[0], then preds compared: one name binding in the same scope.
      const top = climb(taken.holder);
      const assign = top.parent;
      const left = assign?.type === 'assignment' && assign.child('right') === top ? assign.child('left') : undefined;
      if (!use && left?.type === 'identifier') {
        for (const r of readsAfter(left.text, assign!, ctx.root)) {
          if (a.scopes.valueAt(r.text, r) !== top) break;
          if ((use = usedAsPredictions(r, a, tensorBase))) break;
        }
      }
    }
    if (!use) return;
    const what = taken.how === 'subscript' ? `${call.text}[0]` : taken.how === 'values' ? `${call.text}.values` : `the first element of ${call.text}`;
    const instead = taken.how === 'subscript' ? '[1]' : taken.how === 'values' ? '.indices' : `\`_, ${taken.node.text} = ...\``;
    ctx.report({
      node: taken.node,
      message: `${what} is the max scores, not the predicted classes, yet it is ${use}: take the indices (${instead}) or use argmax(dim=1).`,
      fixes: taken.fix ? [taken.fix] : undefined,
    });
  },
};
