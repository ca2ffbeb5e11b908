import { calleeName, enclosingFunction, positionalArgs, receiver, unparen, type Analysis } from '../../analysis';
import { stringValue } from '../../analysis/runtime';
import type { PyNode } from '../../parser';
import type { Rule } from '../../types';

// `start_epoch = ckpt['epoch'] + 1` restored on resume but never read: the epoch loop starts from 0 again.

const EPOCH_NAME = /epoch/i;
const EPOCH_LOOP_TARGET = /^(epoch|ep|e|epoch_idx|epoch_num|i_epoch|epoch_i)$/i;

/** `ckpt['epoch']`, `ckpt['epoch'] + 1`, `ckpt.get('epoch', 0) + 1`, `int(ckpt['epoch'])`: the checkpoint read. */
function epochRead(e: PyNode | undefined): PyNode | undefined {
  let x = unparen(e);
  if (x?.type === 'binary_operator') x = unparen(x.child('left'));
  if (x?.type === 'call' && x.child('function')?.text === 'int') x = unparen(positionalArgs(x)[0]);
  if (x?.type === 'subscript') {
    const key = stringValue(x.child('subscript'));
    return key !== undefined && EPOCH_NAME.test(key) ? x.child('value') : undefined;
  }
  if (x?.type === 'call' && calleeName(x) === 'get') {
    const key = stringValue(positionalArgs(x)[0]);
    return key !== undefined && EPOCH_NAME.test(key) ? receiver(x) : undefined;
  }
  return undefined;
}

/** The checkpoint comes from `torch.load(...)` (through a name). */
function isCheckpoint(a: Analysis, e: PyNode | undefined): boolean {
  let x = unparen(e);
  if (x?.type === 'identifier') x = unparen(a.scopes.valueAt(x.text, x) ?? undefined);
  return x?.type === 'call' && a.callee(x) === 'torch.load';
}

/** Calls whose arguments are only shown: `print(...)`, `logger.info(...)`, `tqdm.write(...)`, `pbar.set_description(...)`. */
const LOGGING = /^(print|info|debug|warning|warn|error|log|write|echo|set_description|set_postfix|add_text)$/;

/**
 * Whether the read `id` only ends up in a log line: inside the arguments of a print or logger call (through
 * `'{}'.format(...)`, `%` and f-strings), before the statement it sits in ends. Such a read does not resume anything.
 */
function loggedOnly(id: PyNode): boolean {
  for (let p = id.parent; p; p = p.parent) {
    if (p.type === 'call' && LOGGING.test(calleeName(p) ?? '')) return true;
    if (p.type === 'block' || p.type === 'module' || p.type === 'lambda') return false;
  }
  return false;
}

export const TL024: Rule = {
  meta: {
    id: 'TL024',
    name: 'resume-start-epoch-ignored',
    group: 'training-loop',
    defaultSeverity: 'warning',
    summary: 'The epoch to resume from is read from the checkpoint but never used: the resumed run starts at epoch 0 again.',
    why:
      'Resuming restores the weights and the optimizer, and the epoch to continue from (`start_epoch = ckpt["epoch"] + 1`). ' +
      'When the loop is still `for epoch in range(args.epochs)`, the resumed run repeats every epoch from 0: it trains ' +
      'longer than planned, a schedule computed from `epoch` restarts (warm-up again, cosine back at its peak), and logs ' +
      'and checkpoints overwrite the earlier ones. Start the loop at the restored epoch: `range(start_epoch, args.epochs)`. ' +
      'Printing or logging the restored epoch (`print("resumed at epoch", start_epoch)`) does not count as using it.',
    wrong:
      'import torch\nstart_epoch = 0\nif args.resume:\n    ckpt = torch.load(args.resume)\n    model.load_state_dict(ckpt["model"])\n    start_epoch = ckpt["epoch"] + 1\nfor epoch in range(args.epochs):\n    train_one_epoch(model, loader, optimizer)',
    right:
      'import torch\nstart_epoch = 0\nif args.resume:\n    ckpt = torch.load(args.resume)\n    model.load_state_dict(ckpt["model"])\n    start_epoch = ckpt["epoch"] + 1\nfor epoch in range(start_epoch, args.epochs):\n    train_one_epoch(model, loader, optimizer)',
    concept: 'Checkpoints: resuming continues where training stopped',
    fixable: true,
  },
  nodeTypes: ['assignment'],
  candidate: {
    reads: [],
    test: (asg) => asg.child('left')?.type === 'identifier' && EPOCH_NAME.test(asg.child('left')!.text) && epochRead(asg.child('right')) !== undefined,
  },
  visit(asg, ctx) {
    const left = asg.child('left');
    const ckpt = epochRead(asg.child('right'));
    if (left?.type !== 'identifier' || !EPOCH_NAME.test(left.text) || !ckpt || !isCheckpoint(ctx.analysis, ckpt)) return;
    const name = left.text;
    const fn = enclosingFunction(asg);
    let scope: PyNode = fn?.child('body') ?? asg;
    if (!fn) while (scope.parent) scope = scope.parent;
    // Any read of the name (a loop bound, a scheduler's last_epoch) means it is used; a log line does not.
    let read = false;
    let loop: PyNode | undefined;
    scope.walk((n) => {
      if (read) return false;
      if (n !== scope && (n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda')) return false;
      if (n.type === 'identifier' && n.text === name && n.field !== 'attribute') {
        const p = n.parent;
        const bound = p?.type === 'assignment' && p.child('left') === n;
        if (!bound && !(p?.type === 'keyword_argument' && p.child('name') === n) && !loggedOnly(n)) read = true;
      }
      if (!loop && n.type === 'for_statement' && n.start > asg.end && EPOCH_LOOP_TARGET.test(n.child('left')?.text ?? '')) {
        const it = unparen(n.child('right'));
        if (it?.type === 'call' && it.child('function')?.text === 'range') loop = n;
      }
    });
    if (read || !loop) return;
    const range = unparen(loop.child('right'))!;
    const args = positionalArgs(range);
    const fixes =
      args.length === 1 && range.child('arguments')?.namedChildren.length === 1
        ? [{ title: `Start the loop at ${name}`, edits: [{ start: args[0]!.start, end: args[0]!.start, newText: `${name}, ` }] }]
        : undefined;
    ctx.report({
      node: asg,
      message: `${name} is restored from the checkpoint but never used: the loop \`for ${loop.child('left')!.text} in ${range.text}\` starts from 0 again, so a resumed run repeats every epoch. Use range(${name}, ...).`,
      fixes,
    });
  },
};
