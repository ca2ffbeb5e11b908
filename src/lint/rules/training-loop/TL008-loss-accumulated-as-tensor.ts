import { calleeName, callsWithin, methodClass, parameterNames, positionalArgs, unparen, type Analysis } from '../../analysis';
import { fileFunctionOf } from '../../analysis/calls';
import { operatorOf } from '../../analysis/order';
import { returnValues } from '../../analysis/modules';
import { gradientStatus } from '../../analysis/gradientCuts';
import { backwardTensor, innermostLoop, isBackward } from '../../analysis/training';
import type { PyNode } from '../../parser';
import type { Rule } from '../../types';

const namesCache = new WeakMap<PyNode, Map<string, PyNode[]>>();

/** Names back-propagated in a scope: `loss.backward()`, `scaler.scale(loss).backward()`. */
function backpropagatedNames(scope: PyNode): Map<string, PyNode[]> {
  const cached = namesCache.get(scope);
  if (cached) return cached;
  const out = new Map<string, PyNode[]>();
  namesCache.set(scope, out);
  for (const c of callsWithin(scope)) {
    if (!isBackward(c)) continue;
    const r = backwardTensor(c);
    if (r && lossRoot(r)) out.set(r.text, [...(out.get(r.text) ?? []), c]);
  }
  return out;
}

/**
 * The name a loss expression is read from: `loss` itself, or the model output holding it: `out.loss`, `outputs[0]`,
 * `outputs["loss"]` (a literal key only: `losses[i]` changes with `i`).
 */
function lossRoot(e: PyNode): PyNode | undefined {
  if (e.type === 'identifier') return e;
  if (e.type === 'attribute') {
    const obj = e.child('object');
    return obj?.type === 'identifier' ? obj : undefined;
  }
  if (e.type === 'subscript') {
    const obj = e.child('value');
    const keys = e.namedChildren.filter((c) => c !== obj);
    const key = keys.length === 1 ? keys[0] : undefined;
    const literal = key?.type === 'integer' || (key?.type === 'string' && !key.namedChildren.some((c) => c.type === 'interpolation'));
    return obj?.type === 'identifier' && literal ? obj : undefined;
  }
  return undefined;
}

const DETACHED = /\.(item|detach|tolist|cpu\(\)\.numpy|numpy)\(\)\s*$|^(float|int)\(/;

/**
 * The loss expression added in `total += loss` / `total += loss * x.size(0)` / `total = total + loss` (or
 * `out.loss`, `outputs[0]`, `outputs["loss"]`), seen from the statement alone.
 */
function addedName(right: PyNode): PyNode | undefined {
  let r = unparen(right);
  if (r?.type === 'binary_operator' && ['*', '/'].includes(operatorOf(r) ?? '')) r = unparen(r.child('left'));
  return r && lossRoot(r) ? r : undefined;
}

/**
 * The statement-local part of `check`: an accumulation into a name or attribute inside a loop, of a name whose value
 * (at the accumulation) is built in that loop and not detached; else undefined.
 */
function localAccumulation(a: Analysis, aug: PyNode): { loss: PyNode; root: PyNode; total: PyNode; loop: PyNode; value: PyNode; meter?: boolean } | undefined {
  const acc = accumulation(aug);
  if (!acc) return undefined;
  const { total, right, meter } = acc;
  if (!total || !right || (total.type !== 'identifier' && total.type !== 'attribute')) return undefined;
  const loop = innermostLoop(aug);
  if (!loop) return undefined;
  const loss = addedName(right);
  const root = loss && lossRoot(loss);
  if (!loss || !root) return undefined;
  const value = boundValue(a, root.text, aug);
  if (!value || DETACHED.test(value.text)) return undefined;
  if (!(loop.start <= value.start && value.end <= loop.end)) return undefined;
  return { loss, root, total, loop, value, meter };
}

/**
 * What a name holds at `at`: its assigned value, or, for `loss, mse = my_loss(...)`, the expression it was unpacked
 * from (the element itself when that is a tuple literal).
 */
function boundValue(a: Analysis, name: string, at: PyNode): PyNode | undefined {
  const v = a.scopes.valueAt(name, at);
  if (v !== null) return v;
  const el = a.scopes.elementAt(name, at);
  const src = unparen(el?.source);
  if (!el || !src) return undefined;
  return src.type === 'expression_list' || src.type === 'tuple' ? src.namedChildren.filter((c) => c.type !== 'comment')[el.index] : src;
}

/**
 * `total += loss`, `total = total + loss`, `losses.append(loss)`, `losses.update(loss, n)` (`meter`: whether the
 * receiver keeps a running sum is for `check` to find out): the accumulator and the added expression.
 */
function accumulation(n: PyNode): { total: PyNode; right: PyNode; meter?: boolean } | undefined {
  if (n.type === 'augmented_assignment') {
    const total = n.child('left');
    const right = n.child('right');
    return operatorOf(n) === '+=' && total && right ? { total, right } : undefined;
  }
  if (n.type === 'assignment') {
    const total = n.child('left');
    const r = unparen(n.child('right'));
    if (!total || r?.type !== 'binary_operator' || operatorOf(r) !== '+' || unparen(r.child('left'))?.text !== total.text) return undefined;
    const right = r.child('right');
    return right ? { total, right } : undefined;
  }
  if (n.type === 'call') {
    const name = calleeName(n);
    if (n.parent?.type !== 'expression_statement' || (name !== 'append' && name !== 'update')) return undefined; // cheap test first
    const f = n.child('function');
    const args = positionalArgs(n);
    if (f?.type !== 'attribute' || f.child('attribute')?.text !== name) return undefined;
    // append(x); update(val) / update(val, n), positional only
    const plain = (n.child('arguments')?.namedChildren ?? []).every((c) => c.type !== 'keyword_argument' && c.type !== 'list_splat' && c.type !== 'dictionary_splat');
    if (name === 'append' ? args.length !== 1 : args.length < 1 || args.length > 2 || !plain) return undefined;
    const total = f.child('object');
    return total ? { total, right: args[0]!, meter: name === 'update' } : undefined;
  }
  return undefined;
}

/**
 * For `meter.update(loss, n)`: the class of `meter` when it is defined in this file and its `update` method adds its
 * first parameter into an attribute (`self.sum += val * n`, the AverageMeter of pytorch/examples), else undefined.
 */
function runningSumClass(a: Analysis, meter: PyNode, at: PyNode): string | undefined {
  if (meter.type !== 'identifier') return undefined;
  const value = unparen(a.scopes.valueAt(meter.text, at) ?? undefined);
  const cls = value?.type === 'call' ? value.child('function') : undefined;
  if (cls?.type !== 'identifier' || !a.definesClass(cls.text)) return undefined;
  const defs = (a.functions.get('update') ?? []).filter((d) => d.parent?.parent?.type === 'class_definition' && d.parent.parent.child('name')?.text === cls.text);
  if (defs.length !== 1) return undefined;
  const def = defs[0]!;
  const params = (def.child('parameters')?.namedChildren ?? []).map((p) => (p.type === 'identifier' ? p : p.namedChildren.find((c) => c.type === 'identifier')));
  const val = params[1]?.text;
  if (!val || params[0]?.text !== 'self') return undefined;
  let sums = false;
  let rebound = false;
  def.child('body')?.walk((x) => {
    if (x.type === 'function_definition' || x.type === 'lambda' || x.type === 'class_definition') return false;
    if ((x.type === 'assignment' || x.type === 'augmented_assignment') && x.child('left')?.text === val) rebound = true; // val = float(val)
    if (x.type === 'augmented_assignment' && operatorOf(x) === '+=' && /^self\.\w+$/.test(x.child('left')?.text ?? '')) {
      const added = addedName(x.child('right')!);
      if (added?.type === 'identifier' && added.text === val) sums = true;
    }
    return undefined;
  });
  return sums && !rebound ? cls.text : undefined;
}

/** The names a loss expression adds up (`mse + 0.1 * ce`), through the function's own assignments (`total = mse + ce`). */
function termsOf(a: Analysis, e: PyNode | undefined, out = new Set<string>(), depth = 0): Set<string> {
  const x = unparen(e);
  if (!x || depth > 4) return out;
  if (x.type === 'identifier') {
    out.add(x.text);
    const v = a.scopes.valueAt(x.text, x);
    if (v) termsOf(a, v, out, depth + 1);
  } else if (x.type === 'binary_operator' && ['+', '-', '*', '/'].includes(operatorOf(x) ?? '')) {
    termsOf(a, x.child('left'), out, depth + 1);
    termsOf(a, x.child('right'), out, depth + 1);
  }
  return out;
}

/** Tensors built without the model's graph: a component bound to one of these carries no history. */
const CONSTANT = /^(torch\.(tensor|zeros|ones|full|as_tensor|zeros_like|ones_like)|len|int|float|sum)$/;

/**
 * `loss, mse, ce = my_loss(...)` with `loss` back-propagated: when `mse` is a term of the back-propagated element in
 * every return of `my_loss` (a function of this file), it is a tensor carrying the same graph. Returns the backward
 * calls of that sibling element inside `loop`, else undefined.
 */
function backpropagatedSibling(a: Analysis, root: PyNode, at: PyNode, loop: PyNode, names: Map<string, PyNode[]>): PyNode[] | undefined {
  const el = a.scopes.elementAt(root.text, at);
  const call = unparen(el?.source);
  const fnName = call?.type === 'call' && call.child('function')?.type === 'identifier' ? call.child('function')!.text : undefined;
  const targets = call?.parent?.type === 'assignment' ? call.parent.child('left')?.namedChildren.filter((c) => c.type !== 'comment') : undefined;
  const fns = fnName ? a.functions.get(fnName) : undefined;
  if (!el || !targets || fns?.length !== 1 || fns[0]!.ancestor('class_definition')) return undefined;
  const returns = returnValues(fns[0]!);
  for (const [j, sibling] of targets.entries()) {
    if (j === el.index) continue;
    const bw = (names.get(sibling.text) ?? []).filter((c) => loop.start <= c.start && c.end <= loop.end && a.scopes.elementAt(sibling.text, c)?.source === el.source);
    if (bw.length === 0) continue;
    const ok = returns.length > 0 && returns.every((r) => isTermOfReturn(a, r, el.index, j, targets.length));
    if (ok) return bw;
  }
  return undefined;
}

/** `return mse + ce, mse, ce`: element `i` is a name, bound to a computed (not detached) tensor, summed in element `j`. */
function isTermOfReturn(a: Analysis, ret: PyNode, i: number, j: number, size: number): boolean {
  const r = unparen(ret);
  if (r?.type !== 'expression_list' && r?.type !== 'tuple') return false;
  const items = r.namedChildren.filter((c) => c.type !== 'comment');
  const term = items[i];
  if (items.length !== size || term?.type !== 'identifier') return false;
  const v = unparen(a.scopes.valueAt(term.text, term) ?? undefined);
  if (!v || (v.type !== 'call' && v.type !== 'binary_operator') || DETACHED.test(v.text)) return false;
  if (v.type === 'call' && CONSTANT.test(a.callee(v) ?? v.child('function')?.text ?? '')) return false;
  return termsOf(a, items[j]).has(term.text);
}

/** Reductions over a container of losses: `sum(losses)`, `torch.stack(losses).sum()`, `losses.mean()`. */
const REDUCTION_FNS = /^(sum|torch\.(sum|mean|stack|cat))$/;
const REDUCTION_METHODS = new Set(['sum', 'mean', 'values']);

/**
 * How the value `value` of `name` (bound in `loop`) feeds the back-propagated expression `e`: 'term' when it is added
 * or scaled into it (`loss = mse + ce`, `loss = losses / n`), 'part' when it is reduced or indexed first
 * (`loss = sum(losses) if isinstance(losses, tuple) else losses`, `loss = losses['total']`), through names bound in
 * the same loop; else undefined. Other calls (`criterion(out, losses)`) are not followed.
 */
function feeds(a: Analysis, e: PyNode | undefined, name: string, value: PyNode, loop: PyNode, depth = 0): 'term' | 'part' | undefined {
  const x = unparen(e);
  if (!x || depth > 6) return undefined;
  if (x.type === 'identifier') {
    if (x.text === name) return boundValue(a, name, x) === value ? 'term' : undefined;
    const v = a.scopes.valueAt(x.text, x);
    return v && loop.start <= v.start && v.end <= loop.end ? feeds(a, v, name, value, loop, depth + 1) : undefined;
  }
  if (x.type === 'binary_operator') {
    const op = operatorOf(x) ?? '';
    const sides = op === '+' || op === '-' || op === '*' ? [x.child('left'), x.child('right')] : op === '/' ? [x.child('left')] : [];
    return best(sides.map((side) => feeds(a, side, name, value, loop, depth + 1)));
  }
  if (x.type === 'conditional_expression') {
    const [then, , otherwise] = x.namedChildren;
    return best([then, otherwise].map((side) => feeds(a, side, name, value, loop, depth + 1)));
  }
  if (x.type === 'subscript') return feeds(a, x.child('value'), name, value, loop, depth + 1) && 'part';
  if (x.type !== 'call') return undefined;
  const f = x.child('function');
  if (f?.type === 'attribute' && REDUCTION_METHODS.has(f.child('attribute')?.text ?? '') && positionalArgs(x).length === 0) return feeds(a, f.child('object'), name, value, loop, depth + 1) && 'part';
  const q = a.callee(x) ?? (f?.type === 'identifier' && a.scopes.valueAt(f.text, x) === undefined ? f.text : '');
  return REDUCTION_FNS.test(q) ? feeds(a, positionalArgs(x)[0], name, value, loop, depth + 1) && 'part' : undefined;
}

/** 'part' over 'term': a value reduced anywhere may be a container (no `.item()` for it). */
function best(found: ('term' | 'part' | undefined)[]): 'term' | 'part' | undefined {
  return found.includes('part') ? 'part' : found.includes('term') ? 'term' : undefined;
}

/**
 * `losses = model.calculate_loss(batch)`, `loss = sum(losses)`, `loss.backward()`, then `history.append(losses)` into a
 * list made before the loop: the appended value is a term (or the container of the terms) of the back-propagated loss,
 * so it holds the same graph. Only a value that may carry a gradient (not `n = x.size(0)` scaling the loss).
 */
function backpropagatedTerm(a: Analysis, root: PyNode, total: PyNode, value: PyNode, loop: PyNode, at: PyNode): 'term' | 'part' | undefined {
  if (total.type === 'identifier') {
    const list = a.scopes.valueAt(total.text, at);
    if (!list || (loop.start <= list.start && list.end <= loop.end)) return undefined;
  }
  let found: 'term' | 'part' | undefined;
  for (const c of callsWithin(loop)) {
    if (!isBackward(c)) continue;
    found = best([found, feeds(a, backwardTensor(c), root.text, value, loop)]);
  }
  return found && gradientStatus(a, value) === 'may' ? found : undefined;
}

function check(a: Analysis, aug: PyNode): { loss: PyNode; total: PyNode; meterClass?: string; component?: boolean; container?: boolean } | undefined {
  // The value reaching the sum must be the back-propagated tensor, not a detached copy (checked in localAccumulation).
  const local = localAccumulation(a, aug);
  if (!local) return undefined;
  const { loss, root, total, loop, value, meter } = local;
  const meterClass = meter ? runningSumClass(a, total, aug) : undefined;
  if (meter && !meterClass) return undefined;
  const scope = aug.ancestor('function_definition') ?? aug.ancestor('module');
  if (!scope) return undefined;
  const names = backpropagatedNames(scope);
  // Accumulating losses to back-propagate their sum once is fine.
  if (names.has(total.text) || callsWithin(scope).some((c) => isBackward(c) && (backwardTensor(c)?.text ?? '').includes(total.text))) return undefined;
  // The backward on that same value happens in this loop.
  const bw = (names.get(loss.text) ?? []).filter((c) => loop.start <= c.start && c.end <= loop.end && boundValue(a, root.text, c) === value);
  if (bw.length > 0) return { loss, total, meterClass };
  // Or `loss, mse = my_loss(...)` with `loss` back-propagated and `mse` one of its terms.
  if (loss === root && backpropagatedSibling(a, root, aug, loop, names)) return { loss, total, meterClass, component: true };
  // Or a term of the back-propagated loss, or the tuple / dict of its terms (`loss = sum(losses)`).
  const term = loss === root ? backpropagatedTerm(a, root, total, value, loop, aug) : undefined;
  return term ? { loss, total, meterClass, component: true, container: term === 'part' } : undefined;
}

/** Methods and functions a call runs that cannot be the file's own (containers, loggers of other libraries). */
const NOT_OWN = new Set(['append', 'extend', 'add', 'update', 'insert', 'put', 'print', 'write', 'log', 'info', 'debug']);

/**
 * The statement-local part of `passedToSum`: `tracker.add_losses(loss)` in a loop, the callee named like a function
 * of the file, with an argument whose value is built in that loop and not detached.
 */
function localPassed(a: Analysis, call: PyNode): { root: PyNode; index: number; loop: PyNode; value: PyNode } | undefined {
  if (call.type !== 'call' || call.parent?.type !== 'expression_statement') return undefined;
  const name = calleeName(call);
  if (!name || NOT_OWN.has(name) || !a.functions.has(name)) return undefined; // cheap test first
  const loop = innermostLoop(call);
  if (!loop) return undefined;
  const args = positionalArgs(call);
  for (const [index, arg] of args.entries()) {
    const root = unparen(arg);
    if (root?.type !== 'identifier') continue;
    const value = boundValue(a, root.text, call);
    if (value && !DETACHED.test(value.text) && loop.start <= value.start && value.end <= loop.end) return { root, index, loop, value };
  }
  return undefined;
}

/** The function of the file a call runs: as `fileFunctionOf` finds it, else the one method of that name in the file. */
function calledDefinition(a: Analysis, call: PyNode): PyNode | undefined {
  const known = fileFunctionOf(call, a);
  if (known) return known;
  const f = call.child('function');
  if (f?.type !== 'attribute') return undefined;
  const defs = a.functions.get(f.child('attribute')?.text ?? '') ?? [];
  return defs.length === 1 && methodClass(defs[0]!) ? defs[0] : undefined;
}

/**
 * Whether a method adds its parameter `param` into an attribute that outlives the call: `self.total += param`,
 * `self.sums[k] += param[k]` (over the keys of a dict of losses), `self.total = self.total + param * n`.
 */
function sumsIntoAttribute(fn: PyNode, param: string): boolean {
  if (!methodClass(fn)) return false;
  let sums = false;
  let rebound = false;
  // `for key, value in param.items()`: `value` is an entry of the parameter.
  const entries = new Set<string>();
  fn.child('body')?.walk((x) => {
    if (x.type === 'function_definition' || x.type === 'lambda' || x.type === 'class_definition') return false;
    if (x.type === 'for_statement') {
      const right = unparen(x.child('right'));
      const left = x.child('left');
      if (right?.text === `${param}.items()` && left?.namedChildren.length === 2 && left.namedChildren[1]!.type === 'identifier') entries.add(left.namedChildren[1]!.text);
    }
    if ((x.type === 'assignment' || x.type === 'augmented_assignment') && x.child('left')?.text === param) rebound = true;
    const acc = x.type === 'augmented_assignment' || x.type === 'assignment' ? accumulation(x) : undefined;
    if (!acc || !/^self\.\w+(\[[^\]]+\])?$/.test(acc.total.text)) return undefined;
    const added = addedName(acc.right) ?? unparen(acc.right);
    const root = added && (lossRoot(added) ?? (added.type === 'subscript' ? unparen(added.child('value')) : undefined));
    if (root?.type === 'identifier' && (root.text === param || entries.has(root.text))) sums = true;
    return undefined;
  });
  return sums && !rebound;
}

/**
 * `tracker.add_losses(loss)` passes the back-propagated loss (or the dict holding it, `loss['total'].backward()`) to a
 * method of the file that adds it into a running sum: the call, the method's class, and whether it is the loss itself
 * (a `.item()` fix applies) or a container of it.
 */
function passedToSum(a: Analysis, call: PyNode): { loss: PyNode; owner: string; container: boolean } | undefined {
  const local = localPassed(a, call);
  if (!local) return undefined;
  const { root, index, loop, value } = local;
  const fn = calledDefinition(a, call);
  const cls = fn && methodClass(fn);
  const param = fn && parameterNames(fn)[index + (cls ? 1 : 0)];
  if (!fn || !cls || !param || !sumsIntoAttribute(fn, param)) return undefined;
  const scope = call.ancestor('function_definition') ?? call.ancestor('module');
  if (!scope) return undefined;
  // The same value is back-propagated in this loop: itself, or an entry of it (`loss['total'].backward()`).
  let container: boolean | undefined;
  for (const c of callsWithin(loop)) {
    if (!isBackward(c)) continue;
    const t = backwardTensor(c);
    const r = t && lossRoot(t);
    if (r?.text !== root.text || boundValue(a, root.text, c) !== value) continue;
    container = t !== r;
    if (!container) break;
  }
  return container === undefined ? undefined : { loss: root, owner: cls.child('name')?.text ?? 'a class', container };
}

/**
 * The statement-local part of `historyAppend`: `losses.append(expr)` in a loop, into a list bound (to a new list)
 * before that loop, so it outlives the iteration, of an expression that is not detached.
 */
function localHistoryAppend(a: Analysis, call: PyNode): { list: PyNode; loop: PyNode } | undefined {
  if (call.type !== 'call' || calleeName(call) !== 'append' || call.parent?.type !== 'expression_statement') return undefined; // cheap test first
  const f = call.child('function');
  const list = f?.type === 'attribute' ? f.child('object') : undefined;
  const args = call.child('arguments')?.namedChildren.filter((c) => c.type !== 'comment') ?? [];
  if (list?.type !== 'identifier' || args.length !== 1 || args[0]!.type === 'keyword_argument' || args[0]!.type === 'list_splat') return undefined;
  const loop = innermostLoop(call);
  const arg = unparen(args[0]);
  if (!loop || !arg || DETACHED.test(arg.text) || /^(integer|float|string|true|false|none)$/.test(arg.type)) return undefined;
  const bound = unparen(a.scopes.valueAt(list.text, call) ?? undefined);
  const fresh = bound?.type === 'list' || (bound?.type === 'call' && bound.child('function')?.text === 'list' && positionalArgs(bound).length === 0);
  if (!bound || !fresh || (loop.start <= bound.start && bound.end <= loop.end)) return undefined;
  return { list, loop };
}

/** `losses[-1]`: the last item of the list named `list`. */
function isLastItem(e: PyNode | undefined, list: string): boolean {
  const x = unparen(e);
  if (x?.type !== 'subscript' || unparen(x.child('value'))?.text !== list) return false;
  const keys = x.namedChildren.filter((c) => c !== x.child('value') && c.type !== 'comment');
  return keys.length === 1 && keys[0]!.text.replace(/\s+/g, '') === '-1';
}

/**
 * `losses.append(reduce(add, terms))` then `losses[-1].backward()` in the same iteration (directly, or through
 * `loss = losses[-1]`): the list kept across iterations holds each back-propagated loss with its graph. The backward
 * call, else undefined.
 */
function historyAppend(a: Analysis, call: PyNode): PyNode | undefined {
  const local = localHistoryAppend(a, call);
  if (!local) return undefined;
  const { list, loop } = local;
  for (const c of callsWithin(loop)) {
    if (c.start < call.end || !isBackward(c)) continue;
    const t = backwardTensor(c);
    if (isLastItem(t, list.text)) return c;
    if (t?.type === 'identifier' && isLastItem(a.scopes.valueAt(t.text, c) ?? undefined, list.text)) return c;
  }
  return undefined;
}

function what(hit: { component?: boolean; container?: boolean }): string {
  if (hit.container) return 'the loss tensors the back-propagated loss is summed from';
  return hit.component ? 'a tensor term of the back-propagated loss' : 'the loss tensor';
}

export const TL008: Rule = {
  meta: {
    id: 'TL008',
    name: 'loss-accumulated-as-tensor',
    group: 'training-loop',
    defaultSeverity: 'warning',
    summary: 'A running total adds the loss tensor itself (`total += loss`), keeping every iteration\'s autograd graph alive.',
    why:
      'The loss is a tensor attached to the autograd graph. `total_loss += loss` makes `total_loss` a tensor too, whose history ' +
      'links back to every batch of the epoch, so memory grows with each iteration (the PyTorch FAQ\'s first "my model uses ' +
      'too much memory" entry) and logging code ends up holding GPU tensors. For statistics take the Python number with ' +
      '`loss.item()` (or `loss.detach()`). The same holds for a term of the loss returned with it (`loss, mse = my_loss(...)` ' +
      'where `my_loss`, a function of this file, returns `mse + ce, mse`), and for the loss (or a dict of losses) handed to ' +
      'a method of the file that adds it into an attribute (`tracker.accumulate(losses)` doing `self.sums[k] += losses[k]`), and for a ' +
      'history list made before the loop that gets each loss appended and back-propagates its last item (`losses.append(loss_fn(x)); ' +
      'losses[-1].backward()`), and for a term of the back-propagated loss (or the tuple / dict it is summed from: ' +
      '`loss = sum(losses)`) appended to a list made before the loop. Summing losses on purpose to call `backward()` ' +
      'on the sum is not reported.',
    wrong: 'total_loss = 0\nfor x, y in loader:\n    optimizer.zero_grad()\n    loss = criterion(model(x), y)\n    loss.backward()\n    optimizer.step()\n    total_loss += loss',
    right: 'total_loss = 0\nfor x, y in loader:\n    optimizer.zero_grad()\n    loss = criterion(model(x), y)\n    loss.backward()\n    optimizer.step()\n    total_loss += loss.item()',
    concept: 'Autograd: tensors keep their computation history until it is released',
    fixable: true,
  },
  nodeTypes: ['augmented_assignment', 'assignment', 'call'],
  // `total += x` / `total = total + x` / `totals.append(x)` in a loop, x built in that loop; whether x is the
  // back-propagated loss reads the whole scope.
  candidate: {
    reads: ['scopes'],
    test: (n, ctx) => localAccumulation(ctx.analysis, n) !== undefined || localPassed(ctx.analysis, n) !== undefined || localHistoryAppend(ctx.analysis, n) !== undefined,
  },
  visit(aug, ctx) {
    const passed = aug.type === 'call' ? passedToSum(ctx.analysis, aug) : undefined;
    if (passed) {
      const { loss, owner, container } = passed;
      ctx.report({
        node: aug,
        message: container
          ? `${aug.text} passes the loss tensors of ${loss.text} into ${owner}, whose running sums keep their graphs across iterations, so memory grows every iteration. Sum .item() values instead.`
          : `${aug.text} passes the loss tensor into ${owner}, whose running sum keeps its graph across iterations, so memory grows every iteration. Pass ${loss.text}.item().`,
        fixes: container ? undefined : [{ title: `Use ${loss.text}.item()`, edits: [{ start: loss.end, end: loss.end, newText: '.item()' }] }],
      });
      return;
    }
    const kept = aug.type === 'call' ? historyAppend(ctx.analysis, aug) : undefined;
    if (kept) {
      const list = aug.child('function')?.child('object')?.text ?? 'the list';
      ctx.report({
        node: aug,
        message: `${aug.text} keeps each iteration's loss tensor, with its graph, in ${list}, which outlives the loop body, so memory grows every iteration. Back-propagate the loss itself and append its .item().`,
      });
      return;
    }
    const hit = check(ctx.analysis, aug);
    if (!hit) return;
    // A tuple or dict of losses has no .item(): its elements are to be detached (no fix).
    if (hit.container) {
      ctx.report({
        node: aug,
        message: `${aug.text} keeps ${what(hit)}, with their graphs, across iterations, so memory grows every iteration. Keep their .item() values instead.`,
      });
      return;
    }
    ctx.report({
      node: aug,
      message: hit.meterClass
        ? `${aug.text} passes ${what(hit)} into ${hit.meterClass}, whose running sum keeps its graph across iterations, so memory grows every iteration. Pass ${hit.loss.text}.item().`
        : `${aug.text} keeps ${what(hit)} with its graph across iterations, so memory grows every iteration. Use ${hit.loss.text}.item().`,
      fixes: [{ title: `Use ${hit.loss.text}.item()`, edits: [{ start: hit.loss.end, end: hit.loss.end, newText: '.item()' }] }],
    });
  },
};
