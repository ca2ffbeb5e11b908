import { callsWithin, calleeName, enclosingFunction, hasKeywordSplat, keywordArg, positionalArgs, receiver, unparen, type Analysis, type ModuleClass } from '../../analysis';
import { evaluation, evalFunctionNames, instanceClass, mayHelperSwitch, type EvalLoop } from '../../analysis/evaluation';
import { methodsOf } from '../../analysis/modules';
import { operatorOf, reachableCalls } from '../../analysis/order';
import { isBackward, isOptimizerStep } from '../../analysis/training';
import { parameterArguments } from '../../analysis/parameters';
import type { PyNode } from '../../parser';
import type { Rule } from '../../types';
import { loopHeader } from './EV003-eval-without-no-grad';

const STATEFUL = /^torch\.nn\.(Dropout\w*|AlphaDropout|FeatureAlphaDropout|BatchNorm[123]d|SyncBatchNorm|LazyBatchNorm[123]d)$/;

type Has = 'yes' | 'no' | 'unknown';

/** torch.nn layers with a `dropout` argument: its position, and whether it is on by default (0.1) or off (0.0). */
const DROPOUT_ARG: Record<string, { index: number; on: boolean }> = {
  'torch.nn.Transformer': { index: 5, on: true },
  'torch.nn.TransformerEncoderLayer': { index: 3, on: true },
  'torch.nn.TransformerDecoderLayer': { index: 3, on: true },
  'torch.nn.MultiheadAttention': { index: 2, on: false },
  'torch.nn.LSTM': { index: 5, on: false },
  'torch.nn.GRU': { index: 5, on: false },
  'torch.nn.RNN': { index: 6, on: false },
};
const RNN = /^torch\.nn\.(LSTM|GRU|RNN)$/;
const isZero = (n: PyNode | undefined) => /^0(\.0*)?$|^0?\.0+$/.test(n?.text ?? '');

/**
 * Layers whose `dropout` argument makes them mode-dependent: the Transformer layers (dropout=0.1 by default),
 * MultiheadAttention and stacked LSTM/GRU/RNN given a non-zero dropout. undefined for other layers; 'unknown' when the
 * argument is not a literal. `TransformerEncoder(layer, n)` is judged by its layer, followed through a name.
 */
function dropoutLayer(a: Analysis, call: PyNode, q: string, seen: Set<ModuleClass>): Has | undefined {
  if (q === 'torch.nn.TransformerEncoder' || q === 'torch.nn.TransformerDecoder') {
    const layer = unparen(positionalArgs(call)[0] ?? keywordArg(call, 'encoder_layer') ?? keywordArg(call, 'decoder_layer'));
    if (layer?.type !== 'identifier') return layer ? undefined : 'unknown'; // a call: callsWithin visits it
    const v = a.scopes.valueAt(layer.text, layer);
    return v ? hasStatefulLayers(a, v, seen) : 'unknown';
  }
  const spec = DROPOUT_ARG[q];
  if (!spec) return undefined;
  const arg = keywordArg(call, 'dropout') ?? positionalArgs(call)[spec.index];
  if (call.child('arguments')?.children.some((c) => c.type === 'dictionary_splat' || c.type === 'list_splat')) return 'unknown';
  if (!arg) return spec.on ? 'yes' : 'no';
  if (isZero(arg)) return 'no';
  if (RNN.test(q)) {
    // Dropout applies between stacked layers only: a single layer has none (torch warns).
    const layers = keywordArg(call, 'num_layers') ?? positionalArgs(call)[2];
    if (!layers || layers.text === '1') return 'no';
    if (layers.type !== 'integer') return 'unknown';
  }
  return arg.type === 'float' || arg.type === 'integer' ? 'yes' : 'unknown';
}

const MOVES = new Set(['to', 'cuda', 'cpu', 'float', 'double', 'half']);
const BUILTINS = new Set(['len', 'int', 'float', 'round', 'max', 'min', 'sum', 'abs', 'str', 'tuple', 'list', 'dict', 'range', 'bool', 'pow', 'divmod', 'sorted', 'set']);
const TENSORS = /^torch\.(zeros|ones|empty|full|rand|randn|randint|tensor|as_tensor|from_numpy|arange|linspace|eye|(zeros|ones|empty|full|rand|randn)_like|Tensor|FloatTensor|LongTensor)$/;
const PYG_BASIC_GNN = /^torch_geometric\.nn\.(models\.)?(GCN|GAT|GraphSAGE|GIN|PNA|EdgeCNN)$/;
/**
 * PyG message-passing layers that act the same in both modes, unless given a `dropout` (GAT's attention dropout, off by
 * default). Layers that wrap a given network (GINConv, EdgeConv) or hold a norm (GENConv) are not here.
 */
const PYG_PLAIN_CONV = /^torch_geometric\.nn\.(conv\.)?(GCNConv|SAGEConv|GraphConv|GATConv|GATv2Conv|ChebConv|TAGConv|SGConv|GatedGraphConv|ResGatedGraphConv|LEConv|ClusterGCNConv|GCN2Conv|FAConv|LGConv|SSGConv|SimpleConv|RGCNConv|FastRGCNConv|TransformerConv)$/;
/** torch.nn containers and wrappers whose modules may be passed by name. */
const WRAPPERS = /^torch\.nn\.(DataParallel|Sequential|parallel\.DataParallel|parallel\.DistributedDataParallel|parallel\.distributed\.DistributedDataParallel)$/;

/** What the module a name holds at `at` contains ('unknown' for a parameter or an unbound name). */
function nameValueHas(a: Analysis, id: PyNode, at: PyNode, seen: Set<ModuleClass>, values: Set<PyNode>): Has {
  const v = a.scopes.valueAt(id.text, at);
  if (v) return hasStatefulLayers(a, v, seen, values);
  // A parameter: what every call site passes (`run(model)` after `model = GCN(...)`).
  const args = v === null ? argumentsOf(a, id) : undefined;
  if (!args?.length) return 'unknown';
  let result: Has = 'no';
  for (const arg of args) {
    const r = hasStatefulLayers(a, arg, seen, values);
    if (r === 'yes') return 'yes';
    if (r === 'unknown') result = 'unknown';
  }
  return result;
}

/** The statement-level node a call belongs to: its assignment when it has one (a name's earlier value holds there). */
function assignmentOf(n: PyNode): PyNode {
  for (let p = n.parent; p; p = p.parent) {
    if (p.type === 'assignment') return p;
    if (p.type === 'expression_statement' || p.type === 'block' || p.type === 'module') break;
  }
  return n;
}

/** Whether a module built by `value` contains Dropout/BatchNorm: known only when every piece is. */
export function hasStatefulLayers(a: Analysis, value: PyNode, seen = new Set<ModuleClass>(), values = new Set<PyNode>()): Has {
  // `values`: the values being followed (a cycle through names is unknown).
  if (values.has(value)) return 'unknown';
  values.add(value);
  try {
    return valueHas(a, value, seen, values);
  } finally {
    values.delete(value);
  }
}

function valueHas(a: Analysis, value: PyNode, seen: Set<ModuleClass>, values: Set<PyNode>): Has {
  const bare = unparen(value);
  // `model = net`: the module the other name holds.
  if (bare?.type === 'identifier') return nameValueHas(a, bare, value, seen, values);
  let result: Has = 'no';
  for (const call of callsWithin(value)) {
    if (call.type !== 'call') continue;
    const q = a.callee(call);
    const fn = call.child('function');
    if (q && STATEFUL.test(q)) return 'yes';
    const d = q ? dropoutLayer(a, call, q, seen) : undefined;
    if (d === 'yes') return 'yes';
    if (d === 'unknown') result = 'unknown';
    if (q && PYG_BASIC_GNN.test(q)) {
      // PyG's BasicGNN models: dropout=0.0 and norm=None unless given.
      const drop = keywordArg(call, 'dropout');
      const norm = keywordArg(call, 'norm');
      if (drop && !isZero(drop) && (drop.type === 'float' || drop.type === 'integer')) return 'yes';
      if (hasKeywordSplat(call) || (drop && !isZero(drop)) || (norm && norm.text !== 'None')) result = 'unknown';
      continue;
    }
    if (q && PYG_PLAIN_CONV.test(q)) {
      const drop = keywordArg(call, 'dropout');
      if (drop && !isZero(drop)) result = drop.type === 'float' || drop.type === 'integer' ? 'yes' : 'unknown';
      if (hasKeywordSplat(call)) result = 'unknown';
      if (result === 'yes') return 'yes';
      continue;
    }
    if (q && WRAPPERS.test(q)) {
      // `nn.DataParallel(net)`, `nn.Sequential(backbone, head)`: the wrapped modules given by name.
      for (const arg of positionalArgs(call)) {
        const e = unparen(arg);
        if (e?.type !== 'identifier') continue;
        const r = nameValueHas(a, e, assignmentOf(call), seen, values);
        if (r === 'yes') return 'yes';
        if (r === 'unknown') result = 'unknown';
      }
      continue;
    }
    if (q?.startsWith('torch.nn.')) continue;
    // `RNN(len(vocab), 64)`, `nn.Parameter(torch.zeros(n))`: sizes and tensors in the arguments build no module.
    if ((fn?.type === 'identifier' && BUILTINS.has(fn.text) && !q && !a.functions.has(fn.text)) || (q && TENSORS.test(q))) continue;
    const cls = fn?.type === 'identifier' ? a.moduleClass(fn.text, call) : undefined;
    if (cls) {
      const r = classHas(a, cls, seen);
      if (r === 'yes') return 'yes';
      if (r === 'unknown') result = 'unknown';
    } else if (fn?.type === 'attribute' && MOVES.has(fn.child('attribute')?.text ?? '')) {
      // `model = model.to(device)`: the module is the one the name held before this statement.
      const recv = unparen(fn.child('object'));
      if (recv?.type === 'call') continue; // `Net().to(device)`: the call inside is visited
      if (recv?.type !== 'identifier') {
        result = 'unknown'; // `args.model.to(device)`: a module built elsewhere
        continue;
      }
      const r = nameValueHas(a, recv, assignmentOf(call), seen, values);
      if (r === 'yes') return 'yes';
      if (r === 'unknown') result = 'unknown';
    } else {
      result = 'unknown';
    }
  }
  return result;
}

/** The calls of a class's methods (callsWithin stops at the method definitions). */
function classCalls(cls: ModuleClass): PyNode[] {
  return methodsOf(cls.node).flatMap((m) => callsWithin(m.child('body') ?? m));
}

/** `x` of the `self.x(...)` / `self.x.forward(...)` calls in a class's methods. */
function calledSelfAttributes(cls: ModuleClass): Set<string> {
  const out = new Set<string>();
  for (const c of classCalls(cls)) {
    let f = c.child('function');
    if (f?.type === 'attribute' && f.child('attribute')?.text === 'forward') f = f.child('object');
    if (f?.type === 'attribute' && f.child('object')?.text === 'self') out.add(f.child('attribute')?.text ?? '');
  }
  return out;
}

/** `nn.Sigmoid() if n == 1 else nn.Softmax(1)`: a choice between built modules, read like a call. */
function moduleChoice(v: PyNode): boolean {
  if (v.type !== 'conditional_expression') return false;
  const [yes, , no] = v.namedChildren.map((c) => unparen(c));
  return yes?.type === 'call' && (no?.type === 'call' || no?.type === 'none');
}

function classHas(a: Analysis, cls: ModuleClass, seen: Set<ModuleClass>): Has {
  if (seen.has(cls)) return 'no';
  seen.add(cls);
  let result: Has = 'no';
  for (const c of callsWithin(cls.node)) {
    if (/dropout/i.test(calleeName(c) ?? '')) return 'yes';
  }
  // Layers built in the class's methods, also into local names (`layer = nn.TransformerEncoderLayer(d, 4)`).
  for (const c of classCalls(cls)) {
    const q = a.callee(c);
    // `F.dropout(x, p=0.5, training=self.training)`, `F.batch_norm(..., training=self.training)`: follows the mode.
    // A functional dropout without `training=` is always on (EV007), and follows the mode once fixed.
    if (q?.startsWith('torch.nn.functional.') && (/\bself\.training\b/.test(keywordArg(c, 'training')?.text ?? '') || /dropout/.test(q))) return 'yes';
    const d = q ? dropoutLayer(a, c, q, seen) : undefined;
    if (d === 'yes') return 'yes';
    if (d === 'unknown') result = 'unknown';
  }
  let called: Set<string> | undefined;
  for (const [attr, v] of cls.layers) {
    if (v.type !== 'call' && !moduleChoice(v)) {
      // `self.encoder = encoder`, then `self.encoder(src)`: a module handed to the constructor, not seen here.
      called ??= calledSelfAttributes(cls);
      if (called.has(attr)) result = 'unknown';
      continue;
    }
    const r = hasStatefulLayers(a, v, seen);
    if (r === 'yes') return 'yes';
    if (r === 'unknown') result = 'unknown';
  }
  return result;
}

/** Libraries whose models are known to hold Dropout/BatchNorm often enough to warn without seeing them. */
const MODEL_LIBRARIES = /^(torch|torchvision|torchaudio|torchtext|timm|transformers|torch_geometric|segmentation_models_pytorch|efficientnet_pytorch|pretrainedmodels|monai|lightning|pytorch_lightning|sentence_transformers|open_clip|clip|ultralytics|detectron2|mmdet|mmseg|mmcls|mmpretrain|peft|diffusers|fairseq|allennlp|dgl|torch_frame|huggingface_hub|accelerate|keras|tensorflow)(\.|$)/;

/**
 * `from model import Net; model = Net().to(device)`: a model class imported from a module of the user's own (not a
 * known library). Descent does not follow it, and says nothing rather than guess (README).
 */
function importedUserModel(a: Analysis, value: PyNode): boolean {
  let v: PyNode | undefined = unparen(value);
  while (v?.type === 'call') {
    const fn = v.child('function');
    if (fn?.type === 'attribute' && MOVES.has(fn.child('attribute')?.text ?? '')) {
      v = unparen(fn.child('object'));
      continue;
    }
    if (!fn || (fn.type === 'identifier' && a.moduleClass(fn.text, v))) return false;
    const q = a.qname(fn);
    if (q) return !MODEL_LIBRARIES.test(q) && (fn.type === 'identifier' || fn.type === 'attribute');
    // `from .model import Net`: relative imports resolve to nothing; the name is imported all the same.
    return fn.type === 'identifier' && relativelyImported(a, fn.text);
  }
  return false;
}

function relativelyImported(a: Analysis, name: string): boolean {
  return a.index.of('import_from_statement').some(
    (s) => s.child('module_name')?.type === 'relative_import' && s.childrenOf('name').some((c) => (c.type === 'aliased_import' ? c.child('alias')?.text : c.text) === name),
  );
}

/** The model a forward runs: `model` of `model(x)`, `model.forward(x)` and `model.generate(x)`. */
function forwardModel(forward: PyNode): PyNode | undefined {
  const f = forward.child('function');
  return f?.type === 'attribute' && /^(forward|generate)$/.test(f.child('attribute')?.text ?? '') ? f.child('object') : f;
}

/** What the model a forward calls holds, following a parameter to the arguments of the function's call sites. */
function modelHas(a: Analysis, forward: PyNode): Has | 'imported' {
  const f = forwardModel(forward);
  if (f?.type === 'attribute' && f.child('object')?.text === 'self') return selfAttributeHas(a, f);
  return f?.type === 'identifier' ? nameHas(a, f, 0) : 'unknown';
}

/** `self.model(x)`: what every module the class assigns to `self.model` holds (a wrapper built over branches). */
function selfAttributeHas(a: Analysis, f: PyNode): Has | 'imported' {
  const cls = f.ancestor('class_definition');
  const values = cls ? a.scopes.selfAttr(cls, f.child('attribute')?.text ?? '') : [];
  if (!values.length) return 'unknown';
  let result: Has | 'imported' = 'no';
  for (const v of values) {
    const e = unparen(v);
    const r = e?.type === 'call' ? (importedUserModel(a, e) ? 'imported' : hasStatefulLayers(a, e)) : 'unknown';
    if (r === 'yes') return 'yes';
    if (r !== 'no') result = result === 'no' || result === r ? r : 'unknown';
  }
  return result;
}

function nameHas(a: Analysis, id: PyNode, depth: number): Has | 'imported' {
  const v = a.scopes.valueAt(id.text, id);
  if (v) {
    if (importedUserModel(a, v)) return 'imported';
    return hasStatefulLayers(a, v);
  }
  // `def evaluate(model, ...)`: what every call site passes.
  const args = v === null && depth < 3 ? argumentsOf(a, id) : undefined;
  if (!args?.length) return 'unknown';
  let result: Has | 'imported' = 'no';
  for (const arg of args) {
    const e = unparen(arg);
    const r = e?.type === 'identifier' ? nameHas(a, e, depth + 1) : e?.type === 'call' ? (importedUserModel(a, e) ? 'imported' : hasStatefulLayers(a, e)) : 'unknown';
    if (r === 'yes') return 'yes';
    if (r !== 'no') result = result === 'no' || result === r ? r : 'unknown';
  }
  return result;
}

/**
 * The arguments a parameter receives at the call sites of its function. parameterArguments gives up when the function
 * rebinds the name (`model = model.to(rank)`); a read of the parameter itself (before the rebinding) is still the
 * argument: then the plain `f(...)` call sites, by position or keyword.
 */
function argumentsOf(a: Analysis, id: PyNode): readonly PyNode[] | undefined {
  const known = parameterArguments(a, id);
  if (known) return known;
  const fn = enclosingFunction(id);
  const name = fn?.child('name')?.text;
  if (!fn || !name || fn.ancestor('class_definition') || a.functions.get(name)?.length !== 1) return undefined;
  const params = fn.child('parameters')?.namedChildren ?? [];
  const i = params.findIndex((p) => (p.type === 'identifier' ? p.text : p.child('name')?.text) === id.text);
  if (i < 0 || params.slice(0, i + 1).some((p) => p.type === 'list_splat_pattern' || p.type === 'dictionary_splat_pattern' || p.type === 'keyword_separator')) return undefined;
  const sites = evaluation(a).callSites(name).filter((c) => c.child('function')?.type === 'identifier');
  if (!sites.length) return undefined;
  const out: PyNode[] = [];
  for (const site of sites) {
    if (hasKeywordSplat(site)) return undefined;
    const arg = positionalArgs(site)[i] ?? keywordArg(site, id.text) ?? (params[i]!.type === 'default_parameter' ? params[i]!.child('value') : undefined);
    if (!arg) return undefined;
    out.push(arg);
  }
  return out;
}

/**
 * Whether a forward's model may switch behaviour with eval(): not when known free of Dropout/BN, or imported. A
 * Hugging Face model starts in eval mode (`from_pretrained` calls eval()), and `generate` is theirs: for those the mode
 * matters only once the file puts something in training mode.
 */
function modeMatters(a: Analysis, forward: PyNode): boolean {
  if (ownsTrainRoutine(a, forward)) return false;
  const h = modelHas(a, forward);
  if (h !== 'yes' && h !== 'unknown') return false;
  return !((evaluation(a).isGenerate(forward) || loadedPretrained(a, forward)) && !a.callsNamed('train').some(switchesToTrain));
}

/**
 * The forward's model is an instance of a class of the file that defines its own `train(self, train_loader, ...)`, a
 * training routine rather than the mode switch: `model.eval()` calls `self.train(False)`, which would run it. Advice
 * to call eval() is wrong there (the model is `self` in its own methods, or a name holding an instance).
 */
function ownsTrainRoutine(a: Analysis, forward: PyNode): boolean {
  if (!a.functions.has('train')) return false;
  const model = unparen(forwardModel(forward));
  const cls = model?.text === 'self' ? forward.ancestor('class_definition') : instanceClass(a, model);
  const train = cls ? methodsOf(cls).find((m) => m.child('name')?.text === 'train') : undefined;
  if (!train) return false;
  const params = (train.child('parameters')?.namedChildren ?? []).filter((p) => p.type !== 'comment').slice(1);
  const first = params[0];
  const name = first?.type === 'identifier' ? first.text : first?.child('name')?.text ?? first?.namedChildren[0]?.text;
  return first !== undefined && name !== 'mode' && first.type !== 'list_splat_pattern' && first.type !== 'dictionary_splat_pattern';
}

/** `model = AutoModel.from_pretrained(...)` (also `.to(device)` after it): the model the forward runs. */
function loadedPretrained(a: Analysis, forward: PyNode): boolean {
  const f = forwardModel(forward);
  let v = f?.type === 'identifier' ? unparen(a.scopes.valueAt(f.text, f) ?? undefined) : undefined;
  while (v?.type === 'call') {
    const fn = v.child('function');
    const name = fn?.type === 'attribute' ? fn.child('attribute')?.text : undefined;
    if (name === 'from_pretrained') return true;
    if (!name || !MOVES.has(name)) return false;
    v = unparen(fn!.child('object'));
  }
  return false;
}

/** `x.train()`, `x.train(True)`, `x.train(mode=True)`: a switch to training mode. */
function switchesToTrain(c: PyNode): boolean {
  if (calleeName(c) !== 'train' || !receiver(c)) return false;
  const args = c.child('arguments')?.namedChildren ?? [];
  return !args.length || (args.length === 1 && /^(True|mode\s*=\s*True)$/.test(args[0]!.text));
}

/**
 * Functions that run training mode on held-out data on purpose: Monte Carlo dropout (`def mc_predict`,
 * `enable_dropout`), BatchNorm statistics re-estimated on new data (`update_bn`, `recalibrate`, test-time adaptation).
 */
const TRAIN_MODE_ON_PURPOSE = /(^|_)mc(_|$)|monte|carlo|mc_?dropout|enable_dropout|uncertaint|bayes|(^|_)bn(_|$)|recalib|adapt/i;

/**
 * The `model.train()` that decides the mode at a forward of an evaluation loop: the last mode switch of the forward's
 * model on the way to it (in the loop's body, then in each per-batch helper down to the forward) is a train() that runs
 * on every path there (its statement sits in a block around the forward, not under an `if` of its own).
 */
function trainBeforeForward(e: EvalLoop, forward: PyNode): PyNode | undefined {
  const model = forwardModel(forward)?.text;
  const body = e.loop.child('body');
  if (!model || !body) return undefined;
  const points = [...(e.via?.get(forward) ?? []), forward];
  if (points.some((p) => TRAIN_MODE_ON_PURPOSE.test(enclosingFunction(p)?.child('name')?.text ?? ''))) return undefined;
  for (let i = points.length - 1; i >= 0; i--) {
    const at = points[i]!;
    const scope = i === 0 ? body : enclosingFunction(at)?.child('body');
    if (!scope) return undefined;
    let last: PyNode | undefined;
    for (const c of callsWithin(scope)) {
      if (c.start >= at.start || !/^(eval|train)$/.test(calleeName(c) ?? '') || receiver(c)?.text !== model) continue;
      if (!last || c.start > last.start) last = c;
    }
    if (last) return switchesToTrain(last) && runsBefore(last, at) ? last : undefined;
  }
  return undefined;
}

/** The call's statement is in a block that holds `at` (after it): it runs on every path to `at`. */
function runsBefore(call: PyNode, at: PyNode): boolean {
  const stmt = call.parent;
  const block = stmt?.parent;
  if (stmt?.type !== 'expression_statement' || stmt.namedChildren[0] !== call) return false;
  return !!block && (block.type === 'block' || block.type === 'module') && block.start <= at.start && at.end <= block.end;
}

/**
 * `x.eval()` / `x.train(False)` calls of the file, and calls of its functions that switch to eval mode on every path
 * (`model.val_start()`, `set_eval(model)`), found once per lint.
 */
const modeCalls = new WeakMap<Analysis, PyNode[]>();
function evalCalls(a: Analysis): PyNode[] {
  let list = modeCalls.get(a);
  if (!list) {
    // By name through the call index (not a pass over every call of the file): eval(), train(False), and the
    // calls of the file's functions that set eval mode.
    const found = new Set<PyNode>([...a.callsNamed('eval'), ...a.callsNamed('train').filter((c) => /\(\s*(False|mode\s*=\s*False)\s*\)/.test(c.child('arguments')?.text ?? ''))]);
    for (const name of evalFunctionNames(a)) for (const c of a.callsNamed(name)) if (mayHelperSwitch(a, c, 'eval')) found.add(c);
    list = [...found].sort((x, y) => x.start - y.start);
    modeCalls.set(a, list);
  }
  return list;
}

/** An eval-mode call earlier in the same function (or at module level when `fn` is undefined). */
function evalCallBefore(a: Analysis, fn: PyNode | undefined, at: PyNode): boolean {
  return evalCalls(a).some((c) => c.start < at.start && c.ancestor('function_definition') === fn);
}

/** An eval-mode call before `at` in its function, or before every call site of that function. */
function hasEvalMode(a: Analysis, fn: PyNode | undefined, at: PyNode): boolean {
  if (evalCallBefore(a, fn, at)) return true;
  const name = fn?.child('name')?.text;
  if (!name) return false;
  const sites = evaluation(a).callSites(name);
  return sites.length > 0 && sites.every((s) => evalCallBefore(a, s.ancestor('function_definition'), s));
}

// The phases of a shared train/val loop: `for phase in ["train", "val"]:`.
const TRAIN_PHASE = /^[rbuf]*['"]train(ing)?['"]$/i;
const EVAL_PHASE = /^[rbuf]*['"](val|valid|validation|eval|test|dev)['"]$/i;

/** `for phase in ["train", "val"]:` whose body picks the data by phase (`dataloaders[phase]`): the phase variable. */
function phaseVariable(loop: PyNode): string | undefined {
  const right = loop.child('right');
  const left = loop.child('left');
  if ((right?.type !== 'list' && right?.type !== 'tuple') || left?.type !== 'identifier') return undefined;
  const items = right.namedChildren;
  if (!items.every((c) => c.type === 'string') || !items.some((c) => TRAIN_PHASE.test(c.text)) || !items.some((c) => EVAL_PHASE.test(c.text))) return undefined;
  let picks = false;
  loop.child('body')?.walk((n) => {
    if (picks || n.type === 'function_definition' || n.type === 'class_definition') return false;
    if (n.type === 'for_statement') n.child('right')?.walk((x) => void (x.type === 'identifier' && x.text === left.text && (picks = true)));
  });
  return picks ? left.text : undefined;
}

/** A `model.train()` statement of the phase loop that runs in every phase (not under an `if`). */
function unconditionalTrain(loop: PyNode, calls: readonly PyNode[]): PyNode | undefined {
  return calls.find((c) => {
    if (calleeName(c) !== 'train' || c.child('arguments')?.namedChildren.length || !receiver(c)) return false;
    for (let p = c.parent; p && p !== loop; p = p.parent) {
      if (p.type !== 'expression_statement' && p.type !== 'block' && p.type !== 'with_statement') return false;
    }
    return true;
  });
}

/** Switches a mode: `x.eval()`, or `x.train(...)` with an argument (`model.train(phase == "train")`). */
function switchesMode(c: PyNode): boolean {
  const name = calleeName(c);
  return name === 'eval' || (name === 'train' && (c.child('arguments')?.namedChildren.length ?? 0) > 0);
}

/**
 * The transfer-learning phase loop with `model.train()` in every phase and no eval(): the val phase runs in training
 * mode. The `model.train()` call, when the loop also runs `model(...)` and nothing in it (or in the file's functions it
 * calls) switches to eval mode.
 */
function phaseLoopTrainCall(a: Analysis, loop: PyNode): PyNode | undefined {
  const body = loop.child('body');
  if (!body || !phaseVariable(loop)) return undefined;
  const own = callsWithin(body);
  const train = unconditionalTrain(loop, own);
  const model = train && receiver(train)?.text;
  if (!model) return undefined;
  const ev = evaluation(a);
  const forwards = own.filter((c) => ev.isForward(c) && (c.child('function')?.text === model || c.child('function')?.text === `${model}.forward`));
  if (!forwards.length || !forwards.some((f) => modeMatters(a, f))) return undefined;
  if (reachableCalls(a, body).some(switchesMode) || own.some((c) => handsModelOut(a, c, model))) return undefined;
  return train;
}

/** `x.train()` / `x.eval()` / `x.train(mode)`: any mode switch of a module. */
const isModeCall = (c: PyNode) => /^(train|eval)$/.test(calleeName(c) ?? '') && !!receiver(c);

/**
 * A phase loop that never switches modes: no train()/eval() in it (nor in the file's functions it calls), none before
 * it in its function. A model seen to hold Dropout/BatchNorm then runs every phase in the mode it was built in,
 * training. The first forward of such a model, else undefined.
 */
function phaseLoopWithoutSwitch(a: Analysis, loop: PyNode): PyNode | undefined {
  const body = loop.child('body');
  if (!body || !phaseVariable(loop)) return undefined;
  const own = callsWithin(body);
  const fn = enclosingFunction(loop);
  if (own.some(isModeCall) || reachableCalls(a, body).some(isModeCall) || hasEvalMode(a, fn, loop)) return undefined;
  if (a.callsNamed('train').some((c) => !!receiver(c) && c.start < loop.start && enclosingFunction(c) === fn)) return undefined;
  const ev = evaluation(a);
  return own.find((c) => {
    if (!ev.isForward(c) || modelHas(a, c) !== 'yes') return false;
    const model = forwardModel(c)?.text ?? '';
    return !own.some((x) => x !== c && handsModelOut(a, x, model));
  });
}

/** Parameters that name the phase a shared step function runs: `phase`, `mode`, `split`, `is_train`, `training`. */
const PHASE_PARAM = /^(phase|mode|split|stage|is_?train(ing)?|train(ing)?|do_train)$/;

/** `model.train()` / `model = model.train()` as a statement of the function's body, outside any `if` or loop. */
function unconditionalInFunction(c: PyNode, fn: PyNode): boolean {
  for (let p = c.parent; p && p !== fn; p = p.parent) {
    if (!['expression_statement', 'assignment', 'block', 'with_statement', 'with_clause', 'with_item'].includes(p.type)) return false;
  }
  return true;
}

/** The condition mentions the phase parameter: `phase == 'train'`, `is_train`, `not training`. */
function onPhase(cond: PyNode | null | undefined, param: string): boolean {
  let found = false;
  cond?.walk((x) => void (x.type === 'identifier' && x.text === param && (found = true)));
  return found;
}

/** The `if` statements around `n` (inside `fn`) whose condition reads the phase parameter. */
function phaseGates(n: PyNode, fn: PyNode, param: string): PyNode[] {
  const out: PyNode[] = [];
  for (let p = n.parent; p && p !== fn; p = p.parent) if (p.type === 'if_statement' && onPhase(p.child('condition'), param)) out.push(p);
  return out;
}

/**
 * `def step(batch, phase): model.train(); out = model(x); ...; if phase == 'train': loss.backward()`: a step function
 * shared by the phases that updates only in training, yet switches to training mode in every phase before its
 * forward. The train() call and the forward it reaches, else undefined.
 */
function phaseStepTrain(a: Analysis, train: PyNode): { train: PyNode; forward: PyNode } | undefined {
  if (!switchesToTrain(train) || train.child('arguments')?.namedChildren.length) return undefined;
  const fn = enclosingFunction(train);
  const model = receiver(train)?.text;
  if (!fn || !model || !unconditionalInFunction(train, fn)) return undefined;
  const params = (fn.child('parameters')?.namedChildren ?? []).map((p) => (p.type === 'identifier' ? p.text : p.child('name')?.text ?? ''));
  const param = params.find((p) => PHASE_PARAM.test(p));
  const body = fn.child('body');
  if (!param || !body) return undefined;
  const calls = callsWithin(body);
  // The update runs only in some phases: under an `if` on the phase parameter.
  if (!calls.some((c) => (isBackward(c) || isOptimizerStep(c, a)) && phaseGates(c, fn, param).length > 0)) return undefined;
  const ev = evaluation(a);
  const between = (c: PyNode, f: PyNode) => c.start > train.end && c.start < f.start && isModeCall(c);
  const forward = calls.find(
    (f) => f.start > train.end && ev.isForward(f) && forwardModel(f)?.text === model && !phaseGates(f, fn, param).some(admitsTrainOnly(param)) && !calls.some((c) => between(c, f)),
  );
  return forward && modeMatters(a, forward) ? { train, forward } : undefined;
}

/** `if phase == 'train':` / `if is_train:` (its consequence runs in the training phase only). */
function admitsTrainOnly(param: string): (gate: PyNode) => boolean {
  return (gate) => {
    const cond = unparen(gate.child('condition'));
    if (cond?.type === 'identifier') return cond.text === param;
    return cond?.type === 'comparison_operator' && operatorOf(cond) === '==' && cond.namedChildren.some((x) => TRAIN_PHASE.test(x.text));
  };
}

/** `set_mode(model, phase)`: the model given to a function this file does not define, which may switch its mode. */
function handsModelOut(a: Analysis, call: PyNode, model: string): boolean {
  const fn = call.child('function');
  if (fn?.type === 'identifier' && a.functions.get(fn.text)?.length === 1) return false; // followed by reachableCalls
  return (call.child('arguments')?.namedChildren ?? []).some((x) => (x.type === 'keyword_argument' ? x.child('value') : x)?.text === model);
}

export const EV001: Rule = {
  meta: {
    id: 'EV001',
    name: 'eval-without-eval-mode',
    group: 'evaluation',
    defaultSeverity: 'warning',
    summary: 'An evaluation loop runs the model without model.eval().',
    why:
      'In training mode, Dropout randomly zeroes activations and BatchNorm normalises with the statistics of the current batch ' +
      '(and keeps updating its running averages with validation data). Validation numbers become noisy and pessimistic, and ' +
      'the model drifts. `model.eval()` switches both to inference behaviour; `model.train()` switches back. When the model ' +
      'cannot be resolved in this file Descent still warns: most real models (and all torchvision backbones) hold such layers; ' +
      'a Hugging Face model loaded with `from_pretrained` starts in eval mode, so it is warned about only once the file puts ' +
      'something in training mode (`model.generate(...)` counts as a forward: it does not switch modes itself). ' +
      'Also reported: a `model.train()` inside the evaluation loop (or its per-batch helper) before the forward, which undoes ' +
      'the `model.eval()` before the loop. ' +
      'And: a `for phase in ["train", "val"]:` loop that calls `model.train()` in every phase, or switches no mode at all ' +
      'with a model seen to hold Dropout/BatchNorm; a step function shared by the phases (`def step(batch, phase)`, ' +
      '`is_training`) that calls `model.train()` whatever the phase and gates only the update on it; and ' +
      '`with torch.no_grad(): model(X_test)` on a whole held-out tensor without `model.eval()` first, and a held-out loop ' +
      'whose per-batch helper (`self.validation_step(x, y)`, a function of the file) runs the model. Snippets that use ' +
      'torch through its conventional names (`nn.`, `torch.`, `optim.`) without importing it are checked too. A call of a ' +
      'function or wrapper method of the file that switches to eval mode on every path (`set_eval(model)`, ' +
      '`model.val_start()`) counts as `model.eval()`. A loop of the model\'s own method over no held-out data (a decoding ' +
      'loop calling `self.decoder(...)` in `predict_step(self, ...)`) is left to its caller, and a shape check on made-up ' +
      'tensors (`print(net(torch.randn(1, 3, 32, 32)).size())`) is no evaluation. A model class of the file that defines its ' +
      'own `train(self, loader, ...)` routine is left alone: `eval()` calls `train(False)`, which would run that routine. ' +
      'A loop over a local name bound only to held-out loaders (`data = self.val_loader` / `self.test_loader` by split) is ' +
      'an evaluation loop, and `self.phi(x)` runs a model when the file reads `self.phi.parameters()`. A model every ' +
      'piece of which is known to act the same in both modes (Linear, LayerNorm, PyG convolutions without dropout, ' +
      'classes of the file built of those, also behind `self.model` assigned over branches) is not reported.',
    wrong: 'def evaluate(model, loader):\n    with torch.no_grad():\n        for x, y in loader:\n            out = model(x)',
    right: 'def evaluate(model, loader):\n    model.eval()\n    with torch.no_grad():\n        for x, y in loader:\n            out = model(x)',
    concept: 'Regularisation: Dropout and BatchNorm behave differently in training and inference',
    fixable: false,
  },
  check(ctx) {
    const a = ctx.analysis;
    const ev = evaluation(a);
    for (const e of ev.loops) {
      // `model.eval()` before the loop, `model.train()` in it before the forward: the forward runs in training mode.
      const late = e.forwards.map((f) => [trainBeforeForward(e, f), f] as const).find(([t, f]) => t && modeMatters(a, f));
      if (late) {
        const [train, f] = late;
        ctx.report({
          node: train!,
          message: `${train!.text} runs before the forward in this evaluation loop, so ${forwardModel(f)!.text} evaluates in training mode (Dropout on, BatchNorm statistics updated): remove it, or call it after the evaluation.`,
        });
        continue;
      }
      // A decoding loop of the model's own method (`self.decoder(y, state)` in `predict_step`): its caller sets the mode.
      if (hasEvalMode(a, e.fn, e.loop) || ev.modelsOwnLoop(e)) continue;
      // `model.eval()` inside the loop, before each forward (every batch switches again: redundant, not wrong).
      if (e.forwards.every((f) => enclosingFunction(f) === e.fn && evalCallBefore(a, e.fn, f))) continue;
      // Forwards in per-batch helpers: an eval() before the forward in the helper, or before a call leading to it.
      const via = e.via;
      if (via && e.forwards.every((f) => [...via.get(f)!, f].some((at) => evalCallBefore(a, enclosingFunction(at), at)))) continue;
      if (!e.forwards.some((f) => modeMatters(a, f))) continue;
      ctx.report({
        ...loopHeader(e.loop),
        message: 'Evaluation loop without model.eval(): Dropout and BatchNorm stay in training mode. Call model.eval() before it (and model.train() before training resumes).',
      });
    }
    // `with torch.no_grad(): y_pred = model(X_test)`: once per function (or module).
    const seen = new Set<PyNode | undefined>();
    for (const f of ev.heldOutForwards) {
      if (seen.has(f.fn) || hasEvalMode(a, f.fn, f.call) || !modeMatters(a, f.call)) continue;
      // A loop-free evaluation function is a newer inference: only for a model seen to hold Dropout/BatchNorm.
      if (f.inEvalFunction && modelHas(a, f.call) !== 'yes') continue;
      // After training with autograd on, or in a loop-free evaluation function: any eval() that may have run before
      // (in a helper, another scope) silences it.
      if ((f.afterTraining || f.inEvalFunction) && evalCalls(a).some((c) => c.start < f.call.start || c.ancestor('function_definition') !== f.fn)) continue;
      seen.add(f.fn);
      const input = positionalArgs(f.call)[0]?.text ?? 'the held-out data';
      ctx.report({
        node: f.call,
        message: `${f.call.text} evaluates on ${input} without model.eval(): Dropout and BatchNorm stay in training mode. Call model.eval() first.`,
      });
    }
    const stepReported = new Set<PyNode>();
    for (const loop of a.index.of('for_statement')) {
      const forward = phaseLoopWithoutSwitch(a, loop);
      if (forward) {
        const model = forwardModel(forward)!.text;
        const phase = phaseVariable(loop)!;
        ctx.report({
          ...loopHeader(loop),
          message: `This loop runs its validation phase with ${model} in training mode (Dropout on, BatchNorm statistics updated): nothing switches modes. Call ${model}.train() if ${phase} == "train" else ${model}.eval() at the top of each phase.`,
        });
        continue;
      }
      const train = phaseLoopTrainCall(a, loop);
      if (!train) continue;
      stepReported.add(train);
      ctx.report({
        node: train,
        message: `${train.text} runs in every phase of the loop, so the validation phase runs in training mode (Dropout on, BatchNorm statistics updated). Switch by phase: ${receiver(train)!.text}.train() if phase == "train" else ${receiver(train)!.text}.eval().`,
      });
    }
    for (const c of a.callsNamed('train')) {
      const hit = stepReported.has(c) ? undefined : phaseStepTrain(a, c);
      if (!hit) continue;
      const model = receiver(c)!.text;
      ctx.report({
        node: c,
        message: `${c.text} runs whatever the phase, and only the update is gated on it: the other phases run ${model} in training mode (Dropout on, BatchNorm statistics updated). Switch by phase: ${model}.train() if training else ${model}.eval().`,
      });
    }
  },
};
