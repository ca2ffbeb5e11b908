import { calleeName, enclosingFunction, hasParameter, keywordArg, positionalArgs, receiver, unparen, type Analysis } from '../../analysis';
import { argumentFor, fileFunctionOf } from '../../analysis/calls';
import { reachingDefs } from '../../analysis/reaching';
import { innermostLoop } from '../../analysis/training';
import type { PyNode } from '../../parser';
import type { Rule } from '../../types';

/** A condition that picks the best epoch: `val_loss < best_loss`, `is_best`, `if improved:`. */
const BEST = /best|improv/i;
/** Calls that put other weights back in the model (or read the checkpoint) before the last save. */
const RESTORES = new Set(['load_state_dict', 'load_weights', 'set_weights', 'load', 'load_model', 'load_checkpoint']);
const KERAS_SAVES = new Set(['save', 'save_weights']);

interface Save {
  call: PyNode;
  path: PyNode;
  /** What runs again and again around the best save: the loop it sits in, or the `fit` that runs the checkpoint. */
  region: PyNode;
}

/** The path a checkpoint call writes: `torch.save(obj, path)`, `model.save(path)`, `model.save_weights(path)`. */
function savedPath(call: PyNode, a: Analysis): PyNode | undefined {
  const q = a.callee(call);
  if (q === 'torch.save') return unparen(positionalArgs(call)[1] ?? keywordArg(call, 'f'));
  const name = calleeName(call);
  if (!name || !KERAS_SAVES.has(name) || q !== undefined) return undefined;
  const recv = unparen(receiver(call));
  // `model.save(path)` on a Keras-like model: not `torch`, `np`, `plt`, a dataframe or a pickle module.
  if (!recv || (recv.type !== 'identifier' && recv.type !== 'attribute') || !/model|net|autoencoder|classifier|generator|discriminator|encoder|decoder/i.test(recv.text)) return undefined;
  return unparen(positionalArgs(call)[0] ?? keywordArg(call, 'filepath'));
}

/** The `if`/`elif` conditions above `node` inside its function, each with whether `node` is in its else branch. */
function conditionsAbove(node: PyNode): { test: PyNode; inElse: boolean }[] {
  const out: { test: PyNode; inElse: boolean }[] = [];
  let child = node;
  for (let p = node.parent; p && p.type !== 'function_definition' && p.type !== 'class_definition' && p.type !== 'lambda'; child = p, p = p.parent) {
    if (p.type === 'if_statement' || p.type === 'elif_clause') {
      const test = p.child('condition');
      if (test && child !== test) out.push({ test, inElse: child.type === 'else_clause' || child.type === 'elif_clause' });
    } else if (p.type === 'conditional_expression') out.push({ test: p, inElse: false });
  }
  return out;
}

/** Each `if` above `node` (in its function) with the branch that holds it: the block, an `elif` or the `else`. */
function branchesAbove(node: PyNode): Map<PyNode, PyNode> {
  const out = new Map<PyNode, PyNode>();
  let child = node;
  for (let p = node.parent; p && p.type !== 'function_definition' && p.type !== 'class_definition'; child = p, p = p.parent) {
    if (p.type === 'if_statement') out.set(p, child);
  }
  return out;
}

/** Whether two calls sit in different branches of one `if` (`if e == 0: save(...) else: if best: save(...)`). */
function exclusive(x: PyNode, y: PyNode): boolean {
  const bx = branchesAbove(x);
  for (const [stmt, branch] of branchesAbove(y)) if (bx.has(stmt) && bx.get(stmt) !== branch) return true;
  return false;
}

/** `ModelCheckpoint(path, save_best_only=True)`: the path it keeps the best weights in. */
function bestOnlyCheckpoint(call: PyNode, a: Analysis): PyNode | undefined {
  if (calleeName(call) !== 'ModelCheckpoint') return undefined;
  const q = a.callee(call);
  if (q !== undefined && !/keras/.test(q)) return undefined;
  if (keywordArg(call, 'save_best_only')?.text !== 'True') return undefined;
  return unparen(positionalArgs(call)[0] ?? keywordArg(call, 'filepath'));
}

/**
 * Where a best-only checkpoint is set up: the `ModelCheckpoint` call, or, when it is built in a helper of the file
 * from a parameter (`get_callbacks(model_path)`), each call of the helper with the path it is given.
 */
function checkpointSites(a: Analysis, call: PyNode, path: PyNode): { call: PyNode; path: PyNode }[] {
  const out = [{ call, path }];
  const fn = enclosingFunction(call);
  const name = fn?.child('name')?.text;
  if (!fn || !name || path.type !== 'identifier' || !hasParameter(fn, path.text)) return out;
  for (const site of a.callsNamed(name)) {
    const arg = fileFunctionOf(site, a) === fn ? unparen(argumentFor(site, fn, path.text)) : undefined;
    if (arg) out.push({ call: site, path: arg });
  }
  return out;
}

/** The `fit` call after the checkpoint in the same function: the overwrite must come after it. */
function fitAfter(a: Analysis, call: PyNode): PyNode | undefined {
  const scope = enclosingFunction(call);
  return [...a.callsNamed('fit'), ...a.callsNamed('fit_generator')].find((c) => c.start > call.end && enclosingFunction(c) === scope);
}

/**
 * Two path expressions that name the same file: the same text, its names bound by the same assignments at both
 * places, and none of them bound inside `region` (`f"ckpt_{epoch}.pt"` is another file each epoch).
 */
function samePath(p: PyNode, q: PyNode, region: PyNode): boolean {
  if (p.text.replace(/\s+/g, '') !== q.text.replace(/\s+/g, '')) return false;
  const ids = (n: PyNode) => {
    const out: PyNode[] = [];
    n.walk((x) => {
      if (x.type === 'attribute') {
        const root = unparen(x.child('object'));
        if (root?.type === 'identifier') out.push(root);
        else if (root) out.push(...ids(root));
        return false;
      }
      if (x.type === 'keyword_argument') {
        const v = x.child('value');
        if (v) out.push(...ids(v));
        return false;
      }
      if (x.type === 'identifier') out.push(x);
    });
    return out;
  };
  const a = ids(p);
  const b = ids(q);
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const da = reachingDefs(a[i]!);
    const db = reachingDefs(b[i]!);
    // A name we cannot follow (bound in a loop header, in `try`, global): it may name another file.
    if (!da || !db || da.length !== db.length || da.some((d, k) => d.value !== db[k]!.value || d.index !== db[k]!.index)) return false;
    if (da.some((d) => d.value && d.value.start >= region.start && d.value.end <= region.end)) return false;
  }
  return true;
}

function bestSaves(a: Analysis, calls: readonly PyNode[]): Save[] {
  const out: Save[] = [];
  for (const call of calls) {
    const ckpt = bestOnlyCheckpoint(call, a);
    if (ckpt) {
      for (const site of checkpointSites(a, call, ckpt)) {
        const fit = fitAfter(a, site.call);
        if (fit) out.push({ call: site.call, path: site.path, region: fit });
      }
      continue;
    }
    const path = savedPath(call, a);
    if (!path) continue;
    const loop = innermostLoop(call);
    if (loop && conditionsAbove(call).some((c) => !c.inElse && BEST.test(c.test.text))) out.push({ call, path, region: loop });
  }
  return out;
}

/** A later save of the same file that runs whatever the score: every epoch in the loop, or once after it. */
function overwrite(a: Analysis, best: Save, calls: readonly PyNode[]): PyNode | undefined {
  const scope = enclosingFunction(best.call);
  for (const call of calls) {
    if (call === best.call || enclosingFunction(call) !== scope) continue;
    const inLoop = best.region.type !== 'call' && call.start >= best.region.start && call.end <= best.region.end;
    if (!inLoop && call.start < best.region.end) continue;
    const path = savedPath(call, a);
    if (!path || !samePath(best.path, path, best.region)) continue;
    // Other branches of one `if` (the first epoch, a run without validation data): not both in one epoch.
    if (exclusive(best.call, call)) continue;
    // Another save guarded by the score (or in the else of a `save_best` switch) is the same best save.
    if (conditionsAbove(call).some((c) => BEST.test(c.test.text))) continue;
    // The best weights saved again: `torch.save(best_state, path)`, `best_model.save(path)`.
    if (BEST.test(call.text.slice(0, path.start - call.start))) continue;
    // Weights put back (or the checkpoint read) between the loop and this save.
    const from = inLoop ? best.region.start : best.region.end;
    if (calls.some((c) => c.start >= from && c.end <= call.start && RESTORES.has(calleeName(c) ?? ''))) continue;
    return call;
  }
  return undefined;
}

export const DV008: Rule = {
  meta: {
    id: 'DV008',
    name: 'best-checkpoint-overwritten',
    group: 'device',
    defaultSeverity: 'warning',
    summary: 'The best checkpoint is saved to a file that a later, unconditional save overwrites with the latest weights.',
    why:
      'Saving the model when the validation score improves keeps the best epoch, but only if nothing else writes that ' +
      'file. A `torch.save(model.state_dict(), path)` at the end of every epoch, or once after the loop (after early ' +
      'stopping, the last epoch is `patience` epochs past the best), or `model.save_weights(path)` after a `fit` whose ' +
      '`ModelCheckpoint(path, save_best_only=True)` kept the best, replaces the best weights with the last ones. Nothing ' +
      'fails: the file is there and loads, and the model evaluated or shipped later is not the one that scored best. Save ' +
      'the latest weights under another name (`last.pt`), or load the best checkpoint back before the final save. Not ' +
      'reported when the path changes per epoch (`f"ckpt_{epoch}.pt"`), when the later save is itself guarded by the ' +
      'score, saves the best weights (`best_state`), or comes after the weights are loaded back.',
    wrong:
      'for epoch in range(epochs):\n    train_one_epoch(model, loader)\n    val_loss = evaluate(model, val_loader)\n    if val_loss < best_loss:\n        best_loss = val_loss\n        torch.save(model.state_dict(), "model.pt")\ntorch.save(model.state_dict(), "model.pt")',
    right:
      'for epoch in range(epochs):\n    train_one_epoch(model, loader)\n    val_loss = evaluate(model, val_loader)\n    if val_loss < best_loss:\n        best_loss = val_loss\n        torch.save(model.state_dict(), "best.pt")\ntorch.save(model.state_dict(), "last.pt")',
    concept: 'Checkpointing: keep the best and the latest weights in separate files',
    fixable: false,
  },
  check(ctx) {
    const a = ctx.analysis;
    // Cheap name tests first: most files never save twice.
    const saves = [...a.callsNamed('save'), ...a.callsNamed('save_weights')];
    if (saves.length < 1) return;
    const checkpoints = a.callsNamed('ModelCheckpoint');
    if (saves.length < 2 && checkpoints.length === 0) return;
    const calls = [...saves, ...checkpoints, ...[...RESTORES].flatMap((n) => a.callsNamed(n))].sort((x, y) => x.start - y.start);
    for (const best of bestSaves(a, [...saves, ...checkpoints])) {
      const later = overwrite(a, best, calls);
      if (!later) continue;
      const line = ctx.lines.position(best.call.start).line + 1;
      const what = best.region.type === 'call' ? `the best-only ModelCheckpoint set up on line ${line}` : `the best model saved on line ${line}`;
      const when = best.region.type !== 'call' && later.start < best.region.end ? 'every epoch' : 'after training';
      ctx.report({
        node: later,
        message: `This save writes the latest weights to ${best.path.text} ${when}, over ${what}: the best model is lost. Save the latest weights under another name, or load the best checkpoint back first.`,
      });
    }
  },
};
