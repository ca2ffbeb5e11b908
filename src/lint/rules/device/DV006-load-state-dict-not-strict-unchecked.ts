import { calleeName, keywordArg, loneExpression, positionalArgs } from '../../analysis';
import type { Rule } from '../../types';

export const DV006: Rule = {
  meta: {
    id: 'DV006',
    name: 'load-state-dict-not-strict-unchecked',
    group: 'device',
    defaultSeverity: 'warning',
    summary: '`load_state_dict(..., strict=False)` with its result ignored: weights whose names do not match are skipped silently.',
    why:
      'With `strict=False`, `load_state_dict` loads the tensors whose names match and skips the rest without a word. ' +
      'When the names differ everywhere (a checkpoint saved from `nn.DataParallel` has a `module.` prefix on every key, ' +
      'a renamed layer, another architecture) nothing is loaded at all and the model keeps its random weights. The call ' +
      'returns the missing and unexpected keys: check them, or strip the prefix and load with `strict=True`.',
    wrong: 'model.load_state_dict(torch.load("best.pt", weights_only=True, map_location="cpu"), strict=False)',
    right: 'result = model.load_state_dict(torch.load("best.pt", weights_only=True, map_location="cpu"), strict=False)\nassert not result.missing_keys, result.missing_keys',
    concept: 'Checkpoints: state_dict keys must match',
    fixable: false,
  },
  nodeTypes: ['expression_statement'],
  local: [],
  visit(statement, ctx) {
    const call = loneExpression(statement);
    if (call?.type !== 'call' || calleeName(call) !== 'load_state_dict') return;
    const strict = keywordArg(call, 'strict') ?? positionalArgs(call)[1];
    if (strict?.text !== 'False') return;
    ctx.report({
      node: call,
      message: 'load_state_dict(strict=False) skips every key that does not match, and its result is ignored: check result.missing_keys / unexpected_keys (a "module." prefix means nothing was loaded).',
    });
  },
};
