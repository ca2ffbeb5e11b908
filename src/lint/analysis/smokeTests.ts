// Shape smoke tests: `def test(): net = ResNet18(); y = net(torch.randn(1, 3, 32, 32)); print(y.size())`. The model
// runs on a tensor made up on the spot and only the output's shape (or the output itself) is looked at: nothing is
// measured, so neither eval mode nor no_grad matters. Shared by the evaluation-loop and held-out-forward detection.
import type { PyNode } from '../parser';
import { positionalArgs, unparen, type Analysis } from './index';

/** Tensors made up from a shape: random or constant, never data. */
const MADE_UP = /^torch\.(randn|rand|randint|zeros|ones|empty|full|(randn|rand|randint|zeros|ones|empty|full)_like)$/;
/** Value-keeping calls on an input: `torch.randn(...).to(device)`, `x.cuda()`. */
const KEEPS_VALUE = /^(to|cuda|cpu|float|double|half|long|requires_grad_|contiguous)$/;
/** Reads of an output that only describe it. */
const DESCRIBES = /^(shape|size|dim|ndim|dtype|device|numel)$/;
/** Calls that only show (or count) what they are given. */
const SHOWS = /^(print|pprint|display|len|type)$/;
const LITERALS = new Set(['integer', 'float', 'string', 'true', 'false', 'none']);

/** `torch.randn(1, 3, 32, 32)`, `Variable(torch.rand(2, 10)).cuda()`, or a name bound to one: a made-up tensor. */
function madeUp(a: Analysis, expr: PyNode | undefined, depth = 0): boolean {
  let e = unparen(expr);
  for (;;) {
    if (e?.type !== 'call') break;
    const f = e.child('function');
    if (f?.type === 'attribute' && KEEPS_VALUE.test(f.child('attribute')?.text ?? '')) e = unparen(f.child('object'));
    else if (/(^|\.)Variable$/.test(a.callee(e) ?? f?.text ?? '')) e = unparen(positionalArgs(e)[0]);
    else break;
  }
  if (e?.type === 'call') return MADE_UP.test(a.callee(e) ?? '');
  if (e?.type !== 'identifier' || depth > 3) return false;
  const v = a.scopes.valueAt(e.text, e);
  return !!v && v !== expr && madeUp(a, v, depth + 1);
}

/** The forward's inputs are made-up tensors (at least one), next to plain literals. */
function madeUpInputs(a: Analysis, call: PyNode): boolean {
  const args = call.child('arguments')?.namedChildren ?? [];
  if (!args.length) return false;
  let some = false;
  for (const arg of args) {
    if (arg.type === 'comment') continue;
    const value = arg.type === 'keyword_argument' ? arg.child('value') : arg;
    if (!value || arg.type === 'list_splat' || arg.type === 'dictionary_splat') return false;
    if (LITERALS.has(unparen(value)?.type ?? '')) continue;
    if (!madeUp(a, value)) return false;
    some = true;
  }
  return some;
}

/** `print(out)`, `print(f"{out}")`, `len(out)`: the node is shown, not used. */
function shown(node: PyNode): boolean {
  let p = node.parent;
  while (p && (p.type === 'interpolation' || p.type === 'string' || p.type === 'concatenated_string' || p.type === 'parenthesized_expression')) p = p.parent;
  if (p?.type !== 'argument_list') return false;
  const call = p.parent;
  return call?.type === 'call' && SHOWS.test(call.child('function')?.text ?? '');
}

/** Only described or shown where it stands: `out.shape`, `out.size(1)`, `print(out)`, or a bare statement. */
function onlyLookedAt(node: PyNode): boolean {
  const p = node.parent;
  if (p?.type === 'attribute' && p.child('object') === node) return DESCRIBES.test(p.child('attribute')?.text ?? '');
  return p?.type === 'expression_statement' || shown(node);
}

/** The names an assignment binds the call's result to (`y = net(x)`, `y, h = net(x)`); undefined for other targets. */
function boundNames(call: PyNode): PyNode[] | undefined {
  const asg = call.parent;
  if (asg?.type !== 'assignment' || asg.child('right') !== call) return undefined;
  const left = asg.child('left');
  if (left?.type === 'identifier') return [left];
  if (left?.type !== 'pattern_list' && left?.type !== 'tuple_pattern') return undefined;
  const names = left.namedChildren;
  return names.every((n) => n.type === 'identifier') ? names : undefined;
}

/** Every later read of `name` in its scope only looks at the value (a rebinding counts as a read: precision first). */
function onlyLookedAtAfter(name: PyNode, scope: PyNode): boolean {
  let ok = true;
  scope.walk((n) => {
    if (!ok) return false;
    if (n.type !== 'identifier' || n === name || n.text !== name.text || n.start < name.end) return;
    if (!onlyLookedAt(n)) ok = false;
  });
  return ok;
}

/**
 * A forward on made-up tensors whose output is only looked at (its shape or size read, printed) or not kept at all:
 * a check that the model runs, not an evaluation.
 */
export function isSmokeForward(a: Analysis, call: PyNode): boolean {
  if (!madeUpInputs(a, call)) return false;
  if (onlyLookedAt(call)) return true;
  const names = boundNames(call);
  if (!names) return false;
  let scope: PyNode | null = call.parent;
  while (scope && scope.type !== 'function_definition' && scope.type !== 'module') scope = scope.parent;
  const body = scope?.type === 'function_definition' ? scope.child('body') : scope;
  return !!body && names.every((n) => onlyLookedAtAfter(n, body));
}
