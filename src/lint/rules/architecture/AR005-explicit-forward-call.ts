import { calleeName, unparen, type Analysis } from '../../analysis';
import type { PyNode } from '../../parser';
import type { Rule } from '../../types';
import { valueBefore } from '../../analysis/values';

const MODEL_NAME = /model|net|encoder|decoder|backbone|classifier/i;

/** The expression builds a module: a class of this file, a torch.nn layer, a torchvision model. */
function buildsModule(a: Analysis, v: PyNode | undefined, depth = 0): boolean {
  const e = unparen(v);
  if (!e || depth > 6) return false;
  if (e.type === 'identifier') {
    const next = valueBefore(a, e);
    return next ? buildsModule(a, next, depth + 1) : false;
  }
  if (e.type !== 'call') return false;
  const fn = e.child('function');
  if (fn?.type === 'identifier' && a.moduleClass(fn.text)) return true;
  const q = a.callee(e) ?? '';
  if (/^torch\.nn\.[A-Z]\w*$/.test(q) || /^torchvision\.models\.\w+$/.test(q)) return true;
  if (fn?.type === 'attribute' && ['to', 'cuda', 'cpu', 'eval', 'train'].includes(fn.child('attribute')?.text ?? '')) return buildsModule(a, fn.child('object'), depth + 1);
  return false;
}

function isModule(a: Analysis, recv: PyNode): boolean {
  if (recv.type === 'identifier') {
    if (recv.text === 'self' || a.moduleClass(recv.text)) return false;
    const v = valueBefore(a, recv);
    if (v) return buildsModule(a, v);
    return v === null && MODEL_NAME.test(recv.text);
  }
  if (recv.type === 'attribute' && recv.child('object')?.text === 'self') {
    const cls = recv.ancestor('class_definition');
    const attr = recv.child('attribute')?.text ?? '';
    if (!cls) return false;
    const values = a.scopes.selfAttr(cls, attr);
    if (!values.length) return false;
    return values.every((v) => buildsModule(a, v) || (unparen(v)?.type === 'identifier' && MODEL_NAME.test(attr)));
  }
  return false;
}

/**
 * `x.forward(...)` whose receiver `isModule` may accept: a name other than `self`, or `self.<attr>`. Read from the
 * call alone; `isModule` then looks at what the receiver is bound to.
 */
function forwardReceiver(call: PyNode): PyNode | undefined {
  if (calleeName(call) !== 'forward') return undefined; // memoised: most calls stop here
  const fn = call.child('function');
  if (fn?.type !== 'attribute' || fn.child('attribute')?.text !== 'forward') return undefined;
  const recv = fn.child('object');
  if (recv?.type === 'identifier') return recv.text === 'self' ? undefined : recv;
  return recv?.type === 'attribute' && recv.child('object')?.text === 'self' ? recv : undefined;
}

export const AR005: Rule = {
  meta: {
    id: 'AR005',
    name: 'explicit-forward-call',
    group: 'architecture',
    defaultSeverity: 'info',
    summary: 'A module is run with `.forward(x)` instead of being called as `module(x)`.',
    why:
      'Calling a module (`model(x)`) goes through `nn.Module.__call__`, which runs the registered forward pre-hooks and ' +
      'hooks (used by pruning, spectral norm, weight norm, profilers, feature extractors, some distributed wrappers) around ' +
      '`forward`. Calling `.forward(x)` directly skips all of them, so those features silently do nothing.',
    wrong: 'model = nn.Linear(10, 2)\nout = model.forward(x)',
    right: 'model = nn.Linear(10, 2)\nout = model(x)',
    concept: 'nn.Module: call the module, not its forward',
    fixable: true,
  },
  nodeTypes: ['call'],
  // `.forward(...)` on a name or `self.<attr>`; whether that is a module reads its bindings and the file's classes.
  candidate: { reads: [], test: (call) => forwardReceiver(call) !== undefined },
  visit(call, ctx) {
    const recv = forwardReceiver(call);
    if (!recv || !isModule(ctx.analysis, recv)) return;
    const fn = call.child('function')!;
    ctx.report({
      node: call,
      message: `Call the module as \`${recv.text}(...)\` instead of \`${recv.text}.forward(...)\`; calling forward directly skips the module's hooks.`,
      fixes: [{ title: `Call ${recv.text}(...) directly`, edits: [{ start: recv.end, end: fn.end, newText: '' }] }],
    });
  },
};
