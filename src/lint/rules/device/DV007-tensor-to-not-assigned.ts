import { calleeName, hasParameter, loneExpression, loopTargetBinds, positionalArgs, receiver, unparen, type Analysis } from '../../analysis';
import { scopeOf } from '../../analysis/scopes';
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

/**
 * The loop target is read as a mapping in the loop (`model(**batch)`, `batch["labels"]`): a tensor is neither, so with
 * a `.to()` it is a tokenizer's `BatchEncoding` (or the like), whose `.to()` moves its tensors in place.
 */
function usedAsMapping(loop: PyNode, name: string): boolean {
  let hit = false;
  loop.child('body')?.walk((n) => {
    if (hit || n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda') return false;
    if (n.type === 'dictionary_splat' && unparen(n.namedChildren[0])?.text === name) hit = true;
    else if (n.type === 'subscript' && n.child('value')?.text === name && n.child('subscript')?.type === 'string') hit = true;
    return undefined;
  });
  return hit;
}

/** Whether a name holds a tensor: a target of a loop over batches, unpacked from one or from a split helper, or bound to a torch tensor factory. */
function isTensorName(a: Analysis, id: PyNode): boolean {
  for (let p = id.parent; p; p = p.parent) {
    if (p.type === 'function_definition' || p.type === 'class_definition') break;
    if (p.type === 'for_statement' && loopTargetBinds(p, id.text)) return BATCH_ITERABLE.test(p.child('right')?.text ?? '') && !graphBatchLoop(a, p, id.text) && !usedAsMapping(p, id.text);
  }
  const v = a.scopes.valueAt(id.text, id);
  if (v === null) return unpackedFromBatch(id) || unpackedTensor(a, id);
  const e = unparen(v);
  // inputs = data[0]: a piece of a batch
  if (e?.type === 'subscript' && e.child('value')?.type === 'identifier') return batchLoopBinding(id, e.child('value')!.text);
  return isFactoryCall(a, e);
}

/** Names that say a module (whose `.to()` works in place) or an object holding one. */
const MODULE_NAME = /model|net|module|layer|encoder|decoder|criterion|loss|head|backbone|classifier|generator|discriminator|critic|actor|policy|agent|embed|block|rnn|lstm|gru|conv|linear|fc|mlp|attn|attention|transformer|bert|vae|unet|teacher|student|ema|optim|sched/i;
/** One-letter module names: `G`, `D`, `m`. */
const MODULE_LETTER = /^([A-Z]|m)$/;
/** Methods only modules have: the name is (or may be) an `nn.Module`. */
const MODULE_METHODS = /^(parameters|named_parameters|buffers|modules|named_modules|children|eval|train|state_dict|load_state_dict|apply|forward|zero_grad|register_\w+|add_module)$/;
/** Methods and attributes only tensors (or arrays, whose `.to()` would fail anyway) have. */
const TENSOR_MEMBERS = /^(shape|ndim|ndimension|dim|numel|item|numpy|tolist|view|reshape|unsqueeze|squeeze|permute|transpose|expand|repeat|sum|mean|argmax|argmin|masked_fill|index_select|gather|long|bool|t|T|norm)$/;
/** torch functions of tensors: `torch.cat`, `F.normalize`, `torch.linalg.norm` (not those that take modules or paths). */
const TORCH_FUNCTION = /^torch\.(nn\.functional\.|linalg\.|fft\.|special\.)?[a-z_0-9]+$/;
const NOT_TENSOR_FUNCTION = /^torch\.(save|load|compile|is_tensor|is_storage|typename|device|vmap|manual_seed|set_\w+|get_\w+|use_deterministic_algorithms|autocast|no_grad|enable_grad|inference_mode)$/;
const ARITHMETIC = new Set(['+', '-', '*', '/', '//', '%', '@', '**']);
/**
 * Parameter names of data tensors. Not `inputs`/`batch` (tokenizer outputs and batch objects move in place), nor `x`
 * (generic helpers such as `def to_device(x, device)` get modules too).
 */
const DATA_PARAMETER = /^(images?|imgs?|labels?|targets?|tensors?|features|feats|points|vertices|coords|direction|masks?)$/;
/** Libraries whose batch objects (`Data`, `DGLGraph`, `BatchEncoding`) move in place with `.to()`. */
const IN_PLACE_BATCHES = /^(torch_geometric|dgl|transformers)(\.|$)/;

/** The reads of `name` in a function body (not in nested functions, classes or lambdas). */
function readsOf(fn: PyNode, name: string): PyNode[] {
  const out: PyNode[] = [];
  fn.child('body')?.walk((n) => {
    if (n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda') return false;
    if (n.type !== 'identifier' || n.text !== name) return undefined;
    const p = n.parent;
    if (p?.type === 'attribute' && p.child('attribute') === n) return undefined;
    if (p?.type === 'keyword_argument' && p.child('name') === n) return undefined;
    out.push(n);
    return undefined;
  });
  return out;
}

/** The values a function body assigns to `name` (unknown pieces of unpackings and loop targets included as undefined). */
function bindingsOf(fn: PyNode, name: string): (PyNode | undefined)[] {
  const out: (PyNode | undefined)[] = [];
  fn.child('body')?.walk((n) => {
    if (n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda') return false;
    const left = n.type === 'assignment' || n.type === 'for_statement' ? n.child('left') : n.type === 'as_pattern' ? n.child('alias') : undefined;
    if (!left) return undefined;
    if (left.type === 'identifier' && left.text === name) out.push(n.type === 'assignment' ? unparen(n.child('right') ?? undefined) : undefined);
    else if (left.type !== 'identifier') left.walk((t) => void (t.type === 'identifier' && t.text === name && out.push(undefined)));
    return undefined;
  });
  return out;
}

/** Whether a value may be a module: a class of the file, anything from `torch.nn` (not functional), a loaded object. */
function mayBeModuleValue(a: Analysis, v: PyNode | undefined): boolean {
  let e = v;
  while (e?.type === 'call' && MOVES.has(calleeName(e) ?? '')) e = unparen(receiver(e));
  if (e?.type !== 'call') return false;
  const f = e.child('function');
  if (f?.type === 'identifier' && a.definesClass(f.text)) return true;
  const q = a.callee(e) ?? '';
  if (/^torch\.nn\./.test(q) && !q.startsWith('torch.nn.functional.')) return true;
  return /^(torch\.(load|jit\.|hub\.)|torchvision\.models\.|timm\.|transformers\.|copy\.deepcopy)/.test(q) || /^(from_pretrained|create_model|build_model|get_model|load)$/.test(calleeName(e) ?? '');
}

/** How a read shows a tensor: an operand of arithmetic, a multi-axis index, an argument of a torch function, a tensor-only member. */
function readAsTensor(a: Analysis, id: PyNode): boolean {
  let n = id;
  while (n.parent?.type === 'parenthesized_expression') n = n.parent;
  const p = n.parent;
  if (!p) return false;
  if (p.type === 'binary_operator') {
    const op = p.children.find((c) => ARITHMETIC.has(c.type))?.type;
    // "%s" % x formats a string
    return op !== undefined && !(op === '%' && p.child('left')?.type === 'string');
  }
  if (p.type === 'unary_operator') return p.text.startsWith('-');
  if (p.type === 'subscript' && p.child('value') === n) return p.childrenOf('subscript').length > 1;
  if (p.type === 'attribute' && p.child('object') === n) return TENSOR_MEMBERS.test(p.child('attribute')?.text ?? '');
  if (p.type === 'argument_list' && p.parent?.type === 'call') {
    const q = a.callee(p.parent) ?? '';
    return TORCH_FUNCTION.test(q) && !NOT_TENSOR_FUNCTION.test(q);
  }
  return false;
}

/** `if torch.is_tensor(x):` / `elif isinstance(x, torch.Tensor):` around the statement. */
function guardedAsTensor(a: Analysis, statement: PyNode, name: string): boolean {
  for (let p = statement.parent; p && p.type !== 'function_definition'; p = p.parent) {
    if (p.type !== 'if_statement' && p.type !== 'elif_clause') continue;
    const cond = unparen(p.child('condition') ?? undefined);
    const tests = cond?.type === 'boolean_operator' && cond.text.includes(' and ') ? cond.namedChildren : [cond];
    for (const t of tests.map((x) => unparen(x ?? undefined))) {
      if (t?.type !== 'call' || positionalArgs(t)[0]?.text !== name) continue;
      if (a.callee(t) === 'torch.is_tensor') return true;
      if (calleeName(t) === 'isinstance' && /\btorch\.(\w+\.)?Tensor\b|\bTensor\b/.test(positionalArgs(t)[1]?.text ?? '')) return true;
    }
  }
  return false;
}

/**
 * A name of a function that is surely a tensor, not a module (whose `.to()` works in place): no module name, value,
 * call or module-only method anywhere in the function, and a tensor signal: an `is_tensor` guard, a read as a tensor
 * (arithmetic, `x[:, 0]`, `torch.cat(x)`, `x.shape`) or a data parameter's name (`x`, `images`, `targets`).
 */
function tensorInFunction(a: Analysis, id: PyNode, statement: PyNode): boolean {
  const fn = scopeOf(id);
  const name = id.text;
  if (!fn || MODULE_NAME.test(name) || MODULE_LETTER.test(name)) return false;
  const imports = [...a.imports.aliases.values()];
  if (imports.some((q) => /^(torch_geometric|dgl)(\.|$)/.test(q))) return false;
  const values = bindingsOf(fn, name);
  if (values.some((v) => mayBeModuleValue(a, v))) return false;
  const reads = readsOf(fn, name);
  for (const r of reads) {
    const p = r.parent;
    if (p?.type === 'call' && p.child('function') === r) return false;
    if (p?.type === 'attribute' && p.child('object') === r && MODULE_METHODS.test(p.child('attribute')?.text ?? '')) return false;
  }
  if (guardedAsTensor(a, statement, name) || reads.some((r) => readAsTensor(a, r))) return true;
  const parameter = values.length === 0 && hasParameter(fn, name);
  return parameter && DATA_PARAMETER.test(name) && !imports.some((q) => IN_PLACE_BATCHES.test(q));
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
      '`images = images.to(device)`. Reported only for names that are surely tensors: batches from a loader, tensor ' +
      'factory results, and function arguments the function treats as tensors (an `is_tensor` guard, arithmetic, ' +
      '`x[:, 0]`, `torch.*` calls, a data name such as `images`), never for a name that may hold a module.',
    wrong: 'for images, labels in train_loader:\n    images.to(device)\n    labels.to(device)\n    outputs = model(images)',
    right: 'for images, labels in train_loader:\n    images = images.to(device)\n    labels = labels.to(device)\n    outputs = model(images)',
    concept: 'Devices: tensors are moved by copy, modules in place',
    fixable: true,
  },
  nodeTypes: ['expression_statement'],
  local: ['imports', 'scopes', 'classes'],
  visit(statement, ctx) {
    const call = loneExpression(statement);
    if (call?.type !== 'call' || !MOVES.has(calleeName(call) ?? '')) return;
    const target = receiver(call);
    if (target?.type !== 'identifier' || !(isTensorName(ctx.analysis, target) || tensorInFunction(ctx.analysis, target, statement))) return;
    ctx.report({
      node: call,
      message: `${call.text} returns a moved copy and ${target.text} stays where it was: write ${target.text} = ${call.text}.`,
      fixes: [{ title: `Assign: ${target.text} = ${call.text}`, edits: [{ start: call.start, end: call.start, newText: `${target.text} = ` }] }],
    });
  },
};
