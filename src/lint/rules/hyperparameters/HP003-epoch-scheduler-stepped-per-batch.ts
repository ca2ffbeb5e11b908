import { keywordArg, positionalArgs, receiver, unparen } from '../../analysis';
import { deleteStatementLines, isSchedulerStep, receiverValue } from '../../analysis/order';
import { BATCH_ITERABLE, indentOf } from '../../analysis/training';
import type { PyNode } from '../../parser';
import type { RawFix, Rule } from '../../types';

/** Schedulers whose length is given in scheduler steps that people count in epochs: [class, the argument, its position]. */
const EPOCH_SCHEDULES: Record<string, [string, number]> = {
  StepLR: ['step_size', 1],
  MultiStepLR: ['milestones', 1],
  CosineAnnealingLR: ['T_max', 1],
  ExponentialLR: ['gamma', 1],
};

// Counted in epochs: an integer a training run has as many epochs of (a few hundred at most), or a name that says
// epochs and not iterations (`T_max=epochs * len(loader)` is a per-batch schedule, rightly stepped per batch).
const MAX_EPOCHS = 300;
const EPOCH_WORD = /epoch/i;
const PER_ITERATION = /len\(|iter|step|batch/i;

function countsEpochs(expr: PyNode): boolean {
  const e = unparen(expr)!;
  if (e.type === 'integer') return Number(e.text) <= MAX_EPOCHS;
  if (e.type === 'list' || e.type === 'tuple') {
    const items = e.namedChildren.filter((c) => c.type !== 'comment');
    return items.length > 0 && items.every((c) => countsEpochs(c));
  }
  return EPOCH_WORD.test(e.text) && !PER_ITERATION.test(e.text);
}

/** ExponentialLR: a decay per step that would vanish within a few epochs of batches (0.99^1000 = 4e-5). */
function fastDecay(expr: PyNode): boolean {
  const e = unparen(expr)!;
  return e.type === 'float' && Number(e.text) <= 0.99;
}

/** What the scheduler was built with, when it is one of EPOCH_SCHEDULES and its length looks like epochs. */
function epochSchedule(built: PyNode, q: string): string | undefined {
  const name = q.slice('torch.optim.lr_scheduler.'.length);
  const spec = EPOCH_SCHEDULES[name];
  if (!spec) return undefined;
  const arg = keywordArg(built, spec[0]) ?? positionalArgs(built)[spec[1]];
  if (!arg) return undefined;
  const inEpochs = name === 'ExponentialLR' ? fastDecay(arg) : countsEpochs(arg);
  return inEpochs ? `${name}(${spec[0]}=${arg.text})` : undefined;
}

/** The step statement moved after the batch loop, at the loop's indentation. */
function moveAfterLoop(stmt: PyNode, loop: PyNode): RawFix[] | undefined {
  const del = deleteStatementLines(stmt);
  if (!del) return undefined;
  const src = loop.src.text;
  const nl = src.indexOf('\n', loop.end);
  const at = nl === -1 ? src.length : nl;
  return [{ title: `Step ${stmt.text.replace(/\.step\(\)$/, '')} once per epoch, after the batch loop`, edits: [del, { start: at, end: at, newText: `\n${indentOf(loop)}${stmt.text}` }] }];
}

export const HP003: Rule = {
  meta: {
    id: 'HP003',
    name: 'epoch-scheduler-stepped-per-batch',
    group: 'hyperparameters',
    defaultSeverity: 'warning',
    summary: 'A learning-rate schedule set in epochs (StepLR, MultiStepLR, CosineAnnealingLR, ExponentialLR) is stepped once per batch.',
    why:
      'These schedulers count calls to `scheduler.step()`, not epochs. Built with a length in epochs (`StepLR(step_size=30)`, ' +
      '`CosineAnnealingLR(T_max=epochs)`, `MultiStepLR(milestones=[30, 60])`, `ExponentialLR(gamma=0.95)`) but stepped ' +
      'inside the batch loop, the schedule runs hundreds of times faster than meant: the learning rate decays to almost ' +
      'nothing within the first epoch, or a cosine schedule cycles every few dozen batches. Training stalls early and ' +
      'nothing fails. Step these schedulers once per epoch, after the batch loop; a per-batch schedule counts batches ' +
      '(`T_max=epochs * len(train_loader)`, `OneCycleLR`).',
    wrong: 'scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=30, gamma=0.1)\nfor epoch in range(90):\n    for x, y in train_loader:\n        ...\n        optimizer.step()\n        scheduler.step()',
    right: 'scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=30, gamma=0.1)\nfor epoch in range(90):\n    for x, y in train_loader:\n        ...\n        optimizer.step()\n    scheduler.step()',
    concept: 'Optimisation: learning-rate schedules and what one scheduler step means',
    fixable: true,
  },
  nodeTypes: ['call'],
  local: ['imports', 'scopes'],
  visit(call, ctx) {
    const a = ctx.analysis;
    if (!isSchedulerStep(call, a)) return;
    // A statement of the batch loop's own body: a step under `if i % 100 == 0:` is a deliberate per-N-batches schedule.
    const stmt = call.parent;
    const loop = stmt?.type === 'expression_statement' && stmt.parent?.type === 'block' ? stmt.parent.parent : undefined;
    if (loop?.type !== 'for_statement' || !BATCH_ITERABLE.test(loop.child('right')?.text ?? '')) return;
    const built = receiverValue(a, receiver(call)!);
    const q = built?.type === 'call' ? a.callee(built) : undefined;
    const schedule = built && q ? epochSchedule(built, q) : undefined;
    if (!schedule) return;
    ctx.report({
      node: call,
      message: `${call.text} runs once per batch, but ${schedule} counts epochs: the schedule runs about len(loader) times too fast. Step it once per epoch, after the batch loop.`,
      fixes: moveAfterLoop(stmt!, loop),
    });
  },
};
