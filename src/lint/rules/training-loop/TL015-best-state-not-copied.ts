import { callsWithin, calleeName, enclosingFunction, loopTargetBinds, positionalArgs, receiver, type Analysis } from '../../analysis';
import { MODEL_NAME } from '../../analysis/outputs';
import { scopeOf } from '../../analysis/scopes';
import { innermostLoop, optimizerBuilds } from '../../analysis/training';
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
function checkAlias(assignment: PyNode, left: PyNode, right: PyNode, ctx: RuleContext): void {
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
    node: assignment,
    message: `${name} = ${m} keeps the same object, which goes on training: copy it (copy.deepcopy(${m})) or save its state_dict copy.`,
    fixes: [{ title: `Keep a copy: ${call}(${m})`, edits }],
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
      'the tensors when you keep them: `copy.deepcopy(model.state_dict())` or ' +
      '`{k: v.detach().clone() for k, v in model.state_dict().items()}` (or save them to a file). Keeping the model ' +
      'itself, `best_model = model`, is the same bug: it names the same object, which goes on training, so saving or ' +
      'returning `best_model` after the loop gives the last weights; keep `copy.deepcopy(model)` instead.',
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
    if (left?.type === 'identifier' && (right?.type === 'identifier' || right?.type === 'attribute')) return checkAlias(assignment, left, right, ctx);
    if (left?.type !== 'identifier' || right?.type !== 'call' || calleeName(right) !== 'state_dict' || positionalArgs(right).length) return;
    const loop = innermostLoop(assignment);
    if (!loop) return;
    const name = left.text;
    const scope = enclosingFunction(assignment) ?? null;
    // Restored after the loop from the variable: load_state_dict(best_state) in the same scope.
    const restored = ctx.analysis
      .callsNamed('load_state_dict')
      .some((c: PyNode) => c.start >= loop.end && positionalArgs(c)[0]?.text === name && (enclosingFunction(c) ?? null) === scope);
    if (!restored) return;
    const model = receiver(right)?.text ?? 'model';
    ctx.report({
      node: right,
      message: `${name} holds ${model}'s live tensors, which later steps keep changing: load_state_dict(${name}) after the loop restores the last weights, not the best. Copy them.`,
      fixes: [{ title: 'Keep a copy of the tensors', edits: [{ start: right.start, end: right.end, newText: `{k: v.detach().clone() for k, v in ${right.text}.items()}` }] }],
    });
  },
};
