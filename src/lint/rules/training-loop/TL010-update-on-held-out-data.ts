import { callsWithin } from '../../analysis';
import { skippedForElement } from '../../analysis/phases';
import { HELD_OUT_DATA } from '../../analysis/order';
import { isBackward, isOptimizerStep } from '../../analysis/training';
import type { PyNode } from '../../parser';
import type { Rule } from '../../types';
import { loopHeader } from '../evaluation/EV003-eval-without-no-grad';

/** The loop iterates a validation/test loader (`val_loader`, `enumerate(test_loader)`, `tqdm(valid_dl)`, `self.val_loader`). */
function heldOutIterable(loop: PyNode): PyNode | undefined {
  const right = loop.child('right');
  let hit: PyNode | undefined;
  right?.walk((n) => {
    if (hit || n.type === 'keyword_argument' || n.type === 'string') return false;
    // loaders['val'] / dataloaders["test"]
    if (n.type === 'subscript') {
      const key = n.child('subscript');
      if (key?.type === 'string' && /^(val|valid|validation|test|testing)$/i.test(key.text.replace(/^[rbuf]*['"]+|['"]+$/gi, ''))) {
        hit = n;
        return false;
      }
    }
    if (n.type === 'attribute') {
      const attr = n.child('attribute');
      if (attr && HELD_OUT_DATA.test(attr.text) && /_|loader|dl$/i.test(attr.text)) hit = n;
      return false;
    }
    if (n.type === 'identifier' && HELD_OUT_DATA.test(n.text) && /_|loader|dl$/i.test(n.text)) hit = n;
  });
  return hit;
}

export const TL010: Rule = {
  meta: {
    id: 'TL010',
    name: 'update-on-held-out-data',
    group: 'training-loop',
    defaultSeverity: 'error',
    summary: 'backward() and optimizer.step() run inside a loop over the validation/test loader.',
    why:
      'A loop over `val_loader` or `test_loader` that calls `loss.backward()` and `optimizer.step()` trains the model on the ' +
      'held-out data (usually a training loop copied into the evaluation function). The validation or test score then ' +
      'measures data the model has fitted, looks better than it is, and model selection based on it is meaningless. ' +
      'Evaluation should only run the model forward, under `torch.no_grad()` and `model.eval()`. A loop over a literal ' +
      "list of phases (`for phase, loader in [('train', train_loader), ('val', val_loader)]`) is judged by what runs for " +
      "the held-out element: an update under `if phase == 'train':` is fine.",
    wrong: 'for x, y in val_loader:\n    optimizer.zero_grad()\n    loss = criterion(model(x), y)\n    loss.backward()\n    optimizer.step()',
    right: 'model.eval()\nwith torch.no_grad():\n    for x, y in val_loader:\n        loss = criterion(model(x), y)',
    concept: 'Generalisation: held-out data must never update the weights',
    fixable: false,
  },
  nodeTypes: ['for_statement'],
  local: ['imports', 'scopes'],
  visit(loop, ctx) {
    const data = heldOutIterable(loop);
    const body = loop.child('body');
    if (!data || !body) return;
    // `for phase, loader in [('train', train_loader), ('val', val_loader)]`: only what runs for the held-out element
    const skipped = skippedForElement(ctx.analysis, loop, data);
    const calls = callsWithin(body).filter((c) => !skipped?.(c));
    const step = calls.find((c) => isOptimizerStep(c, ctx.analysis));
    if (!step || !calls.some(isBackward)) return;
    ctx.report({
      ...loopHeader(loop),
      message: `This loop over ${data.text} calls backward() and ${step.text}: the model trains on held-out data, so its score is no longer an honest estimate. Remove the update from the evaluation loop.`,
    });
  },
};
