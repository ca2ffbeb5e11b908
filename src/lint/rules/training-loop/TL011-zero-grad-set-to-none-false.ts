import { calleeName, keywordArg } from '../../analysis';
import type { Rule } from '../../types';

export const TL011: Rule = {
  meta: {
    id: 'TL011',
    name: 'zero-grad-set-to-none-false',
    group: 'training-loop',
    defaultSeverity: 'info',
    summary: 'zero_grad(set_to_none=False) fills gradients with zeros instead of releasing them.',
    why:
      'With `set_to_none=True` (the default since PyTorch 2.0) `zero_grad()` drops the `.grad` tensors, so the next ' +
      '`backward()` writes fresh gradients instead of adding into a zero-filled buffer: less memory traffic and a little less ' +
      'memory. `set_to_none=False` keeps the old, slower behaviour. Keep it only when code reads `.grad` of parameters that ' +
      'may not receive a gradient and expects zeros there.',
    wrong: 'optimizer.zero_grad(set_to_none=False)',
    right: 'optimizer.zero_grad(set_to_none=True)',
    concept: 'Performance: memory traffic of gradient buffers',
    fixable: true,
  },
  nodeTypes: ['call'],
  local: [],
  visit(call, ctx) {
    if (calleeName(call) !== 'zero_grad') return;
    const v = keywordArg(call, 'set_to_none');
    if (v?.text !== 'False') return;
    ctx.report({
      node: call,
      message: 'zero_grad(set_to_none=False) zero-fills gradients; set_to_none=True (the default) is faster and uses less memory.',
      fixes: [{ title: 'Use set_to_none=True', edits: [{ start: v.start, end: v.end, newText: 'True' }] }],
    });
  },
};
