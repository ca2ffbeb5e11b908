// The arguments of metric calls (`roc_auc_score(y_true, y_score)`, `precision_score(y_true, y_pred)`): what a value
// holds through value-keeping wrappers, and what its name says it holds (predictions or true labels).
import { calleeName, positionalArgs, unparen, type Analysis } from './index';
import type { PyNode } from '../parser';

// Methods that keep what a value holds (a copy, a move, a cast, a reshape).
const KEEP = new Set(['cpu', 'cuda', 'to', 'detach', 'numpy', 'tolist', 'float', 'int', 'long', 'double', 'half', 'bool', 'squeeze', 'flatten', 'ravel', 'reshape', 'view', 'contiguous', 'clone', 'astype', 'type']);
// Functions whose first argument's values they keep (an array of hard labels is still hard labels).
const KEEP_FN = new Set(['numpy.array', 'numpy.asarray', 'numpy.concatenate', 'numpy.hstack', 'numpy.ravel', 'numpy.squeeze', 'torch.tensor', 'torch.as_tensor', 'torch.from_numpy', 'torch.cat', 'torch.concat', 'torch.squeeze', 'torch.flatten']);

/** Strips parentheses, `.data` and value-keeping wrappers: `np.array(preds.cpu().numpy())` -> `preds`. */
export function strip(a: Analysis, e: PyNode | undefined): PyNode | undefined {
  let x = unparen(e);
  for (let i = 0; i < 12 && x; i++) {
    if (x.type === 'attribute' && x.child('attribute')?.text === 'data') x = unparen(x.child('object'));
    else if (x.type === 'call') {
      const f = x.child('function');
      const q = a.callee(x);
      if (f?.type === 'attribute' && q === undefined && KEEP.has(calleeName(x) ?? '')) x = unparen(f.child('object'));
      else if (q && KEEP_FN.has(q) && positionalArgs(x).length >= 1) x = unparen(positionalArgs(x)[0]);
      else return x;
    } else return x;
  }
  return x;
}

// Name parts that say what a variable holds: predictions or scores, or the true labels.
const PREDICTED = new Set(['pred', 'preds', 'prediction', 'predictions', 'predicted', 'hat', 'score', 'scores', 'prob', 'probs', 'proba', 'probas', 'probabilities', 'output', 'outputs', 'logits']);
const TRUE = new Set(['true', 'label', 'labels', 'target', 'targets', 'gt', 'gts', 'truth', 'test', 'val', 'valid']);

const NUMBER = /^-?\s*\d*\.?\d+(e-?\d+)?$/i;

/**
 * Steps that keep what a value holds for its role: a selection of its rows (`preds[mask]`, `y[:, 1]`; not a string key)
 * and a comparison
 * with a number (`preds > 0`, `0.5 <= scores`): the labels or predictions binarised, still the same side.
 */
export function roleKeeping(a: Analysis, e: PyNode | undefined): PyNode | undefined {
  let x = strip(a, e);
  for (let i = 0; i < 6 && x; i++) {
    // `outputs["labels"]`: a key names what it holds, not the container.
    if (x.type === 'subscript') {
      if (x.childrenOf('subscript').some((k) => k.type === 'string')) return x;
      x = strip(a, x.child('value'));
    } else if (x.type === 'comparison_operator' && x.namedChildren.length === 2) {
      const [l, r] = x.namedChildren.map((c) => unparen(c));
      if (r && NUMBER.test(r.text)) x = strip(a, l);
      else if (l && NUMBER.test(l.text)) x = strip(a, r);
      else return x;
    } else return x;
  }
  return x;
}

/** What a plain argument's name says it holds (`y_pred`, `all_preds`, `y_true`, `labels`, `y_test`), if clearly one. */
export function namedAs(a: Analysis, e: PyNode | undefined): 'predicted' | 'true' | undefined {
  let x = roleKeeping(a, e);
  if (x?.type === 'attribute') x = x.child('attribute') ?? undefined;
  if (x?.type !== 'identifier') return undefined;
  const parts = x.text.toLowerCase().split('_').filter(Boolean);
  const predicted = parts.some((p) => PREDICTED.has(p));
  // `y_test` / `y_val` are labels, but `test_preds` is not: the split names count only after `y`.
  const labels = parts.at(-1) !== undefined && (['true', 'label', 'labels', 'target', 'targets', 'gt', 'gts', 'truth'].includes(parts.at(-1)!) || (parts[0] === 'y' && parts.length <= 2 && (parts.length === 1 || TRUE.has(parts[1]!))));
  if (predicted === labels) return undefined;
  return predicted ? 'predicted' : 'true';
}

/** Calls whose first argument (or receiver) they turn into labels of the same kind: `np.argmax(p, axis=1)`, `p.round()`. */
const LABELS_OF = new Set(['argmax', 'round', 'rint', 'squeeze', 'reshape', 'flatten', 'ravel', 'array', 'asarray', 'concatenate']);

/**
 * `pre = model.predict(x)`, then `pre = np.argmax(pre, axis=2)`, `pre = pre.reshape(-1)`: a name that holds what a
 * model's `predict` returned, through value-keeping steps and re-bindings of the same name (a few steps).
 */
export function fromPredict(a: Analysis, e: PyNode | undefined): boolean {
  let x = strip(a, e);
  let at: PyNode | undefined = x;
  for (let i = 0; i < 8 && x && at; i++) {
    if (x.type === 'identifier') {
      // a name on the right of its own assignment holds the binding before that assignment
      const value = unparen(a.scopes.valueAt(x.text, at) ?? undefined);
      if (!value) return false;
      at = value.parent ?? undefined;
      x = strip(a, value);
      continue;
    }
    if (x.type !== 'call') return false;
    const name = calleeName(x) ?? '';
    const f = x.child('function');
    if (/^predict(_classes)?$/.test(name) && f?.type === 'attribute') return true;
    if (!LABELS_OF.has(name)) return false;
    const next = a.callee(x) ? positionalArgs(x)[0] : f?.type === 'attribute' ? f.child('object') : undefined;
    x = strip(a, next ?? undefined);
  }
  return false;
}

/** What an argument holds: by its name (`namedAs`), else predictions when it comes from a model's `predict`. */
export function heldAs(a: Analysis, e: PyNode | undefined): 'predicted' | 'true' | undefined {
  return namedAs(a, e) ?? (fromPredict(a, e) ? 'predicted' : undefined);
}
