import { keywordArg, unparen, type Analysis } from '../../analysis';
import { losses } from '../../analysis/losses';
import type { PyNode } from '../../parser';
import type { Rule } from '../../types';
import { valueBefore } from '../../analysis/values';

/** Names of 0-dim values: `loss`, `train_loss`, `loss_d`, `acc`, `correct` (not `losses`, a 1-D history). */
const SCALAR_NAME = /^(\w+_)?(loss|acc|accuracy|correct)(_\w+)?$/i;

/** `X` in `X.data[0]` is a 0-dim value: a loss (by name or by what it is bound to) or a reduction like `.sum()`. */
function scalar(a: Analysis, x: PyNode): boolean {
  const e = unparen(x);
  if (!e) return false;
  if (e.type === 'identifier' || e.type === 'attribute') {
    if (SCALAR_NAME.test(e.type === 'identifier' ? e.text : (e.child('attribute')?.text ?? ''))) return true;
    if (e.type !== 'identifier') return false;
    const v = valueBefore(a, e);
    return !!v && scalar(a, v);
  }
  if (e.type === 'call') {
    if (losses(a).calls.some((l) => l.call === e)) return true;
    const m = e.child('function')?.child('attribute')?.text ?? '';
    return ['sum', 'mean'].includes(m) && e.child('arguments')?.namedChildren.length === 0;
  }
  return false;
}

/** `volatile=True` of a `Variable(...)` call: its value node. */
function volatileArg(call: PyNode, a: Analysis): PyNode | undefined {
  const q = a.callee(call);
  if (q !== 'torch.autograd.Variable' && q !== 'torch.autograd.variable.Variable') return undefined;
  const v = keywordArg(call, 'volatile');
  return v?.text === 'True' ? v : undefined;
}

/** `X` of a subscript `X.data[0]`. */
function dataIndexed(node: PyNode): PyNode | undefined {
  const value = node.child('value');
  const index = node.namedChildren.filter((c) => c !== value && c.type !== 'comment');
  if (value?.type !== 'attribute' || value.child('attribute')?.text !== 'data' || index.length !== 1 || index[0]!.text !== '0') return undefined;
  return value.child('object');
}

export const API001: Rule = {
  meta: {
    id: 'API001',
    name: 'legacy-variable-api',
    group: 'deprecated-api',
    defaultSeverity: 'warning',
    summary: 'Pre-0.4 PyTorch idioms: `Variable(..., volatile=True)` (ignored) or `loss.data[0]` (fails on 0-dim tensors).',
    why:
      'Since PyTorch 0.4 `Variable` is a plain tensor and `volatile=True` is ignored with a warning, so code that relied on ' +
      'it to disable autograd during evaluation now builds graphs and holds memory: use `with torch.no_grad():`. ' +
      'Losses are 0-dim tensors, so `loss.data[0]` raises "invalid index of a 0-dim tensor"; `loss.item()` returns the ' +
      'Python number.',
    wrong: 'total += loss.data[0]',
    right: 'total += loss.item()',
    concept: 'Autograd: tensors, no_grad and reading scalar values',
    fixable: true,
  },
  nodeTypes: ['call', 'subscript'],
  // `Variable(..., volatile=True)` and `X.data[0]`; whether X is a 0-dim value reads its bindings and the file's losses.
  candidate: {
    reads: ['imports'],
    test: (node, ctx) => (node.type === 'call' ? volatileArg(node, ctx.analysis) : dataIndexed(node)) !== undefined,
  },
  visit(node, ctx) {
    const a = ctx.analysis;
    if (node.type === 'call') {
      const v = volatileArg(node, a);
      if (!v) return;
      ctx.report({ node: v.parent ?? v, message: '`volatile=True` has been ignored since PyTorch 0.4: autograd still records this computation. Wrap the evaluation in `with torch.no_grad():` instead.' });
      return;
    }
    const obj = dataIndexed(node);
    if (!obj || !scalar(a, obj)) return;
    ctx.report({
      node,
      message: `\`${obj.text}.data[0]\` fails on a 0-dim tensor since PyTorch 0.5; use \`${obj.text}.item()\` to read the number.`,
      fixes: [{ title: `Use ${obj.text}.item()`, edits: [{ start: node.start, end: node.end, newText: `${obj.text}.item()` }] }],
    });
  },
};
