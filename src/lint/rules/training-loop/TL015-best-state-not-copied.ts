import { callsWithin, calleeName, enclosingFunction, loopTargetBinds, positionalArgs, receiver, unparen, type Analysis } from '../../analysis';
import { MODEL_NAME } from '../../analysis/outputs';
import { scopeOf } from '../../analysis/scopes';
import { innermostLoop, isBackward, optimizerBuilds } from '../../analysis/training';
import type { PyNode } from '../../parser';
import type { RawEdit, Rule, RuleContext } from '../../types';

function lastName(n: PyNode): string {
  return n.type === 'attribute' ? (n.child('attribute')?.text ?? '') : n.text;
}

/** Whether `m` (text of a name or attribute) is bound to another object inside `loop`: `model = Net()`, `with ... as model`. */
function reboundIn(loop: PyNode, m: string): boolean {
  let rebound = false;
  loop.walk((n) => {
    if (rebound || n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
    if (n.type === 'as_pattern') n.child('alias')?.walk((t) => void (t.text === m && (rebound = true)));
    if (n.type === 'for_statement' && n !== loop && loopTargetBinds(n, m)) rebound = true;
    if (n.type !== 'assignment') return undefined;
    const right = n.child('right');
    // `model = model.to(device)` keeps the same object.
    const same = right?.type === 'call' && right.text.startsWith(`${m}.`);
    n.child('left')?.walk((t) => {
      const target = t.type === 'identifier' || t.type === 'attribute' || t.type === 'subscript';
      if (target && t.text === m && !same) rebound = true;
      // `model.fc = ...` changes the model, it does not re-bind it.
      return target && t.type !== 'identifier' ? false : undefined;
    });
    return undefined;
  });
  return rebound;
}

/**
 * Whether `model` (`model`, `self.net`) is the model the loop trains: used in it (called, passed to a call, or a
 * method called on it; for `self.x`, a method of `self` called in the loop) and named like a model, given to an
 * optimizer or switched to train mode.
 */
function isTrainedModel(model: PyNode, loop: PyNode, a: Analysis): boolean {
  const m = model.text;
  const scope = scopeOf(loop);
  const calls = callsWithin(loop);
  const used = calls.some((c) => {
    const fn = c.child('function');
    if (fn?.text === m || receiver(c)?.text === m) return true;
    if (model.type === 'attribute' && model.child('object')?.text === 'self' && receiver(c)?.text === 'self') return true;
    return c.child('arguments')?.namedChildren.some((arg) => (arg.type === 'keyword_argument' ? arg.child('value') : arg)?.text === m) ?? false;
  });
  if (!used) return false;
  if (MODEL_NAME.test(lastName(model))) return true;
  if (optimizerBuilds(a).some((b) => b.model === m && b.scope === scope)) return true;
  return a.callsNamed('train').some((c) => receiver(c)?.text === m && scopeOf(c) === scope);
}

/** The first mention of `name` after `from` in `scope`, not counting attribute fields and keyword names. */
function firstUseAfter(ctx: RuleContext, name: string, from: number, scope: PyNode | null): PyNode | undefined {
  for (const id of ctx.nodesOfType('identifier')) {
    if (id.start < from || id.text !== name || scopeOf(id) !== scope) continue;
    const p = id.parent;
    if (p?.type === 'attribute' && p.child('attribute') === id) continue;
    if (p?.type === 'keyword_argument' && p.child('name') === id) continue;
    return id;
  }
  return undefined;
}

/** `copy.deepcopy` as the file spells it, and the edit adding `import copy` when the file lacks it. */
function deepcopyFix(ctx: RuleContext): { call: string; importEdit?: RawEdit } {
  const imports = ctx.analysis.imports;
  const mod = imports.localName('copy');
  if (mod) return { call: `${mod}.deepcopy` };
  const fn = imports.localName('copy.deepcopy');
  if (fn) return { call: fn };
  // Before the first statement that is not a comment, the docstring or a `from __future__` import.
  let at = 0;
  for (const s of ctx.root.children) {
    if (s.type === 'comment' || s.type === 'future_import_statement' || (s.type === 'expression_statement' && s.namedChildren[0]?.type === 'string')) {
      at = s.end + 1;
      continue;
    }
    at = s.start;
    break;
  }
  at = Math.min(at, ctx.source.length);
  const newText = at > 0 && ctx.source[at - 1] !== '\n' ? '\nimport copy\n' : 'import copy\n';
  return { call: 'copy.deepcopy', importEdit: { start: at, end: at, newText } };
}

/** `best_model = model` in an `if` of the training loop, the name read after the loop: the same object goes on training. */
function checkAlias(assignment: PyNode, left: PyNode, right: PyNode, ctx: RuleContext, node: PyNode = assignment): void {
  const loop = innermostLoop(assignment);
  if (!loop) return;
  let inIf = false;
  for (let p = assignment.parent; p && p !== loop; p = p.parent) if (p.type === 'if_statement') inIf = true;
  if (!inIf) return;
  const a = ctx.analysis;
  const m = right.text;
  if (!isTrainedModel(right, loop, a)) return;
  // `model = best_model` (restoring), or keeping the model of a loop over models: not this bug.
  if (isTrainedModel(left, loop, a)) return;
  for (let l: PyNode | undefined = loop; l; l = innermostLoop(l)) if (l.type === 'for_statement' && loopTargetBinds(l, m)) return;
  if (reboundIn(loop, m)) return;
  const name = left.text;
  const scope = scopeOf(assignment);
  const use = firstUseAfter(ctx, name, loop.end, scope);
  if (!use) return;
  const parent = use.parent;
  // Re-bound after the loop (`best_model = Net()`), or loaded back from a checkpoint: the alias is not what is used.
  if (parent?.type === 'assignment' && parent.child('left') === use) return;
  if (parent?.type === 'attribute' && parent.parent?.type === 'call' && calleeName(parent.parent) === 'load_state_dict') return;
  const { call, importEdit } = deepcopyFix(ctx);
  const edits: RawEdit[] = [{ start: right.start, end: right.end, newText: `${call}(${m})` }];
  if (importEdit) edits.push(importEdit);
  ctx.report({
    node,
    message: `${name} = ${m} keeps the same object, which goes on training: copy it (copy.deepcopy(${m})) or save its state_dict copy.`,
    fixes: [{ title: `Keep a copy: ${call}(${m})`, edits }],
  });
}

/** A name that can keep the best weights: a variable, or `self.best_state` in a trainer class. */
function isKeptName(left: PyNode): boolean {
  return left.type === 'identifier' || (left.type === 'attribute' && left.child('object')?.text === 'self');
}

/** `model.state_dict()` (no arguments) -> the call. */
function stateDictCall(n: PyNode | undefined): PyNode | undefined {
  const e = unparen(n);
  return e?.type === 'call' && calleeName(e) === 'state_dict' && !positionalArgs(e).length ? e : undefined;
}

/** `{k: v for k, v in sd.items()}`: a new dict holding the same tensors. */
function plainComprehension(e: PyNode): PyNode | undefined {
  const body = e.child('body');
  const clauses = e.namedChildren.filter((c) => c.type === 'for_in_clause' || c.type === 'if_clause');
  const clause = clauses.length === 1 ? clauses[0] : undefined;
  const targets = clause?.type === 'for_in_clause' ? clause.child('left')?.namedChildren : undefined;
  const value = body?.type === 'pair' ? body.child('value') : undefined;
  if (value?.type !== 'identifier' || targets?.length !== 2 || targets[1]?.text !== value.text) return undefined;
  const items = clause?.child('right');
  return items?.type === 'call' && calleeName(items) === 'items' && !positionalArgs(items).length ? stateDictCall(receiver(items)) : undefined;
}

/**
 * The `state_dict()` call whose tensors `right` keeps: bare, or behind a copy of the dict only (`.copy()`, `dict(...)`,
 * `OrderedDict(...)`, `{k: v for k, v in ....items()}`), named in `shallow`.
 */
function liveStateDict(a: Analysis, right: PyNode | undefined): { stateDict: PyNode; shallow?: string } | undefined {
  const e = unparen(right);
  if (e?.type === 'dictionary_comprehension') {
    const sd = plainComprehension(e);
    return sd ? { stateDict: sd, shallow: 'the comprehension' } : undefined;
  }
  if (e?.type !== 'call') return undefined;
  // The memoised callee name first: this runs on every assignment of the file.
  const name = calleeName(e);
  if (name === 'state_dict') return positionalArgs(e).length ? undefined : { stateDict: e };
  if (name !== 'copy' && name !== 'dict' && name !== 'OrderedDict') return undefined;
  if (e.child('arguments')?.namedChildren.length !== (name === 'copy' ? 0 : 1)) return undefined;
  if (name === 'copy') {
    const sd = stateDictCall(receiver(e));
    return sd ? { stateDict: sd, shallow: '.copy()' } : undefined;
  }
  const fn = e.child('function');
  const copies = a.callee(e) === 'collections.OrderedDict' || (fn?.type === 'identifier' && fn.text === 'dict' && a.scopes.valueAt('dict', fn) === undefined);
  const sd = copies ? stateDictCall(positionalArgs(e)[0]) : undefined;
  return sd ? { stateDict: sd, shallow: `${fn?.text ?? name}(...)` } : undefined;
}

/**
 * Restored from the kept name: `load_state_dict(best_state)` after the loop in the same function, or for
 * `self.best_state` also in another method of the same class.
 */
function restoredAfter(a: Analysis, left: PyNode, assignment: PyNode, loop: PyNode): boolean {
  const name = left.text;
  const scope = enclosingFunction(assignment) ?? null;
  const cls = left.type === 'attribute' ? assignment.ancestor('class_definition') : undefined;
  return a.callsNamed('load_state_dict').some((c: PyNode) => {
    if (positionalArgs(c)[0]?.text !== name) return false;
    const fn = enclosingFunction(c) ?? null;
    if (fn === scope) return c.start >= loop.end;
    return cls !== undefined && fn !== null && c.ancestor('class_definition') === cls;
  });
}

/** `x`, or `x` as an element of a tuple / list or a value of a dict literal (`{"model": x, "epoch": e}`). */
function holds(e: PyNode | undefined, name: string): boolean {
  const n = unparen(e);
  if (!n) return false;
  if (n.text === name) return true;
  if (n.type === 'tuple' || n.type === 'list' || n.type === 'expression_list') return n.namedChildren.some((c) => holds(c, name));
  if (n.type === 'dictionary') return n.namedChildren.some((p) => p.type === 'pair' && unparen(p.child('value'))?.text === name);
  return false;
}

/**
 * The kept name leaves the loop as "the best": `torch.save(best_state, ...)` (or a checkpoint dict holding it) or
 * `return best_state` after the loop in the same function. Only for a name kept conditionally as the best (the
 * assignment sits in an `if` inside the loop and the name or the condition says "best"): a state kept on every
 * epoch and saved after the loop is the last one on purpose.
 */
function savedAfter(a: Analysis, left: PyNode, assignment: PyNode, loop: PyNode): PyNode | undefined {
  let cond: PyNode | undefined;
  for (let p = assignment.parent; p && p !== loop; p = p.parent) if (p.type === 'if_statement') cond = p.child('condition');
  if (!cond || !(/best/i.test(left.text) || /best/i.test(cond.text))) return undefined;
  const name = left.text;
  const scope = enclosingFunction(assignment) ?? null;
  const after = (n: PyNode) => n.start >= loop.end && (enclosingFunction(n) ?? null) === scope;
  const save = a.callsNamed('save').find((c) => after(c) && a.callee(c) === 'torch.save' && holds(positionalArgs(c)[0], name));
  if (save) return save;
  if (!scope) return undefined;
  let ret: PyNode | undefined;
  scope.child('body')?.walk((n) => {
    if (ret || n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
    if (n.type === 'return_statement' && n.start >= loop.end && holds(n.namedChildren[0], name)) ret = n;
    return undefined;
  });
  return ret;
}

/** The identifier a receiver starts from: `model` for `model.module`, `self` for `self.net`. */
function rootName(n: PyNode | undefined): PyNode | undefined {
  let e = unparen(n);
  while (e?.type === 'attribute' || e?.type === 'subscript') e = unparen(e.child(e.type === 'attribute' ? 'object' : 'value'));
  return e?.type === 'identifier' ? e : undefined;
}

/** Whether `loop` trains: it (or a loop inside it) back-propagates, or calls a function or method of the file that does. */
function trainsIn(a: Analysis, loop: PyNode): boolean {
  return callsWithin(loop).some((c) => {
    if (isBackward(c)) return true;
    const name = calleeName(c);
    const f = c.child('function');
    const own = f?.type === 'identifier' || (f?.type === 'attribute' && f.child('object')?.text === 'self');
    return own && !!name && (a.functions.get(name) ?? []).some((d) => callsWithin(d).some(isBackward));
  });
}

/**
 * `self.best_state = self.model.state_dict()` in an `if` of a training loop, where nothing in this file restores or
 * saves it: the attribute outlives the method, for the caller or a subclass to load "the best" weights. Every read of
 * it in the file is an `is None` test (any other read, a save on the spot or a copy, leaves it alone).
 */
function keptOnInstance(a: Analysis, left: PyNode, assignment: PyNode, loop: PyNode, stateDict: PyNode): boolean {
  if (left.type !== 'attribute' || left.child('object')?.text !== 'self' || !/best/i.test(left.child('attribute')?.text ?? '')) return false;
  let inIf = false;
  for (let p = assignment.parent; p && p !== loop; p = p.parent) if (p.type === 'if_statement') inIf = true;
  if (!inIf || !trainsIn(a, loop)) return false;
  const root = rootName(receiver(stateDict));
  if (root && root.text !== 'self' && reboundIn(loop, root.text)) return false;
  const attr = left.child('attribute')!.text;
  return a.index.of('attribute').every((n) => {
    if (n.child('attribute')?.text !== attr || n.child('object')?.text !== 'self') return true;
    const p = n.parent;
    if (p?.type === 'assignment' && p.child('left') === n) return true;
    return p?.type === 'comparison_operator' && /^self\.\w+\s+is(\s+not)?\s+None$/.test(p.text);
  });
}

function reportInstance(ctx: RuleContext, left: PyNode, right: PyNode, live: { stateDict: PyNode; shallow?: string }): void {
  const name = left.text;
  const model = receiver(live.stateDict)?.text ?? 'model';
  const holdsText = live.shallow ? `${live.shallow} is a shallow copy: it` : `${name}`;
  ctx.report({
    node: right,
    message: `${holdsText} holds ${model}'s live tensors, which later steps keep changing: whoever loads ${name} after training gets the last weights, not the best. Copy them.`,
    fixes: [{ title: 'Keep a copy of the tensors', edits: [{ start: right.start, end: right.end, newText: `{k: v.detach().clone() for k, v in ${live.stateDict.text}.items()}` }] }],
  });
}

/** One kept pair: `left = right` (or an element pair of a tuple assignment). */
function checkKept(assignment: PyNode, left: PyNode, right: PyNode, ctx: RuleContext): void {
  if (left.type === 'identifier' && (right.type === 'identifier' || right.type === 'attribute')) return checkAlias(assignment, left, right, ctx, right === assignment.child('right') ? assignment : right);
  if (!isKeptName(left)) return;
  const live = liveStateDict(ctx.analysis, right);
  if (!live) return;
  const loop = innermostLoop(assignment);
  if (!loop) return;
  let sink = 'load_state_dict';
  if (!restoredAfter(ctx.analysis, left, assignment, loop)) {
    const saved = savedAfter(ctx.analysis, left, assignment, loop);
    if (!saved) {
      if (keptOnInstance(ctx.analysis, left, assignment, loop, live.stateDict)) reportInstance(ctx, left, right, live);
      return;
    }
    // A model re-bound in the loop (`model = load_model(path)`) is a new object: the kept tensors stay as they were.
    const root = rootName(receiver(live.stateDict));
    if (root && root.text !== 'self' && reboundIn(loop, root.text)) return;
    sink = saved.type === 'return_statement' ? 'return' : 'torch.save';
  }
  const name = left.text;
  const model = receiver(live.stateDict)?.text ?? 'model';
  const holdsText = live.shallow ? `${live.shallow} is a shallow copy: it` : `${name}`;
  const after =
    sink === 'load_state_dict'
      ? `load_state_dict(${name}) after the loop restores the last weights, not the best`
      : sink === 'return'
        ? `returning ${name} after the loop gives the last weights, not the best`
        : `saving ${name} after the loop saves the last weights, not the best`;
  ctx.report({
    node: right,
    message: `${holdsText} holds ${model}'s live tensors, which later steps keep changing: ${after}. Copy them.`,
    fixes: [{ title: 'Keep a copy of the tensors', edits: [{ start: right.start, end: right.end, newText: `{k: v.detach().clone() for k, v in ${live.stateDict.text}.items()}` }] }],
  });
}

export const TL015: Rule = {
  meta: {
    id: 'TL015',
    name: 'best-state-not-copied',
    group: 'training-loop',
    defaultSeverity: 'error',
    summary:
      '`best_state = model.state_dict()` or `best_model = model` in the training loop keeps references, not a copy: later steps overwrite the "best" weights.',
    why:
      '`state_dict()` returns the model\'s own parameter tensors, not copies. Kept in a variable during training (the ' +
      'usual early-stopping pattern "remember the best epoch"), they go on changing with every optimizer step, so the ' +
      '`load_state_dict(best_state)` after the loop restores the last weights, not the best ones. Nothing fails. Copy ' +
      'the tensors when you keep them (a new dict, `state_dict().copy()` or `dict(...)`, still holds the same tensors): ' +
      '`copy.deepcopy(model.state_dict())` or ' +
      '`{k: v.detach().clone() for k, v in model.state_dict().items()}` (or save them to a file). Keeping the model ' +
      'itself, `best_model = model`, is the same bug: it names the same object, which goes on training, so saving or ' +
      'returning `best_model` after the loop gives the last weights; keep `copy.deepcopy(model)` instead. Kept on the instance ' +
      '(`self.best_state = self.model.state_dict()` when a training loop finds a better epoch) it is reported even when the ' +
      'load is elsewhere (a subclass, the caller), as long as this file reads it only to test `is None`.',
    wrong:
      'best = float("inf")\nfor epoch in range(100):\n    val_loss = train_and_validate(model)\n    if val_loss < best:\n        best = val_loss\n        best_state = model.state_dict()\nmodel.load_state_dict(best_state)',
    right:
      'best = float("inf")\nfor epoch in range(100):\n    val_loss = train_and_validate(model)\n    if val_loss < best:\n        best = val_loss\n        best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}\nmodel.load_state_dict(best_state)',
    concept: 'Tensors are references: copy what you want to keep',
    fixable: true,
  },
  nodeTypes: ['assignment'],
  visit(assignment, ctx) {
    const left = assignment.child('left');
    const right = assignment.child('right');
    if (!left || !right) return;
    // `best, best_state = loss, model.state_dict()`: each element pair on its own.
    if (left.type === 'pattern_list' && right.type === 'expression_list') {
      const ls = left.namedChildren;
      const rs = right.namedChildren;
      if (ls.length !== rs.length) return;
      ls.forEach((l, i) => checkKept(assignment, l, rs[i]!, ctx));
      return;
    }
    checkKept(assignment, left, right, ctx);
  },
};
