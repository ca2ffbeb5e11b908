import { methodsOf, returnValues } from '../../analysis/modules';
import { indentOf, lineStartIfAlone } from '../../analysis/training';
import type { PyNode } from '../../parser';
import type { Rule } from '../../types';

// A LightningModule's `training_step` computes the loss but returns nothing: with automatic optimization Lightning
// skips the optimizer step for that batch, so the model never trains.

const LIGHTNING_BASES = /^(pytorch_lightning|lightning|lightning\.pytorch)\.(core\.)?(module\.)?LightningModule$/;

function isLightningModule(c: PyNode, qname: (n: PyNode) => string | undefined): boolean {
  return (c.child('superclasses')?.namedChildren ?? []).some((b) => LIGHTNING_BASES.test(qname(b) ?? '') || /^(pl|L)\.LightningModule$/.test(b.text));
}

/** `self.automatic_optimization = False` anywhere in the class. */
function manualOptimization(c: PyNode): boolean {
  return /self\.automatic_optimization\s*=\s*False/.test(c.text);
}

export const TL025: Rule = {
  meta: {
    id: 'TL025',
    name: 'lightning-step-returns-nothing',
    group: 'training-loop',
    defaultSeverity: 'error',
    summary: "A LightningModule's training_step computes a loss but returns nothing: Lightning skips the optimizer step.",
    why:
      'With automatic optimization, Lightning back-propagates and steps the optimizer with whatever `training_step` ' +
      'returns: the loss tensor, or a dict with a `"loss"` key. When it returns `None`, Lightning takes that as "skip ' +
      'this batch": no backward pass, no step. Logging the loss with `self.log` does not count. Training then runs ' +
      'through every epoch, the progress bar moves, and the weights never change. Return the loss.',
    wrong:
      'import pytorch_lightning as pl\nimport torch.nn.functional as F\nclass Lit(pl.LightningModule):\n    def training_step(self, batch, batch_idx):\n        x, y = batch\n        loss = F.cross_entropy(self(x), y)\n        self.log("train_loss", loss)',
    right:
      'import pytorch_lightning as pl\nimport torch.nn.functional as F\nclass Lit(pl.LightningModule):\n    def training_step(self, batch, batch_idx):\n        x, y = batch\n        loss = F.cross_entropy(self(x), y)\n        self.log("train_loss", loss)\n        return loss',
    concept: 'PyTorch Lightning: training_step returns the loss to optimize',
    fixable: true,
  },
  nodeTypes: ['class_definition'],
  local: ['imports'],
  visit(cls, ctx) {
    if (!isLightningModule(cls, (n) => ctx.analysis.qname(n)) || manualOptimization(cls)) return;
    const step = methodsOf(cls).find((m) => m.child('name')?.text === 'training_step');
    const body = step?.child('body');
    if (!step || !body || returnValues(step).length) return;
    // A bare `yield` or `raise` makes it something else; a loss must be computed for the finding to make sense.
    if (/\byield\b|\braise\b/.test(body.text)) return;
    const statements = body.namedChildren.filter((c) => c.type !== 'comment');
    const last = statements[statements.length - 1];
    const lossAssign = [...statements].reverse().find((s) => s.type === 'expression_statement' && s.namedChildren[0]?.type === 'assignment' && /loss/i.test(s.namedChildren[0].child('left')?.text ?? ''));
    const lossName = lossAssign?.namedChildren[0]?.child('left');
    if (!lossName || lossName.type !== 'identifier' || !last) return;
    const fix = lineStartIfAlone(last) !== undefined ? [{ title: `Return ${lossName.text}`, edits: [{ start: last.end, end: last.end, newText: `\n${indentOf(last)}return ${lossName.text}` }] }] : undefined;
    ctx.report({
      node: step.child('name') ?? step,
      message: `training_step computes ${lossName.text} but returns nothing: Lightning skips backward and the optimizer step for every batch, so the model never trains. Return ${lossName.text}.`,
      fixes: fix,
    });
  },
};
