// Evaluation contexts: loops over a validation/test loader, or loops in a function named evaluate/validate/test,
// that run the model forward and never update it. Used by EV001 (eval mode) and EV003 (no_grad). Also, for EV001
// only, the loop-free tabular idiom: `with torch.no_grad(): y_pred = model(X_test)` outside any training loop.
import type { PyNode } from '../parser';
import { calleeName, callsWithin, decoratorsOf, enclosingFunction, fileCallName, keywordArg, methodClass, parameterNames, positionalArgs, receiver, unparen, type Analysis, type ModuleClass } from './index';
import { callEnv, fileEnv, gradOffUnder, ruledOut, type Env } from './gates';
import { isModelMethod, isSelfForward } from './modelMethods';
import { isSmokeForward } from './smokeTests';
import { methodsOf } from './modules';
import { reachableCalls } from './order';
import { argumentOrDefault } from './calls';
import { parameterArguments } from './parameters';
import { innermostLoop, isBackward, isOptimizerStep } from './training';

/** `model.eval()`, `model.train(False)`, `model.train(phase == "train")`: a switch that can leave training mode. */
function switchesToEval(c: PyNode): boolean {
  const name = calleeName(c);
  return (name === 'eval' && receiver(c) !== undefined) || (name === 'train' && (c.child('arguments')?.namedChildren.length ?? 0) > 0);
}

const EVAL_DATA = /^(val|valid|validation|test|testing|eval|evaluation|dev|holdout)(_?(loader|dataloader|data_loader|dl|iter|iterator|data|dataset|set|batches|ds|gen|generator|loaders|pairs|examples|samples|sentences|sents|texts|features|records|corpus|encodings))?$/i;
/** The same names, container first: `dataset_valid`, `loader_test`, `data_val` (skorch, many research codes). */
const EVAL_DATA_REVERSED = /^(loader|dataloader|data_loader|dl|data|dataset|ds|set|iter|iterator|batches)_(val|valid|validation|test|testing|eval|dev|holdout)$/i;
/** Retrieval / metric-learning evaluation data: `query_loader`, `gallery_loader` (a suffix is required). */
const RETRIEVAL_DATA = /^(query|gallery)_?(loader|dataloader|data_loader|dl|iter|set|dataset|ds|data)$/i;
/** A whole held-out split as a tensor or array (`X_test`, `x_val`, `X_va`, `X_te`): `zip(X_test, y_test)`, `model(X_test)`. */
const EVAL_TENSOR = /^(x|X|y|Y)_?(test|val|valid|validation|va|te|dev|holdout|eval)$/;
/** Value-keeping calls on an input: `X_test.to(device)`, `X_test.float()`. */
const INPUT_CHAIN = /^(to|cuda|float|double)$/;
const OTHER_FRAMEWORK = /^(keras|tensorflow|tf_keras|jax|flax|mxnet|paddle)(\.|$)/;

/** The first argument of a call, without building the argument list (this runs on every call of the file). */
function firstArgument(call: PyNode): PyNode | undefined {
  const args = call.child('arguments')?.children ?? [];
  for (let i = 0; i < args.length; i++) if (args[i]!.named) return args[i];
  return undefined;
}

/** A held-out split's inputs by name: `X_test`, `x_val`, `X_va`, `X_te`, `x_dev`, `X_test_final`, `x_valid_t`, `test_X`. */
const HELD_OUT_X = /^(x|X)_?(test|val|valid|validation|va|te|dev|holdout|eval)(_\w+)?$|^(test|val|valid)_?(x|X)$|^(validation|dev|holdout|eval)_(x|X)$/;
const TRAIN_X = /^(x|X)_?(train|tr|trn)(_\w+)?$|^(train|tr|trn)_?(x|X)$/;
/** Tensor constructors that keep the data: `torch.tensor(X_test)`, `torch.FloatTensor(X_test)`. */
const TENSOR_OF = /^torch\.(tensor|as_tensor|from_numpy|Tensor|FloatTensor|DoubleTensor|cuda\.FloatTensor)$/;

/** `X_test`, `X_test.to(device)`, `(X_test.float())`, `torch.FloatTensor(X_test)`: the name given to a model, peeled. */
function inputName(a: Analysis, arg: PyNode | undefined): PyNode | undefined {
  if (arg?.type !== 'identifier' && arg?.type !== 'call' && arg?.type !== 'parenthesized_expression') return undefined;
  let e = unparen(arg);
  for (;;) {
    if (e?.type !== 'call') break;
    if (INPUT_CHAIN.test(e.child('function')?.child('attribute')?.text ?? '')) e = unparen(receiver(e));
    else if (TENSOR_OF.test(a.callee(e) ?? '')) e = unparen(firstArgument(e));
    else break;
  }
  return e?.type === 'identifier' ? e : undefined;
}
/**
 * Loop-free evaluation functions (PyG's full-batch `def test(): out = model(data.x, data.edge_index)`): exact names,
 * so that a pytest `test_model` is not one.
 */
const LOOP_FREE_EVAL = /^(test|evaluate|evaluation|eval|validate|validation|valid|val|run_eval|run_test|run_validation)(_model)?$/;
const TEST_FRAMEWORK = /^(pytest|unittest|hypothesis)(\.|$)/;
/** Evaluation functions and methods, private ones too (`_validate`, `_valid_epoch`). */
const EVAL_FUNCTION = /^_*(evaluate|evaluation|eval|validate|validation|valid|val|test|predict|inference|infer)(_(one_)?(epoch|model|loop|net|network|step|batch|all|fn|on_\w+))?$|^_*(evaluate|validate|run_validation|run_eval|run_test)\w*$/i;
const MODEL_NAME = /model|net|encoder|decoder|classifier|clf|backbone/i;
const MODULE_MOVES = new Set(['to', 'cuda', 'cpu', 'float', 'double', 'half', 'eval', 'train']);
const MODULE_USES = new Set(['load_state_dict', 'eval', 'train', 'parameters', 'state_dict', 'forward', 'named_parameters']);

/**
 * `model = Model(envs).to(device)` followed by `model.load_state_dict(...)` or `model(obs)`: the call builds the module
 * (a class passed in as a parameter), it does not run one.
 */
function buildsModule(call: PyNode): boolean {
  let top = call;
  for (let p = call.parent; p?.type === 'attribute' && MODULE_MOVES.has(p.child('attribute')?.text ?? '') && p.parent?.type === 'call'; p = top.parent) top = p.parent;
  const asg = top.parent;
  const left = asg?.type === 'assignment' && asg.child('right') === top ? asg.child('left') : undefined;
  if (left?.type !== 'identifier') return false;
  const scope = enclosingFunction(call)?.child('body') ?? call.ancestor('module');
  return callsWithin(scope ?? call).some((c) => {
    if (c.start < asg!.end) return false;
    const f = c.child('function');
    return (f?.type === 'identifier' && f.text === left.text) || (f?.type === 'attribute' && f.child('object')?.text === left.text && MODULE_USES.has(f.child('attribute')?.text ?? ''));
  });
}
const NO_GRAD = new Set(['torch.no_grad', 'torch.inference_mode', 'torch.autograd.no_grad', 'torch.autograd.grad_mode.no_grad', 'torch.autograd.grad_mode.inference_mode']);

export interface EvalLoop {
  loop: PyNode;
  /** Calls that run a model forward. */
  forwards: PyNode[];
  fn: PyNode | undefined;
  /**
   * For a forward found in a function of the file the loop calls per iteration (`self.validation_step(x, y)`), the
   * calls that lead to it, the loop's first.
   */
  via?: Map<PyNode, PyNode[]>;
}

/** A model forward on a whole held-out tensor outside any loop that trains (`y_pred = model(X_test)`). */
export interface EvalForward {
  call: PyNode;
  fn: PyNode | undefined;
  /** Found after a training loop with autograd on (not in a no_grad block or an evaluation function). */
  afterTraining?: boolean;
  /** Found outside any loop in a loop-free evaluation function (`def test(): out = model(data.x, ...)`). */
  inEvalFunction?: boolean;
}

export class Evaluation {
  private cached?: EvalLoop[];
  private cachedForwards?: EvalForward[];
  private torchFile?: boolean;
  private snippet?: boolean;
  private owners?: Set<string>;
  private readonly callersNoGrad = new Map<PyNode, boolean>();
  private readonly trainingCalls = new Map<PyNode, PyNode[]>();
  constructor(private readonly a: Analysis) {}

  get loops(): EvalLoop[] {
    this.cached ??= this.compute();
    return this.cached;
  }

  private compute(): EvalLoop[] {
    const out: EvalLoop[] = [];
    // A Keras / TensorFlow evaluation loop (`model(xb, training=False)`) is no concern of the torch rules.
    if (!this.importsTorch()) return out;
    for (const loop of this.a.index.of('for_statement')) {
      const fn = enclosingFunction(loop);
      const fnName = fn?.child('name')?.text ?? '';
      if (!iteratesEvalData(loop, this.torchOnly()) && !EVAL_FUNCTION.test(fnName) && !this.iteratesEvalParameter(loop, fn) && !iteratesEvalLocal(loop)) continue;
      // An outer evaluation loop already covers this one.
      if (out.some((o) => o.loop.start < loop.start && o.loop.end >= loop.end)) continue;
      const body = loop.child('body');
      if (!body) continue;
      const calls = callsWithin(body);
      if (calls.some((c) => isBackward(c) || isOptimizerStep(c, this.a))) continue;
      // A shape check on made-up tensors (`print(net(torch.randn(1, 3, 32, 32)).shape)`) evaluates nothing.
      const forwards = calls.filter((c) => (this.isForward(c) || this.isGenerate(c)) && !isSmokeForward(this.a, c));
      if (forwards.length) {
        const entry = { loop, forwards, fn };
        entry.forwards = forwards.filter((f) => !this.neverRuns(entry, f));
        if (entry.forwards.length) out.push(entry);
        continue;
      }
      // No forward in the body: those of the methods / functions it calls per batch (`self.validation_step(x, y)`).
      const via = this.helperForwards(calls, loop.ancestor('class_definition'), [], new Set());
      if (!via?.size) continue;
      // `step(model, x, mode='test')` selects a branch of the helper: the forwards of the others do not run here.
      const entry: EvalLoop = { loop, forwards: [...via.keys()], fn, via };
      entry.forwards = entry.forwards.filter((f) => !this.neverRuns(entry, f));
      if (entry.forwards.length) out.push(entry);
    }
    return out;
  }

  /**
   * A loop of the model's own method that goes over no held-out data, running only the model itself or its parts:
   * `def predict_step(self, batch, num_steps): for _ in range(num_steps): y, state = self.decoder(y, state)`. The mode
   * it runs in is its caller's choice.
   */
  modelsOwnLoop(entry: EvalLoop): boolean {
    if (!entry.forwards.every(isSelfForward) || !isModelMethod(this.a, entry.fn)) return false;
    return !iteratesEvalData(entry.loop, this.torchOnly()) && !this.iteratesEvalParameter(entry.loop, entry.fn) && !iteratesEvalLocal(entry.loop);
  }

  /**
   * Each step from the loop to a forward: the node (a per-batch call, then the forward), the function it stands in and
   * the bindings there (the loop's function: `fileEnv`; a helper: what its call passes).
   */
  private stepsTo(entry: EvalLoop, f: PyNode): { node: PyNode; scope: PyNode | undefined; env: Env }[] {
    const nodes = [...(entry.via?.get(f) ?? []), f];
    const steps = [{ node: nodes[0]!, scope: entry.fn, env: fileEnv(this.a) }];
    const cls = entry.loop.ancestor('class_definition');
    for (let k = 1; k < nodes.length; k++) {
      const site = nodes[k - 1]!;
      const def = this.helperOf(site, cls);
      if (!def) break;
      steps.push({ node: nodes[k]!, scope: def, env: callEnv(this.a, def, site, steps[k - 1]!.env) });
    }
    return steps;
  }

  /** For this loop the forward stands in a branch its bindings rule out (`if mode == 'train':` with mode='test'). */
  private neverRuns(entry: EvalLoop, f: PyNode): boolean {
    return this.stepsTo(entry, f).some((s) => ruledOut(s.node, s.scope, s.env));
  }

  /**
   * For this loop the forward runs with autograd off: under no_grad where it stands or where the loop calls its helper,
   * or under `torch.set_grad_enabled(flag)` whose flag the calls make false (`set_grad_enabled(mode == 'train')`).
   * `model.generate` runs under a no_grad of its own.
   */
  gradOffFor(entry: EvalLoop, f: PyNode): boolean {
    if (this.isGenerate(f) || this.isNoGrad(f) || (entry.via?.get(f) ?? []).some((site) => this.isNoGrad(site))) return true;
    return this.stepsTo(entry, f).some((s) => gradOffUnder(this.a, s.node, s.scope, s.env, (e) => this.disablesGrad(e)));
  }

  /**
   * The forwards in the file's functions that `calls` reach, two levels deep: `self.<method>(...)` of the loop's class
   * or a module-level function defined once. undefined when one of them trains (backward, optimizer step).
   */
  private helperForwards(calls: readonly PyNode[], cls: PyNode | undefined, path: PyNode[], seen: Set<PyNode>): Map<PyNode, PyNode[]> | undefined {
    const out = new Map<PyNode, PyNode[]>();
    for (const site of calls) {
      const def = this.helperOf(site, cls);
      if (!def || seen.has(def) || (def.start <= site.start && site.end <= def.end)) continue;
      seen.add(def);
      const chain = [...path, site];
      const inner = callsWithin(def.child('body') ?? def);
      if (inner.some((c) => isBackward(c) || isOptimizerStep(c, this.a))) return undefined;
      for (const c of inner) if ((this.isForward(c) || this.isGenerate(c)) && !isSmokeForward(this.a, c)) out.set(c, chain);
      if (chain.length < 2) {
        const deeper = this.helperForwards(inner, cls, chain, seen);
        if (!deeper) return undefined;
        for (const [c, p] of deeper) out.set(c, p);
      }
    }
    return out;
  }

  /** The definition a call runs: `self.step(...)` -> the method of `cls`; `step(...)` -> a module-level function. */
  private helperOf(site: PyNode, cls: PyNode | undefined): PyNode | undefined {
    const name = fileCallName(site);
    const self = site.child('function')?.type === 'attribute';
    const defs = name ? this.a.functions.get(name) : undefined;
    if (defs?.length !== 1) return undefined;
    const owner = defs[0]!.ancestor('class_definition');
    if (self ? !cls || owner !== cls : owner || enclosingFunction(defs[0]!)) return undefined;
    return defs[0];
  }

  /**
   * Forwards on a held-out tensor (`model(X_test)`) under no_grad or in an evaluation function, outside any loop that
   * trains and any evaluation loop, in files that use no other framework (`model(x_test)` is a Keras call too).
   */
  get heldOutForwards(): EvalForward[] {
    this.cachedForwards ??= this.computeForwards();
    return this.cachedForwards;
  }

  private computeForwards(): EvalForward[] {
    if (!this.torchOnly()) return [];
    const out: EvalForward[] = [];
    const seen = new Set<PyNode>();
    // Only the calls of no_grad blocks and evaluation functions: proportional to those, not to the file.
    for (const region of this.evalRegions()) {
      for (const call of callsWithin(region)) {
        if (seen.has(call) || !this.heldOutInput(call) || !this.isForward(call) || isSmokeForward(this.a, call)) continue;
        seen.add(call);
        if (this.loops.some((e) => e.loop.start <= call.start && call.end <= e.loop.end)) continue;
        // `if epoch % 10 == 0: with torch.no_grad(): val_out = model(X_val)` in a loop that never switches to eval.
        if (this.inTrainingLoop(call) && !this.validatesInTrainingLoop(call)) continue;
        out.push({ call, fn: enclosingFunction(call) });
      }
    }
    for (const call of this.forwardsAfterTraining()) {
      if (seen.has(call)) continue;
      seen.add(call);
      out.push({ call, fn: enclosingFunction(call), afterTraining: true });
    }
    for (const { call, fn } of this.loopFreeEvalForwards()) {
      if (seen.has(call)) continue;
      seen.add(call);
      out.push({ call, fn, inEvalFunction: true });
    }
    return out.sort((x, y) => x.call.start - y.call.start);
  }

  /**
   * `def test(): out = model(data.x, data.edge_index)`: a model forward outside any loop in a plain function named
   * like an evaluation (exactly), which neither trains nor differentiates, in a torch file that is not a test suite.
   */
  private loopFreeEvalForwards(): { call: PyNode; fn: PyNode }[] {
    const out: { call: PyNode; fn: PyNode }[] = [];
    if (!this.torchOnly() || [...this.a.imports.aliases.values()].some((q) => TEST_FRAMEWORK.test(q))) return out;
    for (const [name, defs] of this.a.functions) {
      if (!LOOP_FREE_EVAL.test(name)) continue;
      for (const fn of defs) {
        if (fn.ancestor('class_definition')) continue; // a method: `model.predict(x)` call sites are not followed
        const body = fn.child('body');
        if (!body) continue;
        // Called where the model trains (`scores = evaluate(model, x)` before `loss.backward()`): not an evaluation.
        if (this.callSites(name).some((s) => this.inTrainingLoop(s) || this.trainsAround(s))) continue;
        const reach = reachableCalls(this.a, body);
        if (reach.some((c) => isBackward(c) || isOptimizerStep(c, this.a) || /^(grad|requires_grad_)$/.test(calleeName(c) ?? ''))) continue;
        for (const call of callsWithin(body)) {
          const f = call.child('function');
          // `model(data.x)` on a model variable: not `create_model(...)`, an imported factory.
          if (innermostLoop(call) || shapeOnly(call) || f?.type !== 'identifier' || this.a.qname(f) || this.a.scopes.valueAt(f.text, f) === undefined) continue;
          // `def test(): y = net(torch.randn(1, 3, 32, 32)); print(y.size())`: a smoke test of the model's shapes.
          if (!this.isForward(call) || isSmokeForward(this.a, call)) continue;
          out.push({ call, fn });
        }
      }
    }
    return out;
  }

  /**
   * `def extract_features(model, loader): for x, _ in loader:` whose every call site passes held-out data
   * (`extract_features(model, query_loader)`): the loop evaluates.
   */
  private iteratesEvalParameter(loop: PyNode, fn: PyNode | undefined): boolean {
    const name = fn?.child('name')?.text;
    let it = unparen(loop.child('right'));
    while (it?.type === 'call' && /^(enumerate|tqdm|iter)$/.test(it.child('function')?.text ?? '')) it = unparen(firstArgument(it));
    if (!fn || !name || it?.type !== 'identifier' || this.a.scopes.valueAt(it.text, it) !== null) return false;
    const params = parameterNames(fn);
    const i = params.indexOf(it.text);
    if (i < 0) return false;
    const sites = this.callSites(name);
    if (!sites.length) return false;
    return sites.every((site) => {
      const method = params[0] === 'self' && site.child('function')?.type === 'attribute';
      const given = unparen(positionalArgs(site)[i - (method ? 1 : 0)] ?? keywordArg(site, it.text));
      const last = dataName(given);
      return !!last && (EVAL_DATA.test(last) || EVAL_DATA_REVERSED.test(last) || RETRIEVAL_DATA.test(last));
    });
  }

  /** Under no_grad, in training loops (up to the function) none of which reaches an eval-mode switch. */
  private validatesInTrainingLoop(call: PyNode): boolean {
    if (!this.isNoGrad(call)) return false;
    let outer: PyNode | undefined;
    for (let l = innermostLoop(call); l; l = innermostLoop(l)) outer = l;
    const body = outer?.child('body');
    return !!body && !reachableCalls(this.a, body).some((c) => switchesToEval(c) || mayHelperSwitch(this.a, c, 'eval'));
  }

  /**
   * `preds = model(X_test)` after a training loop, in the same function (or at module level), outside any loop and
   * with autograd on (no_grad forwards come from evalRegions): the test forward of full-batch scripts.
   */
  private forwardsAfterTraining(): PyNode[] {
    const out: PyNode[] = [];
    // Cheap gate: some name of the file is a held-out split (`X_test`, `x_val_t`).
    if (![...this.a.scopes.boundNames()].some((n) => HELD_OUT_X.test(n))) return out;
    const done = new Set<PyNode | null>();
    for (const loop of this.a.loops) {
      const block = loop.parent;
      const scope = enclosingFunction(loop) ?? null;
      if (!block || done.has(scope) || innermostLoop(loop) || (block.type !== 'block' && block.type !== 'module')) continue;
      const body = loop.child('body');
      const reach = body ? reachableCalls(this.a, body) : [];
      if (!reach.some((c) => isBackward(c)) || !reach.some((c) => isOptimizerStep(c, this.a))) continue;
      done.add(scope);
      const backwards = this.a.callsNamed('backward').filter((c) => (enclosingFunction(c) ?? null) === scope && c.start > loop.end);
      for (const stmt of block.namedChildren) {
        if (stmt.start < loop.end) continue;
        for (const call of callsWithin(stmt)) {
          if (innermostLoop(call) || this.isNoGrad(call) || shapeOnly(call) || !this.heldOutInput(call) || !this.isForward(call) || isSmokeForward(this.a, call)) continue;
          // An attack or a second training phase differentiates through the held-out forward.
          if (backwards.some((b) => b.start > call.start)) continue;
          out.push(call);
        }
      }
    }
    return out;
  }

  /**
   * The call's first argument is a whole held-out split: `X_test` (also converted, `torch.tensor(X_test).to(dev)`),
   * or a parameter of the enclosing function that its call sites fill with one (`validate(model, X_val, y_val)`).
   */
  private heldOutInput(call: PyNode): boolean {
    const id = inputName(this.a, firstArgument(call));
    if (!id) return false;
    if (HELD_OUT_X.test(id.text)) return true;
    const fn = enclosingFunction(call);
    if (!fn || this.a.scopes.valueAt(id.text, id) !== null) return false;
    const params = parameterNames(fn);
    const i = params.indexOf(id.text);
    const name = fn.child('name')?.text;
    if (i < 0 || !name) return false;
    const sites = this.callSites(name);
    let heldOut = false;
    for (const site of sites) {
      const method = params[0] === 'self' && site.child('function')?.type === 'attribute';
      const given = inputName(this.a, positionalArgs(site)[i - (method ? 1 : 0)] ?? keywordArg(site, id.text));
      if (given && HELD_OUT_X.test(given.text)) heldOut = true;
      else if (!given || !TRAIN_X.test(given.text)) return false;
    }
    return heldOut;
  }

  /** Bodies that evaluate: `with torch.no_grad():` blocks, no_grad-decorated functions, functions named evaluate/test. */
  private evalRegions(): PyNode[] {
    const regions: PyNode[] = [];
    for (const w of this.a.index.of('with_statement')) if (this.withDisablesGrad(w)) regions.push(w.child('body') ?? w);
    for (const f of this.a.index.of('function_definition')) {
      if (EVAL_FUNCTION.test(f.child('name')?.text ?? '') || decoratorsOf(f).some((d) => this.disablesGrad(d.namedChildren[0]))) regions.push(f.child('body') ?? f);
    }
    return regions;
  }

  /** The function (or module) around a call runs backward() or an optimizer step after it. */
  private trainsAround(call: PyNode): boolean {
    const fn = enclosingFunction(call);
    const region = fn?.child('body') ?? this.a.root;
    let steps = this.trainingCalls.get(region);
    if (!steps) this.trainingCalls.set(region, (steps = reachableCalls(this.a, region).filter((c) => isBackward(c) || isOptimizerStep(c, this.a))));
    return steps.some((c) => c.start > call.start);
  }

  /** Some loop around the node (up to its function) runs backward() or an optimizer step. */
  private inTrainingLoop(node: PyNode): boolean {
    for (let l = innermostLoop(node); l; l = innermostLoop(l)) {
      if (callsWithin(l).some((c) => isBackward(c) || isOptimizerStep(c, this.a))) return true;
    }
    return false;
  }

  private importsTorch(): boolean {
    return [...this.a.imports.aliases.values()].some((q) => /^torch(\.|$)/.test(q)) || this.torchSnippet();
  }

  /** A torch file: it imports torch and no other framework whose models are called the same way (Keras, JAX). */
  private torchOnly(): boolean {
    if (this.torchFile === undefined) {
      const modules = [...this.a.imports.aliases.values()];
      this.torchFile = (modules.some((q) => /^torch(\.|$)/.test(q)) || this.torchSnippet()) && !modules.some((q) => OTHER_FRAMEWORK.test(q));
    }
    return this.torchFile;
  }

  /**
   * A snippet that uses torch without importing it (a forum post): it imports no framework and calls torch through the
   * conventional names (`nn.Linear(...)`, `torch.max(...)`, `optim.Adam(...)`) or `.backward()` / `.cuda()`, and calls
   * no Keras / TensorFlow by convention (`keras.layers.Dense(...)`). Also a library file of a torch project that imports
   * only its own package (`import onmt.utils`) and calls `zero_grad()`, or both `x.eval()` and `x.train()` on one module.
   */
  private torchSnippet(): boolean {
    if (this.snippet === undefined) {
      this.snippet = false;
      if ([...this.a.imports.aliases.values()].some((q) => OTHER_FRAMEWORK.test(q) || /^torch(\.|$)/.test(q))) return false;
      let torch = false;
      const switched = new Map<string, Set<string>>();
      for (const c of this.a.index.of('call')) {
        const q = this.a.callee(c) ?? '';
        if (/^(keras|tensorflow)(\.|$)/.test(q)) return false;
        const name = calleeName(c) ?? '';
        const recv = receiver(c);
        if (/^torch\./.test(q) || (/^(backward|cuda|zero_grad)$/.test(name) && recv)) torch = true;
        // A module's own switches, `self.model.eval()` ... `self.model.train()`: a library file of a torch project.
        if (recv && (name === 'eval' || name === 'train') && !c.child('arguments')?.namedChildren.length) {
          const seen = switched.get(recv.text) ?? new Set<string>();
          switched.set(recv.text, seen.add(name));
          if (seen.size === 2) torch = true;
        }
      }
      this.snippet = torch;
    }
    return this.snippet;
  }

  /** `model(x)`, `self.model(x)`, `net.forward(x)`, `self(x)` with a module-like callee. */
  isForward(call: PyNode): boolean {
    let f = call.child('function');
    if (f?.type === 'attribute' && f.child('attribute')?.text === 'forward') f = f.child('object');
    if (!f) return false;
    // `model(x, training=False)` calls a Keras model.
    if (keywordArg(call, 'training')) return false;
    if (f.type === 'identifier' && f.text === 'self') return true;
    const name = f.type === 'identifier' ? f.text : f.type === 'attribute' && f.child('object')?.text === 'self' ? (f.child('attribute')?.text ?? '') : '';
    if (!name) return false;
    if (f.type === 'identifier') {
      const v = this.a.scopes.valueAt(name, f);
      if (v && this.modelClassOf(v)) return true;
      if (this.a.functions.has(name) || this.a.moduleClass(name, call)) return false;
    }
    // `self.module_(x)` (skorch), `self.module(x)` (a wrapper's inner model), `self.phi(x)` whose `parameters()` the file reads.
    if (!MODEL_NAME.test(name) && !/^module_?$/.test(name) && !this.parameterOwners().has(f.text)) return false;
    return f.type !== 'identifier' || !buildsModule(call);
  }

  /** The names and `self.x` attributes whose `parameters()` / `named_parameters()` the file reads: modules. */
  private parameterOwners(): Set<string> {
    if (!this.owners) {
      this.owners = new Set();
      for (const c of [...this.a.callsNamed('parameters'), ...this.a.callsNamed('named_parameters')]) {
        const r = receiver(c);
        if (r && !c.child('arguments')?.namedChildren.length && (r.type === 'identifier' || (r.type === 'attribute' && r.child('object')?.text === 'self'))) this.owners.add(r.text);
      }
    }
    return this.owners;
  }

  /**
   * Hugging Face `model.generate(x)` / `self.model.generate(x)`: runs the model in whatever mode it is in (it does not
   * call eval()), under a no_grad of its own. A forward for EV001, not for EV003.
   */
  isGenerate(call: PyNode): boolean {
    const f = call.child('function');
    if (f?.type !== 'attribute' || f.child('attribute')?.text !== 'generate') return false;
    const obj = f.child('object');
    const name = obj?.type === 'identifier' ? obj.text : obj?.type === 'attribute' && obj.child('object')?.text === 'self' ? (obj.child('attribute')?.text ?? '') : '';
    return !!name && MODEL_NAME.test(name) && !this.a.qname(obj) && !this.a.functions.has(name);
  }

  /** The module class a value builds (`Net()`, `Net().to(dev)`), if it is one of this file's. */
  modelClassOf(value: PyNode): ModuleClass | undefined {
    let v: PyNode | undefined = value;
    while (v?.type === 'call') {
      const fn = v.child('function');
      if (fn?.type === 'identifier') return this.a.moduleClass(fn.text, v);
      v = fn?.type === 'attribute' ? fn.child('object') : undefined;
    }
    return undefined;
  }

  /** Under `with torch.no_grad()` / `inference_mode()`, a decorated function, or `set_grad_enabled(False)` before. */
  isNoGrad(node: PyNode): boolean {
    for (let p = node.parent; p; p = p.parent) {
      if (p.type === 'with_statement' && this.withDisablesGrad(p)) return true;
      if (p.type === 'function_definition') {
        if (decoratorsOf(p).some((d) => this.disablesGrad(d.namedChildren[0]))) return true;
        if (this.setGradFalseBefore(p, node)) return true;
      }
    }
    return false;
  }

  /** Every call site of `fn` in this file is under no_grad (and there is at least one). */
  allCallersNoGrad(fn: PyNode | undefined): boolean {
    if (!fn) return false;
    let r = this.callersNoGrad.get(fn);
    if (r === undefined) {
      const name = fn.child('name')?.text;
      const sites = name ? this.callSites(name) : [];
      this.callersNoGrad.set(fn, (r = sites.length > 0 && sites.every((s) => this.isNoGrad(s))));
    }
    return r;
  }

  callSites(name: string): PyNode[] {
    return this.a.callsNamed(name).filter((c) => fileCallName(c) === name);
  }

  private withDisablesGrad(w: PyNode): boolean {
    const clause = w.children.find((c) => c.type === 'with_clause');
    return clause?.namedChildren.some((item) => this.disablesGrad(item.namedChildren[0])) ?? false;
  }

  private disablesGrad(expr: PyNode | undefined): boolean {
    if (!expr) return false;
    if (expr.type === 'as_pattern') return this.disablesGrad(expr.namedChildren[0]);
    const target = expr.type === 'call' ? expr.child('function') : expr;
    const q = this.a.qname(target) ?? '';
    if (NO_GRAD.has(q)) return true;
    if (q === 'torch.set_grad_enabled' && expr.type === 'call') return /^\s*\(\s*False\s*\)$/.test(expr.child('arguments')?.text ?? '');
    return false;
  }

  private setGradFalseBefore(fn: PyNode, node: PyNode): boolean {
    return callsWithin(fn.child('body') ?? fn).some(
      (c) => c.start < node.start && this.a.callee(c) === 'torch.set_grad_enabled' && /^\(\s*False\s*\)$/.test(c.child('arguments')?.text ?? ''),
    );
  }
}

/** The parameter names of a function, in order (`self` included). */
/** `model(X_test).shape`, `model(X_test).size(1)`: only the output's shape is read (a check, not an evaluation). */
function shapeOnly(call: PyNode): boolean {
  const p = call.parent;
  if (p?.type !== 'attribute' || p.child('object') !== call) return false;
  return /^(shape|size|dim|ndim|dtype|device)$/.test(p.child('attribute')?.text ?? '');
}

/** The name an argument gives its data: `val_loader`, `ctx.val_loader`, `loaders["val"]`, `state["val_batches"]`. */
function dataName(e: PyNode | undefined): string | undefined {
  if (e?.type === 'identifier') return e.text;
  if (e?.type === 'attribute') return e.child('attribute')?.text;
  const key = e?.type === 'subscript' ? e.child('subscript') : undefined;
  return key?.type === 'string' ? key.text.replace(/^[rbuf]*['"]+|['"]+$/gi, '') : undefined;
}

/** `for x in X_test:`, `for x, y in zip(X_test, y_test):` (also through enumerate / tqdm): samples of a held-out split. */
function iteratesHeldOutTensors(right: PyNode | undefined): boolean {
  let it = unparen(right);
  while (it?.type === 'call' && /^(enumerate|tqdm)$/.test(it.child('function')?.text ?? '')) it = unparen(it.child('arguments')?.namedChildren[0]);
  if (it?.type === 'identifier') return EVAL_TENSOR.test(it.text);
  if (it?.type !== 'call' || it.child('function')?.text !== 'zip') return false;
  const args = it.child('arguments')?.namedChildren ?? [];
  return args.length > 0 && args.every((x) => x.type === 'identifier' && EVAL_TENSOR.test(x.text));
}

/** A held-out loader's name: `val_loader`, `self.test_dataset`, `loaders["val"]`. */
function evalDataName(e: PyNode | undefined): boolean {
  const name = dataName(unparen(e));
  return !!name && (EVAL_DATA.test(name) || EVAL_DATA_REVERSED.test(name) || RETRIEVAL_DATA.test(name));
}

/**
 * `if split == 'val': data = self.val_loader elif split == 'test': data = self.test_loader` then `for b in data:`: a
 * local name of the loop's function every binding of which is a plain assignment of a held-out loader.
 */
function iteratesEvalLocal(loop: PyNode): boolean {
  let it = unparen(loop.child('right'));
  while (it?.type === 'call' && /^(enumerate|tqdm|iter)$/.test(it.child('function')?.text ?? '')) it = unparen(firstArgument(it));
  const fn = enclosingFunction(loop);
  const body = fn?.child('body');
  if (it?.type !== 'identifier' || !body || parameterNames(fn!).includes(it.text)) return false;
  const values = localAssignments(body, it.text);
  return !!values?.length && values.every(evalDataName);
}

/** The values of `name = value` in a function body; undefined when the name is bound any other way there. */
function localAssignments(body: PyNode, name: string): PyNode[] | undefined {
  const out: PyNode[] = [];
  let other = false;
  body.walk((n) => {
    if (other || n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda') return false;
    if (n.type === 'assignment' || n.type === 'augmented_assignment') {
      const left = n.child('left');
      if (left?.type === 'identifier' && left.text === name && n.type === 'assignment' && n.child('right')) out.push(n.child('right')!);
      else if (left && bindsIdentifier(left, name)) other = true;
    } else if ((n.type === 'for_statement' || n.type === 'for_in_clause') && bindsIdentifier(n.child('left'), name)) other = true;
    else if ((n.type === 'as_pattern' || n.type === 'named_expression' || n.type === 'global_statement' || n.type === 'nonlocal_statement') && bindsIdentifier(n, name)) other = true;
    return undefined;
  });
  return other ? undefined : out;
}

function bindsIdentifier(n: PyNode | null | undefined, name: string): boolean {
  let hit = false;
  n?.walk((x) => {
    if (hit) return false;
    if (x.type === 'identifier' && x.text === name && !(x.parent?.type === 'attribute' && x.parent.child('attribute') === x)) hit = true;
    return undefined;
  });
  return hit;
}

/** The loop goes over held-out data: a val/test loader, or (torch files only) a held-out split's tensors. */
function iteratesEvalData(loop: PyNode, torchOnly: boolean): boolean {
  const right = loop.child('right');
  if (torchOnly && iteratesHeldOutTensors(right)) return true;
  let hit = false;
  right?.walk((n) => {
    if (hit) return false;
    if (n.type === 'identifier' && (EVAL_DATA.test(n.text) || EVAL_DATA_REVERSED.test(n.text) || RETRIEVAL_DATA.test(n.text))) hit = true;
    if (n.type === 'string' && EVAL_DATA.test(n.text.replace(/^[rbuf]*['"]+|['"]+$/gi, ''))) hit = true;
    if (n.type === 'keyword_argument') return false; // desc="val" in tqdm
  });
  return hit;
}

// ---- Mode switches, direct or through the file's own functions (shared by EV001 / EV002) ----

export type Mode = 'eval' | 'train';

/** `x.eval()`, `x.train(False)` -> eval; `x.train()`, `x.train(True)` -> train; `x.train(flag)` -> undefined. */
export function directMode(c: PyNode): Mode | undefined {
  const name = calleeName(c);
  if ((name !== 'eval' && name !== 'train') || !receiver(c)) return undefined;
  const args = c.child('arguments')?.namedChildren ?? [];
  if (name === 'eval') return args.length === 0 ? 'eval' : undefined;
  if (!args.length || (args.length === 1 && /^(True|mode\s*=\s*True)$/.test(args[0]!.text))) return 'train';
  return args.length === 1 && /^(False|mode\s*=\s*False)$/.test(args[0]!.text) ? 'eval' : undefined;
}

/** A mode switch made by calling a function or method of the file (`model.val_start()`, `set_eval(model)`). */
export interface HelperSwitch {
  mode: Mode;
  def: PyNode;
  /** The switched models in the caller's terms: the arguments given for parameters, the object of `obj.method()`. */
  targets: string[];
  /** `obj.method()` switching `self.<sub-module>`s: the class of `obj`, whose own train() may not exist. */
  wrapperClass?: PyNode;
}

/** Statement of the body, or of a for / with block in it: not under an `if`, `try` or `while`. */
function unconditionalIn(c: PyNode, body: PyNode): boolean {
  const stmt = c.parent;
  if (stmt?.type !== 'expression_statement' || stmt.namedChildren[0] !== c) return false;
  for (let p = stmt.parent; p; p = p.parent) {
    if (p === body) return true;
    if (p.type !== 'block' && p.type !== 'for_statement' && p.type !== 'with_statement') return false;
  }
  return false;
}

const bodyModes = new WeakMap<PyNode, { mode: Mode; switches: PyNode[] } | null>();
/**
 * The mode a function sets on every path through it: all its direct switches go one way and one of them runs
 * unconditionally (`def val_start(self): self.img_enc.eval(); self.txt_enc.eval()`). One level: switches made by the
 * functions it calls do not count.
 */
export function functionMode(def: PyNode): { mode: Mode; switches: PyNode[] } | undefined {
  let r = bodyModes.get(def);
  if (r === undefined) {
    r = null;
    const body = def.child('body');
    const switches = body ? callsWithin(body).filter((c) => /^(eval|train)$/.test(calleeName(c) ?? '') && receiver(c)) : [];
    const modes = new Set(switches.map(directMode));
    const mode = modes.size === 1 ? [...modes][0] : undefined;
    if (mode && switches.some((c) => unconditionalIn(c, body!))) r = { mode, switches };
    bodyModes.set(def, r);
  }
  return r ?? undefined;
}

const MOVES_MODEL = /^(to|cuda|cpu|float|double|half)$/;
const classCaches = new WeakMap<Analysis, Map<string, PyNode | undefined>>();

/** The file's class of that name, when it defines exactly one. */
function classNamed(a: Analysis, name: string): PyNode | undefined {
  let m = classCaches.get(a);
  if (!m) classCaches.set(a, (m = new Map()));
  if (!m.has(name)) {
    const defs = a.index.of('class_definition').filter((c) => c.child('name')?.text === name);
    m.set(name, defs.length === 1 ? defs[0] : undefined);
  }
  return m.get(name);
}

/**
 * The file class an expression is an instance of: `VSE(opt)`, a name bound to one, `self.x` set once to one, or a
 * parameter every call site of whose function fills with one (followed up to `depth` functions up).
 */
export function instanceClass(a: Analysis, expr: PyNode | undefined, depth = 4): PyNode | undefined {
  const e = unparen(expr);
  if (!e) return undefined;
  if (e.type === 'call') {
    const f = e.child('function');
    if (f?.type === 'identifier') return classNamed(a, f.text);
    return f?.type === 'attribute' && MOVES_MODEL.test(f.child('attribute')?.text ?? '') ? instanceClass(a, f.child('object'), depth) : undefined;
  }
  if (e.type === 'attribute' && e.child('object')?.text === 'self') {
    const cls = e.ancestor('class_definition');
    const values = cls ? a.scopes.selfAttr(cls, e.child('attribute')?.text ?? '') : [];
    return values.length === 1 ? instanceClass(a, values[0], depth) : undefined;
  }
  if (e.type !== 'identifier') return undefined;
  const v = a.scopes.valueAt(e.text, e);
  if (v) return instanceClass(a, v, depth);
  const args = v === null && depth > 0 ? parameterArguments(a, e) : undefined;
  if (!args?.length) return undefined;
  const classes = new Set(args.map((x) => instanceClass(a, x, depth - 1)));
  return classes.size === 1 ? [...classes][0] : undefined;
}

/**
 * The definition a call runs, when the file holds it: `f(...)` a module-level function defined once, `self.m(...)` a
 * method of the caller's class, `obj.m(...)` a method of the file class `obj` is an instance of.
 */
export function calledDefinition(a: Analysis, call: PyNode): PyNode | undefined {
  const f = call.child('function');
  const name = f?.type === 'identifier' ? f.text : f?.type === 'attribute' ? f.child('attribute')?.text : undefined;
  const defs = name ? a.functions.get(name) : undefined;
  if (!defs?.length) return undefined;
  let def: PyNode | undefined;
  if (f!.type === 'identifier') def = defs.length === 1 && !methodClass(defs[0]) ? defs[0] : undefined;
  else if (f!.child('object')?.text === 'self') {
    const cls = call.ancestor('class_definition');
    def = defs.length === 1 && cls && methodClass(defs[0]) === cls ? defs[0] : undefined;
  } else {
    // Cheap test first: a method of that name in some class of the file.
    if (!defs.some((d) => methodClass(d))) return undefined;
    const cls = instanceClass(a, f!.child('object'));
    def = cls ? methodsOf(cls).find((m) => m.child('name')?.text === name) : undefined;
  }
  return def && !(def.start <= call.start && call.end <= def.end) ? def : undefined;
}

/**
 * A model name of the called function, in the caller's terms: a parameter -> the argument given for it, `self`/`self.x`
 * of `obj.m()` -> `obj`, anything else (a global, `self.x` of `self.m()`) unchanged. undefined when not given.
 */
export function modelAtCaller(model: string, def: PyNode, site: PyNode): string | undefined {
  const params = parameterNames(def);
  const f = site.child('function');
  const i = params.indexOf(model);
  if (i >= 0) {
    const offset = params[0] === 'self' && f?.type === 'attribute' ? 1 : 0;
    return (keywordArg(site, model) ?? positionalArgs(site)[i - offset])?.text;
  }
  const obj = f?.type === 'attribute' ? f.child('object') : undefined;
  if (obj && obj.text !== 'self' && /^self(\.|$)/.test(model)) return obj.text;
  return model;
}

/** The mode a call of one of the file's functions sets on every path (`model.val_start()`), one level deep. */
export function helperSwitch(a: Analysis, call: PyNode): HelperSwitch | undefined {
  const def = calledDefinition(a, call);
  const fm = def && functionMode(def);
  if (!fm) return undefined;
  const targets = [...new Set(fm.switches.map((s) => modelAtCaller(receiver(s)!.text, def!, call)).filter((t): t is string => !!t))];
  if (!targets.length) return undefined;
  const f = call.child('function');
  const wrapper = f?.type === 'attribute' && f.child('object')?.text !== 'self' && fm.switches.some((s) => /^self\./.test(receiver(s)!.text));
  return { mode: fm.mode, def: def!, targets, wrapperClass: wrapper ? (def!.ancestor('class_definition') ?? undefined) : undefined };
}

const modeNames = new WeakMap<Analysis, Map<string, Mode>>();
/** Names of the file's functions that set one mode on every path, with that mode (a name defined twice: neither). */
function modeFunctionNames(a: Analysis): Map<string, Mode> {
  let m = modeNames.get(a);
  if (!m) {
    m = new Map();
    for (const [name, defs] of a.functions) {
      const modes = new Set(defs.map((d) => functionMode(d)?.mode));
      const mode = modes.size === 1 ? [...modes][0] : undefined;
      if (mode) m.set(name, mode);
    }
    modeNames.set(a, m);
  }
  return m;
}

/** Names of the file's functions that set eval mode on every path. */
export function evalFunctionNames(a: Analysis): string[] {
  return [...modeFunctionNames(a)].filter(([, m]) => m === 'eval').map(([name]) => name);
}

/** The calls of the file's mode-setting functions that set `mode` (resolved: `helperSwitch`). */
export function helperSwitchCalls(a: Analysis, mode: Mode): { call: PyNode; sw: HelperSwitch }[] {
  const out: { call: PyNode; sw: HelperSwitch }[] = [];
  for (const [name, m] of modeFunctionNames(a)) {
    if (m !== mode) continue;
    for (const call of a.callsNamed(name)) {
      const sw = helperSwitch(a, call);
      if (sw?.mode === mode) out.push({ call, sw });
    }
  }
  return out.sort((x, y) => x.call.start - y.call.start);
}

/**
 * May set `mode` through a function of the file, without resolving the receiver: `x.set_eval()` when every function
 * named `set_eval` sets eval mode on every path. For the silencing side of a rule (an eval() that may have run).
 */
export function mayHelperSwitch(a: Analysis, call: PyNode, mode: Mode): boolean {
  const f = call.child('function');
  const name = f?.type === 'identifier' ? f.text : f?.type === 'attribute' ? f.child('attribute')?.text : undefined;
  return !!name && modeFunctionNames(a).get(name) === mode;
}

/**
 * The calls reachable from a node: its own, and those of the file's functions it calls, `depth` levels down, methods
 * of the file's classes called on their instances (`model.train_emb(x)`) included.
 */
export function reachWithMethods(a: Analysis, node: PyNode, depth = 2): PyNode[] {
  return reachableCalls(a, node, depth, new Set(), (c) => calledDefinition(a, c));
}

const cache = new WeakMap<Analysis, Evaluation>();
export function evaluation(a: Analysis): Evaluation {
  let e = cache.get(a);
  if (!e) cache.set(a, (e = new Evaluation(a)));
  return e;
}

/**
 * The text of `expr` (inside function `fn`) in its caller's terms: each name that reads a parameter of `fn` replaced
 * by the argument `call` passes for it, or, without a call, by the argument every call site of the file passes when
 * they all read the same to `says` (`def evaluation(test_loader, model)` called as `evaluation(val_loader, model)`:
 * `val_loader`). A parameter keeps its own name when the argument says nothing (`says` gives undefined) or the call
 * sites disagree.
 */
export function textAtCaller(a: Analysis, expr: PyNode, fn: PyNode, call: PyNode | undefined, says: (text: string) => string | undefined): string {
  const params = new Set(parameterNames(fn));
  const src = expr.text;
  let out = '';
  let at = expr.start;
  expr.walk((n) => {
    if (n.type !== 'identifier' || !params.has(n.text)) return undefined;
    // `self.test_loader`: an attribute's name, not the parameter
    if (n.parent?.type === 'attribute' && n.parent.child('attribute') === n) return undefined;
    const arg = call ? argumentOrDefault(fn, call, n.text) : agreedArgument(a, n, says);
    if (!arg || says(arg.text) === undefined) return undefined;
    out += src.slice(at - expr.start, n.start - expr.start) + arg.text;
    at = n.end;
    return undefined;
  });
  return out + src.slice(at - expr.start);
}

/** The argument every call site passes for the parameter `id` reads, when `says` reads them all alike. */
function agreedArgument(a: Analysis, id: PyNode, says: (text: string) => string | undefined): PyNode | undefined {
  const args = parameterArguments(a, id);
  if (!args?.length) return undefined;
  const first = says(args[0]!.text);
  return first !== undefined && args.every((x) => says(x.text) === first) ? args[0] : undefined;
}
