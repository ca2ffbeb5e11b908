import { calleeName, loneExpression, loopTargetBinds, positionalArgs, receiver, unparen, type Analysis } from '../../analysis';
import { isGraphLoaderQname } from '../../analysis/runtime';
import { BATCH_ITERABLE } from '../../analysis/training';
import type { PyNode } from '../../parser';
import type { Rule } from '../../types';

const MOVES = new Set(['to', 'cuda', 'cpu']);
const FACTORIES = /^torch\.(tensor|as_tensor|from_numpy|zeros|ones|randn|rand|randint|randperm|empty|full|arange|linspace|eye|(zeros|ones|full|empty|rand|randn)_like|stack|cat|concat|Tensor|FloatTensor|LongTensor|DoubleTensor|IntTensor|BoolTensor|ByteTensor|HalfTensor)$/;
/** Methods that return a tensor again (peeled off a factory: `torch.tensor(x).float()`); moves excluded. */
const TENSOR_METHODS = /^(float|long|double|int|half|bool|view|reshape|unsqueeze|squeeze|permute|contiguous|clone|detach|requires_grad_|type)$/;

/** `torch.tensor(x)`, `torch.FloatTensor(x)`, `torch.from_numpy(x).float().unsqueeze(1)`. */
function isFactoryCall(a: Analysis, v: PyNode | undefined): boolean {
  while (v?.type === 'call' && v.child('function')?.type === 'attribute' && TENSOR_METHODS.test(calleeName(v) ?? '')) v = unparen(receiver(v));
  return v?.type === 'call' && FACTORIES.test(a.callee(v) ?? '');
}

/** The loop over batches around `node` (up to its function) whose target binds `name`: `for i, data in enumerate(loader)`. */
function batchLoopBinding(node: PyNode, name: string): boolean {
  for (let p = node.parent; p; p = p.parent) {
    if (p.type === 'function_definition' || p.type === 'class_definition') return false;
    if (p.type === 'for_statement' && loopTargetBinds(p, name)) return BATCH_ITERABLE.test(p.child('right')?.text ?? '');
  }
  return false;
}

/** Whether a statement binds `name` anywhere in it (assignment, loop target, with-as). */
function bindsName(stmt: PyNode, name: string): boolean {
  let hit = false;
  stmt.walk((n) => {
    if (hit || n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda') return false;
    const target = n.type === 'assignment' || n.type === 'augmented_assignment' || n.type === 'for_statement' ? n.child('left') : n.type === 'as_pattern' ? n.child('alias') : undefined;
    target?.walk((t) => {
      if (t.type === 'attribute' || t.type === 'subscript') return false;
      if (t.type === 'identifier' && t.text === name) hit = true;
    });
  });
  return hit;
}

/**
 * `inputs, labels = data` as the last binding of `id` before it, `data` the target of a loop over batches
 * (the CIFAR tutorial's `for i, data in enumerate(trainloader, 0):`). Reads only the statement's own loop bodies.
 */
function unpackedFromBatch(id: PyNode): boolean {
  let stmt: PyNode = id;
  while (stmt.parent && stmt.parent.type !== 'block') stmt = stmt.parent;
  for (let block = stmt.parent; block?.type === 'block'; stmt = block.parent!, block = stmt.parent) {
    const siblings = block.namedChildren;
    for (let i = siblings.indexOf(stmt) - 1; i >= 0; i--) {
      const s = siblings[i]!;
      if (!bindsName(s, id.text)) continue;
      const assign = s.type === 'expression_statement' ? s.namedChildren[0] : undefined;
      const left = assign?.type === 'assignment' ? assign.child('left') : undefined;
      const right = unparen(assign?.child('right'));
      const unpacks = (left?.type === 'pattern_list' || left?.type === 'tuple_pattern') && left.namedChildren.some((c) => c.type === 'identifier' && c.text === id.text);
      return unpacks && right?.type === 'identifier' && batchLoopBinding(s, right.text);
    }
    if (block.parent?.type === 'function_definition' || block.parent?.type === 'class_definition') return false;
  }
  return false;
}

/**
 * A loop over PyTorch Geometric batches (`Data` / `Batch`, whose `.to()` moves their tensors in place and returns self):
 * the iterable is a PyG loader, or the file imports torch_geometric and `name` is the whole batch (`for data in loader`,
 * `for i, batch in enumerate(loader)`), not a tensor unpacked from it.
 */
function graphBatchLoop(a: Analysis, loop: PyNode, name: string): boolean {
  let it = unparen(loop.child('right'));
  if (it?.type === 'call' && /^(enumerate|tqdm)$/.test(calleeName(it) ?? '')) it = unparen(positionalArgs(it)[0]);
  const v = it?.type === 'identifier' ? unparen(a.scopes.valueAt(it.text, it) ?? undefined) : it;
  if (v?.type === 'call' && isGraphLoaderQname(a.callee(v))) return true;
  if (![...a.imports.aliases.values()].some((q) => q === 'torch_geometric' || q.startsWith('torch_geometric.'))) return false;
  const left = loop.child('left');
  if (left?.type === 'identifier') return left.text === name;
  const items = left?.namedChildren.filter((c) => c.type !== 'comment') ?? [];
  const right = unparen(loop.child('right'));
  return right?.type === 'call' && calleeName(right) === 'enumerate' && items.length === 2 && items[1]?.type === 'identifier' && items[1].text === name;
}

/** Split helpers that hand back pieces of the arrays they get: `train_test_split`, `stratified_train_test_split`. */
const SPLIT_HELPER = /(^|_)train_test_split$/;

/**
 * A name unpacked from a split helper's result (`x_tr, x_te, y_tr, y_te = train_test_split(X, Y)`: arrays; with a
 * `.to()` called on them, tensors, never modules) or from a tuple of tensor factories (`x, y = torch.tensor(a), ...`).
 */
function unpackedTensor(a: Analysis, id: PyNode): boolean {
  const el = a.scopes.elementAt(id.text, id);
  const source = unparen(el?.source);
  if (source?.type === 'call') return SPLIT_HELPER.test(calleeName(source) ?? '');
  if (source?.type === 'tuple' || source?.type === 'expression_list') return isFactoryCall(a, unparen(source.namedChildren[el!.index]));
  return false;
}

/** Whether a name holds a tensor: a target of a loop over batches, unpacked from one or from a split helper, or bound to a torch tensor factory. */
function isTensorName(a: Analysis, id: PyNode): boolean {
  for (let p = id.parent; p; p = p.parent) {
    if (p.type === 'function_definition' || p.type === 'class_definition') break;
    if (p.type === 'for_statement' && loopTargetBinds(p, id.text)) return BATCH_ITERABLE.test(p.child('right')?.text ?? '') && !graphBatchLoop(a, p, id.text);
  }
  const v = a.scopes.valueAt(id.text, id);
  if (v === null) return unpackedFromBatch(id) || unpackedTensor(a, id);
  const e = unparen(v);
  // inputs = data[0]: a piece of a batch
  if (e?.type === 'subscript' && e.child('value')?.type === 'identifier') return batchLoopBinding(id, e.child('value')!.text);
  return isFactoryCall(a, e);
}

export const DV007: Rule = {
  meta: {
    id: 'DV007',
    name: 'tensor-to-not-assigned',
    group: 'device',
    defaultSeverity: 'error',
    summary: '`images.to(device)` on its own line: for a tensor it returns a moved copy, and the tensor itself stays where it was.',
    why:
      '`Module.to(device)` moves a model in place, so `model.to(device)` on its own line works. `Tensor.to(device)` does ' +
      'not: it returns a new tensor on the device and leaves the original alone. Written without assignment, the batch ' +
      'stays on the CPU; with the model on the GPU the forward pass fails with "Expected all tensors to be on the same ' +
      'device", and code that only runs on a CPU hides the mistake until it meets a GPU. Assign the result: ' +
      '`images = images.to(device)`.',
    wrong: 'for images, labels in train_loader:\n    images.to(device)\n    labels.to(device)\n    outputs = model(images)',
    right: 'for images, labels in train_loader:\n    images = images.to(device)\n    labels = labels.to(device)\n    outputs = model(images)',
    concept: 'Devices: tensors are moved by copy, modules in place',
    fixable: true,
  },
  nodeTypes: ['expression_statement'],
  local: ['imports', 'scopes'],
  visit(statement, ctx) {
    const call = loneExpression(statement);
    if (call?.type !== 'call' || !MOVES.has(calleeName(call) ?? '')) return;
    const target = receiver(call);
    if (target?.type !== 'identifier' || !isTensorName(ctx.analysis, target)) return;
    ctx.report({
      node: call,
      message: `${call.text} returns a moved copy and ${target.text} stays where it was: write ${target.text} = ${call.text}.`,
      fixes: [{ title: `Assign: ${target.text} = ${call.text}`, edits: [{ start: call.start, end: call.start, newText: `${target.text} = ` }] }],
    });
  },
};
