// What a metric argument holds, predictions or true labels, beyond `heldAs` (metricArguments.ts): names with a container
// word after the role (`labels_list`, `gt_all`) or a short spelling of it (`grd_list`, `gold`, `tgts`), and lists built
// up by `append` / `extend` whose every added item says the same (`grd.extend(batch_labels.tolist())`).
import { positionalArgs, receiver, type Analysis } from './index';
import { heldAs, strip } from './metricArguments';
import { scopeOf } from './scopes';
import type { PyNode } from '../parser';

type Role = 'predicted' | 'true';

/** Words for a container or a gathering of values, said after what they hold: `labels_list`, `preds_all`. */
const CONTAINER = new Set(['list', 'lst', 'lists', 'arr', 'array', 'arrays', 'all', 'np', 'tensor', 'tensors', 'vec', 'flat', 'cpu', 'total', 'epoch', 'buf', 'buffer', 'collection']);
// The predicted words of `namedAs` too, so a name it finds mixed stays mixed here.
const PREDICTED = new Set(['pred', 'preds', 'prediction', 'predictions', 'predicted', 'prd', 'prds', 'hat', 'hyp', 'hyps', 'score', 'scores', 'prob', 'probs', 'proba', 'probas', 'probabilities', 'output', 'outputs', 'logits']);
const TRUE = new Set(['true', 'label', 'labels', 'target', 'targets', 'gt', 'gts', 'truth', 'truths', 'grd', 'grds', 'gold', 'golds', 'lbl', 'lbls', 'tgt', 'tgts', 'groundtruth']);

/** The role a name's words say, once container words around them are dropped (`grd_list`, `all_labels_np`). */
function roleOfName(name: string): Role | undefined {
  const parts = name.toLowerCase().split('_').filter((p) => p && !CONTAINER.has(p));
  const last = parts.at(-1);
  if (!last) return undefined;
  const predicted = parts.some((p) => PREDICTED.has(p));
  const labels = TRUE.has(last);
  if (predicted === labels) return undefined;
  return predicted ? 'predicted' : 'true';
}

/** The name an argument reads, through value-keeping wrappers and an attribute's last part. */
function nameOf(a: Analysis, e: PyNode | undefined): PyNode | undefined {
  let x = strip(a, e);
  if (x?.type === 'attribute') x = x.child('attribute') ?? undefined;
  return x?.type === 'identifier' ? x : undefined;
}

/**
 * `grd = []` then `grd.extend(labels.tolist())` / `grd.append(y)` in the same scope before the read: the role every
 * added item agrees on (undefined when one says nothing or they disagree).
 */
function roleOfBuiltList(a: Analysis, id: PyNode): Role | undefined {
  const value = a.scopes.valueAt(id.text, id);
  if (value?.type !== 'list' || value.namedChildren.length > 0) return undefined;
  const scope = scopeOf(value);
  const roles = new Set<Role | undefined>();
  for (const method of ['append', 'extend']) {
    for (const call of a.callsNamed(method)) {
      const recv = receiver(call);
      if (recv?.type !== 'identifier' || recv.text !== id.text || call.start < value.end || call.end > id.start || scopeOf(call) !== scope) continue;
      const args = positionalArgs(call);
      const item = nameOf(a, args[0]);
      roles.add(args.length === 1 && item ? (heldAs(a, item) ?? roleOfName(item.text)) : undefined);
    }
  }
  return roles.size === 1 ? [...roles][0] : undefined;
}

/** What a metric argument holds: `heldAs`, else its name's words, else what the list it names was built from. */
export function argumentRole(a: Analysis, e: PyNode | undefined): Role | undefined {
  const held = heldAs(a, e);
  if (held) return held;
  const id = nameOf(a, e);
  if (!id) return undefined;
  return roleOfName(id.text) ?? (id === strip(a, e) ? roleOfBuiltList(a, id) : undefined);
}
