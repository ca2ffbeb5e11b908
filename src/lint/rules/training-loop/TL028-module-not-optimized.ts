import { callsWithin, calleeName, enclosingFunction, parameterNames, positionalArgs, receiver, unparen, type Analysis, type ModuleClass } from '../../analysis';
import { listItems } from '../../analysis/listBuilds';
import { methodsOf } from '../../analysis/modules';
import { parameterArguments } from '../../analysis/parameters';
import { classHoldsParameters, isParametricBuild, peelSameModule, SAME_MODULE } from '../../analysis/moduleBuilds';
import { isBackward, isOptimizerClass, isOptimizerStep, isOtherOptimizerBuild } from '../../analysis/training';
import type { PyNode } from '../../parser';
import type { Rule, RuleContext } from '../../types';
import { checkUnusedGroups } from './unusedParamGroups';
import { checkRepeatedInList, checkTwinLists, checkTwinOptimizers } from './duplicatedParameters';

export const TL028: Rule = {
  meta: {
    id: 'TL028',
    name: 'module-not-optimized',
    group: 'training-loop',
    defaultSeverity: 'warning',
    summary:
      'A module with parameters (a new head, a loss with learnable weights) is used in training, but no optimizer is given its parameters: they stay at their random initial values.',
    why:
      'An optimizer only updates the tensors it was given. A second module built next to the model (a task head ' +
      '`head = nn.Linear(768, 2)`, a classifier, a loss with learnable centres or margins) takes part in the forward ' +
      'pass and gets gradients from `backward()`, but when the optimizer was built from `model.parameters()` alone, ' +
      '`step()` never changes it: the head keeps its random initial weights for the whole run and the model learns ' +
      'around a random projection. Nothing fails and the loss still falls a little, because the model adapts to the ' +
      'frozen head. Give the optimizer both (`Adam(list(model.parameters()) + list(head.parameters()))`, or a second ' +
      'parameter group), or, when the module is meant to stay fixed, say so with `head.requires_grad_(False)`. The same ' +
      'happens to a parameter group that is filled (`group[\'params\'].append(p)`) but never appended to the list the ' +
      'optimizer is built from, and to an autoencoder\'s decoder when the optimizer gets only its encoder ' +
      '(`Adam(vae.encoder.parameters())`) while the loss runs the decoder (`vae(x)`, `vae.decode(z)`, `vae.elbo(...)`), and to ' +
      'a module left out by a copy-paste: one module\'s parameters given twice (`list(d1.parameters()) + list(d1.parameters())`), ' +
      'or two optimizers named for two modules (`optimizer_g`, `optimizer_d`) both built on `generator.parameters()` while ' +
      'the discriminator runs in training.',
    wrong:
      'model = Encoder()\nhead = nn.Linear(256, 10)\noptimizer = torch.optim.Adam(model.parameters(), lr=1e-3)\n' +
      'for x, y in loader:\n    optimizer.zero_grad()\n    loss = criterion(head(model(x)), y)\n    loss.backward()\n' +
      '    optimizer.step()',
    right:
      'model = Encoder()\nhead = nn.Linear(256, 10)\n' +
      'optimizer = torch.optim.Adam(list(model.parameters()) + list(head.parameters()), lr=1e-3)\n' +
      'for x, y in loader:\n    optimizer.zero_grad()\n    loss = criterion(head(model(x)), y)\n    loss.backward()\n' +
      '    optimizer.step()',
    concept: 'Optimizers update only the parameters they are given',
    fixable: false,
  },
  check(ctx) {
    const a = ctx.analysis;
    checkUnusedGroups(ctx);
    const optimizers = optimizerCalls(a);
    if (optimizers.length > 1) checkTwinLists(ctx, optimizers);
    if (a.callsNamed('parameters').length === 0) return;
    checkRepeatedInList(ctx);
    if (optimizers.length === 0) return;
    checkGroups(ctx, optimizers);
    checkEncoderOnly(ctx, optimizers);
    const built = moduleBindings(a);
    const reported = new Set<string>();
    for (const [name, sites] of built) {
      const calls = checkUses(a.identifiersNamed(name), sites, a);
      if (!calls || !calls.some((c) => trains(c, a))) continue;
      report(ctx, name, sites[0]!);
      reported.add(name);
    }
    checkTwinOptimizers(ctx, optimizers, reported);
  },
};

/** The optimizers built in the file: torch.optim's, and a known package's class or factory given `.parameters()`. */
function optimizerCalls(a: Analysis): PyNode[] {
  const out = new Set<PyNode>();
  for (const p of [...a.callsNamed('parameters'), ...a.callsNamed('named_parameters')]) {
    for (let n = p.parent; n && n.type !== 'block' && n.type !== 'module'; n = n.parent) {
      if (n.type !== 'call') continue;
      const q = a.callee(n);
      if (q && (isOptimizerClass(q) || isOtherOptimizerBuild(q))) {
        out.add(n);
        break;
      }
    }
  }
  // built from a list of groups made beforehand (`SGD(groups, momentum=0.9)`)
  for (const name of TORCH_OPTIMIZERS) for (const c of a.callsNamed(name)) if (isOptimizerClass(a.callee(c) ?? '')) out.add(c);
  return [...out];
}

const TORCH_OPTIMIZERS = ['SGD', 'Adam', 'AdamW', 'RMSprop', 'Adagrad', 'Adadelta', 'Adamax', 'NAdam', 'RAdam', 'ASGD', 'Rprop', 'SparseAdam'];

/**
 * Parameter groups naming parts of one model (`[{'params': model.backbone.parameters()}, {'params':
 * model.head.parameters(), 'lr': 1e-3}]`) that leave out a part of its class (in this file) holding parameters and
 * used in its forward: reported at the optimizer. Every optimizer of that model counts; a part named anywhere else in
 * the file (frozen, given to another optimizer) or a class that mentions `requires_grad` is left alone.
 */
function checkGroups(ctx: RuleContext, optimizers: readonly PyNode[]): void {
  const a = ctx.analysis;
  const byRoot = new Map<string, { covered: Set<string>; calls: PyNode[]; whole: boolean; node: PyNode }>();
  for (const o of optimizers) {
    const parts = groupParts(o, a);
    if (!parts) continue;
    for (const { root: node, attr } of parts) {
      const root = node.text;
      let entry = byRoot.get(root);
      if (!entry) byRoot.set(root, (entry = { covered: new Set(), calls: [], whole: false, node }));
      if (attr === undefined) entry.whole = true;
      else entry.covered.add(attr);
      if (!entry.calls.includes(o)) entry.calls.push(o);
    }
  }
  for (const [root, { covered, calls, whole, node }] of byRoot) {
    // One part alone (`SGD(model.fc.parameters())`) is often fine-tuning on purpose; two or more list what is trained.
    if (whole || covered.size < 2 || wholeElsewhere(a, root)) continue;
    const at = calls[0]!;
    const cls = classOfModel(a, node);
    if (!cls?.forward || cls.node.text.includes('requires_grad')) continue;
    for (const [attr, layer] of cls.layers) {
      if (covered.has(attr) || !holdsParameters(layer, a) || !mentionsSelf(cls.forward, attr)) continue;
      if (mentionedOn(a, root, attr)) continue;
      ctx.report({
        node: at,
        message:
          `\`${root}.${attr}\` has parameters and runs in ${cls.name}.forward, but none of this optimizer's parameter groups ` +
          `holds it: its weights stay at their initial values. Add a group for \`${root}.${attr}.parameters()\`, or ` +
          `freeze it on purpose with \`${root}.${attr}.requires_grad_(False)\`.`,
      });
    }
  }
}

/** The receivers of the `.parameters()` / `.named_parameters()` calls inside an expression. */
function parameterReceivers(e: PyNode | undefined): PyNode[] {
  const out: PyNode[] = [];
  e?.walk((n) => {
    if (n.type === 'lambda') return false;
    if (n.type === 'call' && /^(named_)?parameters$/.test(calleeName(n) ?? '')) {
      const r = receiver(n);
      if (r) out.push(r);
    }
    return undefined;
  });
  return out;
}

/** An autoencoder by its name: `vae`, `self.module.vae`, `cvae`, `autoencoder`, `conv_ae`. */
const AUTOENCODER = /^(\w*vae|ae|\w*_ae|\w*auto_?encoder)$/i;
/** Methods of an autoencoder whose result runs its decoder: the forward pass, decoding, the reconstruction loss. */
const DECODING_METHOD = /^(forward|decode\w*|elbo\w*|\w*recon\w*|\w*loss\w*|generate\w*)$/i;

/** `encoder` -> `decoder`, `enc` -> `dec`, `vae_encoder` -> `vae_decoder`; undefined for a name without `enc`. */
function decoderName(part: string): string | undefined {
  if (!/enc/i.test(part) || /dec/i.test(part)) return undefined;
  return part.replace(/enc/i, (m) => (m[0] === 'E' ? 'Dec' : m === 'ENC' ? 'DEC' : 'dec'));
}

/**
 * The decoder part of the model `owner` whose `encoder` part an optimizer holds: for a name that says autoencoder
 * (`vae.encoder`), its `decoder`; for a module class of the file, its `decoder` layer holding parameters and used
 * outside `__init__`. Else undefined.
 */
function decoderOf(a: Analysis, owner: PyNode, part: string): string | undefined {
  const dec = decoderName(part);
  if (!dec) return undefined;
  const last = owner.type === 'attribute' ? (owner.child('attribute')?.text ?? '') : owner.text;
  if (AUTOENCODER.test(last)) return dec;
  const cls = owner.type === 'identifier' ? classOfModel(a, owner) : undefined;
  const layer = cls?.layers.get(dec);
  if (!cls || !layer || !holdsParameters(layer, a)) return undefined;
  const used = methodsOf(cls.node).some((m) => m.child('name')?.text !== '__init__' && mentionsSelf(m, dec));
  return used ? dec : undefined;
}

/**
 * Whether some function that back-propagates runs the autoencoder's decoder: calls the model itself, its decoder,
 * or a method of it that decodes or computes its loss (`vae(x)`, `vae.decode(z)`, `vae.elbo(...)`).
 */
function decoderTrained(a: Analysis, owner: string, dec: string): boolean {
  for (const c of a.callsNamed('backward').concat(a.callsNamed('manual_backward'))) {
    const scope = enclosingFunction(c) ?? c.ancestor('module');
    if (!scope) continue;
    const runs = callsWithin(scope).some((x) => {
      const f = x.child('function')?.text;
      if (f === owner || f === `${owner}.${dec}`) return true;
      return receiver(x)?.text === owner && DECODING_METHOD.test(calleeName(x) ?? '');
    });
    if (runs) return true;
  }
  return false;
}

/**
 * Whether the decoder may be trained or frozen elsewhere: some `.parameters()` of the file is of the decoder, of the
 * autoencoder or of a model holding it (`self.parameters()`), some optimizer's parameters cannot be read, or the
 * decoder is named other than by a plain call (`vae.decoder.requires_grad_(False)`, `freeze(vae.decoder)`).
 */
function decoderHandled(a: Analysis, owner: string, dec: string, optimizers: readonly PyNode[]): boolean {
  for (const p of [...a.callsNamed('parameters'), ...a.callsNamed('named_parameters')]) {
    const r = receiver(p)?.text;
    if (r === undefined) return true;
    if (r === owner || owner.startsWith(`${r}.`) || r === `${owner}.${dec}` || r.startsWith(`${owner}.${dec}.`)) return true;
  }
  if (optimizers.some((o) => parameterReceivers(o.child('arguments') ?? undefined).length === 0)) return true;
  return a.index.of('attribute').some((n) => {
    if (n.child('attribute')?.text !== dec) return false;
    const p = n.parent;
    if (p?.type === 'call' && p.child('function') === n) return false;
    // `self.decoder = Decoder(...)` in the class
    if (p?.type === 'assignment' && p.child('left') === n && n.child('object')?.text === 'self') return false;
    return !(p?.type === 'attribute' && p.child('attribute')?.text === 'forward' && p.parent?.type === 'call');
  });
}

/**
 * An autoencoder's optimizer given its encoder alone (`Adam(vae.encoder.parameters())`) while the reconstruction loss
 * also runs its decoder, which no optimizer holds: the decoder keeps its initial weights. Reported at the optimizer.
 */
function checkEncoderOnly(ctx: RuleContext, optimizers: readonly PyNode[]): void {
  const a = ctx.analysis;
  for (const o of optimizers) {
    const recvs = parameterReceivers(o.child('arguments') ?? undefined);
    const r = recvs.length === 1 ? unparen(recvs[0]) : undefined;
    const part = r?.type === 'attribute' ? r.child('attribute')?.text : undefined;
    const owner = r?.child('object');
    if (!part || !owner || !isDotted(owner)) continue;
    const dec = decoderOf(a, owner, part);
    if (!dec || decoderHandled(a, owner.text, dec, optimizers) || !decoderTrained(a, owner.text, dec)) continue;
    ctx.report({
      node: o,
      message:
        `This optimizer is given only \`${r!.text}\`, but the loss also runs \`${owner.text}.${dec}\`, which no optimizer holds: ` +
        `the decoder keeps its initial weights. Pass \`${owner.text}.parameters()\`, or freeze the decoder on purpose with requires_grad_(False).`,
    });
  }
}

/** `vae`, `self.module.vae`: a name and its attributes. */
function isDotted(n: PyNode): boolean {
  let e: PyNode | null | undefined = n;
  while (e?.type === 'attribute') e = e.child('object');
  return e?.type === 'identifier';
}

/**
 * The models and parts an optimizer's parameters come from, when its `params` is understood: `.parameters()` of a
 * name or its attributes, in a list or tuple, group dicts, `list(...)`, `+`, `itertools.chain(...)`, `filter(f, ...)`.
 * `attr` is the first attribute (`backbone` of `model.backbone.layer4`), undefined for the whole model.
 */
function groupParts(o: PyNode, a: Analysis): { root: PyNode; attr: string | undefined }[] | undefined {
  const params = o.child('arguments')?.namedChildren.find((x) => x.type !== 'comment');
  const first = params?.type === 'keyword_argument' ? (params.child('name')?.text === 'params' ? params.child('value') : undefined) : params;
  const out: { root: PyNode; attr: string | undefined }[] = [];
  const read = (e: PyNode | undefined | null, depth: number): boolean => {
    e = unparen(e ?? undefined);
    if (!e || depth > 6) return false;
    if (e.type === 'identifier' && depth === 0) {
      // `groups = []; groups += [{'params': ...}]; SGD(groups)`: every item, when the list is only built that way
      const items = onlyBuiltUp(a, e) ? listItems(a, e) : undefined;
      return !!items?.length && items.every((x) => read(x.item, depth + 1));
    }
    if (e.type === 'list' || e.type === 'tuple') return e.namedChildren.every((x) => x.type === 'comment' || read(x, depth + 1));
    if (e.type === 'binary_operator') return read(e.child('left'), depth + 1) && read(e.child('right'), depth + 1);
    if (e.type === 'dictionary') {
      const pair = e.namedChildren.find((x) => x.type === 'pair' && /^['"]params['"]$/.test(x.child('key')?.text ?? ''));
      return !!pair && read(pair.child('value'), depth + 1);
    }
    if (e.type !== 'call') return false;
    const name = calleeName(e);
    if (name === 'list' || name === 'chain' || name === 'filter') {
      const args = positionalArgs(e);
      return args.length > 0 && (name === 'filter' ? read(args[1], depth + 1) : args.every((x) => read(x, depth + 1)));
    }
    if (name !== 'parameters' && name !== 'named_parameters') return false;
    const attrs: string[] = [];
    let r = unparen(e.child('function')?.child('object') ?? undefined);
    for (; r?.type === 'attribute'; r = unparen(r.child('object') ?? undefined)) attrs.unshift(r.child('attribute')?.text ?? '');
    if (r?.type !== 'identifier' || r.text === 'self') return false;
    out.push({ root: r, attr: attrs[0] });
    return true;
  };
  return first && read(first, 0) ? out : undefined;
}

/**
 * Every use of the list name in its scope builds it up with literals (`= [...]`, `+= [...]`, `.append(x)`,
 * `.extend([...])`) or is the read itself: nothing else can have added groups.
 */
function onlyBuiltUp(a: Analysis, read: PyNode): boolean {
  const scope = enclosingFunction(read);
  for (const id of a.index.of('identifier')) {
    if (id.text !== read.text || id === read || enclosingFunction(id) !== scope) continue;
    const p = id.parent;
    if ((p?.type === 'assignment' || p?.type === 'augmented_assignment') && p.child('left') === id) {
      const right = unparen(p.child('right') ?? undefined);
      if (right?.type === 'list' || right?.type === 'tuple') continue;
      return false;
    }
    const call = p?.type === 'attribute' && p.child('object') === id ? p.parent : undefined;
    const method = p?.type === 'attribute' ? p.child('attribute')?.text : undefined;
    if (call?.type !== 'call' || call.child('function') !== p) return false;
    if (method === 'append' || method === 'insert') continue;
    const arg = unparen(positionalArgs(call)[0]);
    if (method === 'extend' && (arg?.type === 'list' || arg?.type === 'tuple')) continue;
    return false;
  }
  return true;
}

/**
 * `model.parameters()` (the whole model) where it may feed an optimizer: kept (assigned, returned, put in a list or
 * dict) or passed to a call other than gradient clipping. Iterating it (`for p in model.parameters(): ...`,
 * `sum(p.numel() for ...)`) or clipping its gradients hands nothing on.
 */
function wholeElsewhere(a: Analysis, root: string): boolean {
  return [...a.callsNamed('parameters'), ...a.callsNamed('named_parameters')].some((c) => {
    if (unparen(c.child('function')?.child('object') ?? undefined)?.text !== root) return false;
    const p = c.parent;
    if ((p?.type === 'for_statement' || p?.type === 'for_in_clause') && p.child('right') === c) return false;
    const call = p?.type === 'argument_list' ? p.parent : undefined;
    return !(call?.type === 'call' && /^clip_grad_(norm|value)_$/.test(calleeName(call) ?? ''));
  });
}

/**
 * The module class of the file a model name holds: from its binding (`model = Tracker().cuda()`), or, for a
 * parameter, from the call sites' arguments when those read all build the same class; `wrapper.module` of a
 * DataParallel/DistributedDataParallel wrapper is the module it wraps.
 */
function classOfModel(a: Analysis, e: PyNode | null | undefined, wrapped = false, depth = 0): ModuleClass | undefined {
  e = unparen(e ?? undefined);
  if (!e || depth > 6) return undefined;
  if (e.type === 'identifier') {
    const value = a.scopes.valueAt(e.text, e);
    if (value) return classOfModel(a, value, wrapped, depth + 1);
    const args = parameterArguments(a, e);
    if (!args?.length) return undefined;
    // call sites that cannot be read (a model rebound by `model, opt = restore(model, opt)`) do not outvote the rest
    const classes = new Set(args.map((x) => classOfModel(a, x, wrapped, depth + 1)).filter((c) => c !== undefined));
    return classes.size === 1 ? [...classes][0] : undefined;
  }
  if (e.type === 'attribute') return !wrapped && e.child('attribute')?.text === 'module' ? classOfModel(a, e.child('object'), true, depth + 1) : undefined;
  const call = peelSameModule(e);
  if (call?.type !== 'call') return call && call !== e ? classOfModel(a, call, wrapped, depth + 1) : undefined;
  if (wrapped) return WRAPPERS.test(a.callee(call) ?? calleeName(call) ?? '') ? classOfModel(a, positionalArgs(call)[0], false, depth + 1) : undefined;
  const fn = call.child('function');
  return fn?.type === 'identifier' ? a.moduleClass(fn.text, call) : undefined;
}

/** A module build holding parameters: a parametric torch.nn layer or container, or a module class of the file holding some. */
function holdsParameters(layer: PyNode, a: Analysis): boolean {
  const call = peelSameModule(layer);
  if (call?.type !== 'call') return false;
  const fn = call.child('function');
  if (fn?.type === 'identifier' && a.definesClass(fn.text)) return !!a.moduleClass(fn.text, call) && classHoldsParameters(a, fn.text);
  return isParametricBuild(call, a);
}

function mentionsSelf(fn: PyNode, attr: string): boolean {
  let found = false;
  fn.walk((n) => {
    if (found) return false;
    if (n.type === 'attribute' && n.child('attribute')?.text === attr && n.child('object')?.text === 'self') found = true;
    return undefined;
  });
  return found;
}

/** `model.head` written anywhere in the file (outside the optimizer's groups, which do not hold it). */
function mentionedOn(a: Analysis, root: string, attr: string): boolean {
  return a.index.of('attribute').some((n) => n.child('attribute')?.text === attr && n.child('object')?.text === root);
}

/** The call building a module with parameters: a parametric torch.nn layer or a module class of the file holding some. */
function buildsParametricModule(value: PyNode | undefined, a: Analysis): PyNode | undefined {
  const call = peelSameModule(value);
  if (call?.type !== 'call') return undefined;
  const fn = call.child('function');
  if (fn?.type === 'identifier' && a.definesClass(fn.text)) {
    if (!a.moduleClass(fn.text, call) || !classHoldsParameters(a, fn.text)) return undefined;
  } else {
    if (!isParametricBuild(call, a)) return undefined;
  }
  // Built from another module (`LMHead(model)`, tied weights) or from modules' parts: it may share their parameters.
  let shares = false;
  call.child('arguments')?.walk((n) => {
    if (shares || n.type === 'lambda') return false;
    if (n.type === 'identifier' && SHARED.test(n.text)) shares = true;
    if (n.type === 'call') return false; // nested builds (`nn.Sequential(nn.Linear(...))`) are parts, not shared modules
    return undefined;
  });
  return shares ? undefined : call;
}

/** Arguments naming a module or its weights: `LMHead(model)`, `Decoder(self.embed_tokens)`. */
const SHARED = /model|net|encoder|backbone|embed|self|weight|layer|module/i;

/** Names bound (by a plain `name = ...`) to a newly built module with parameters, with those assignments. */
function moduleBindings(a: Analysis): Map<string, PyNode[]> {
  const out = new Map<string, PyNode[]>();
  for (const asg of a.index.of('assignment')) {
    const left = asg.child('left');
    const right = asg.child('right');
    if (left?.type !== 'identifier' || right?.type !== 'call' || asg.parent?.type !== 'expression_statement') continue;
    if (!buildsParametricModule(right, a)) continue;
    const list = out.get(left.text);
    if (list) list.push(asg);
    else out.set(left.text, [asg]);
  }
  return out;
}

/** Methods that leave the parameters where they are (moving, switching mode, saving, initialising); not `requires_grad_`. */
const KEEPING = new Set([...[...SAME_MODULE].filter((m) => m !== 'requires_grad_'), 'apply', 'zero_grad', 'state_dict', 'forward', '__call__']);
const WRAPPERS = /(^|\.)(DataParallel|DistributedDataParallel|DistModule)$/;

/**
 * The calls of the module when every use of its name is one that leaves its parameters out of any optimizer: calls,
 * moving and mode switches, printing, wrapping in DataParallel under the same name, and rebinding to other builds of
 * this kind. Undefined when some use may hand them on (an argument, `.parameters()`, an attribute or container
 * holding it, `load_state_dict`, `requires_grad_`), or when the name is bound in another way too. Passed to a function
 * of the file, the uses of that function's parameter count too.
 */
function checkUses(ids: readonly PyNode[], sites: readonly PyNode[], a: Analysis, depth = 0): PyNode[] | undefined {
  const calls: PyNode[] = [];
  for (const id of ids) {
    const p = id.parent;
    if (!p) return undefined;
    if (declaresParameter(p, id)) continue; // another scope's name: its uses are in the list too
    if (p.type === 'assignment' && p.child('left') === id) {
      if (sites.includes(p) || sameModuleOf(p.child('right'), id.text, a)) continue;
      return undefined;
    }
    if (p.type === 'call' && p.child('function') === id) {
      calls.push(p);
      continue;
    }
    if (p.type === 'attribute' && p.child('object') === id) {
      const method = p.child('attribute')?.text ?? '';
      const call = p.parent;
      if (call?.type !== 'call' || call.child('function') !== p || !KEEPING.has(method)) return undefined;
      if (method === 'forward' || method === '__call__') calls.push(call);
      continue;
    }
    if (p.type === 'argument_list' && p.parent?.type === 'call' && calleeName(p.parent) === 'print') continue;
    const inner = depth < 2 ? usesAsParameter(id, a) : undefined;
    const innerCalls = inner && checkUses(inner, [], a, depth + 1);
    if (!innerCalls) return undefined;
    calls.push(...innerCalls);
  }
  return calls;
}

/**
 * The uses of the parameter a module is passed to, when it is passed to a function of the file defined once at module
 * level (`train(model, head, loader)` -> the uses of `head` inside `def train(model, head, loader)`); else undefined.
 */
function usesAsParameter(id: PyNode, a: Analysis): PyNode[] | undefined {
  const kw = id.parent?.type === 'keyword_argument' && id.parent.child('value') === id ? id.parent : undefined;
  const list = kw ? kw.parent : id.parent;
  const call = list?.type === 'argument_list' ? list.parent : undefined;
  const fn = call?.type === 'call' ? call.child('function') : undefined;
  if (fn?.type !== 'identifier') return undefined;
  const defs = a.functions.get(fn.text) ?? [];
  const def = defs.length === 1 ? defs[0]! : undefined;
  if (!def || def.parent?.type !== 'module') return undefined;
  const params = def.child('parameters')?.namedChildren ?? [];
  if (params.some((x) => x.type === 'list_splat_pattern' || x.type === 'dictionary_splat_pattern')) return undefined;
  const names = parameterNames(def);
  let name: string | undefined;
  if (kw) name = kw.child('name')?.text;
  else {
    const args = list!.namedChildren.filter((x) => x.type !== 'comment');
    if (args.some((x) => x.type === 'list_splat' || x.type === 'dictionary_splat')) return undefined;
    const i = args.indexOf(id);
    if (args.slice(0, i).some((x) => x.type === 'keyword_argument')) return undefined;
    name = names[i];
  }
  if (!name || !names.includes(name)) return undefined;
  const uses: PyNode[] = [];
  def.child('body')?.walk((n) => {
    if (n.type === 'identifier' && n.text === name) uses.push(n);
    return undefined;
  });
  return uses;
}

function declaresParameter(p: PyNode, id: PyNode): boolean {
  if (p.type === 'parameters') return true;
  if (p.type === 'default_parameter' || p.type === 'typed_default_parameter') return p.child('name') === id;
  return p.type === 'typed_parameter' && p.namedChildren[0] === id;
}

/** `name.to(device)`, `nn.DataParallel(name)`: the same module bound again. */
function sameModuleOf(value: PyNode | null | undefined, name: string, a: Analysis): boolean {
  const e = unparen(value ?? undefined);
  if (e?.type !== 'call') return false;
  const peeled = peelSameModule(e);
  if (peeled?.type === 'identifier') return peeled.text === name;
  if (peeled !== e && peeled?.type === 'call') return sameModuleOf(peeled, name, a);
  const fn = e.child('function');
  if (fn?.type === 'attribute' && SAME_MODULE.has(fn.child('attribute')?.text ?? '')) return unparen(fn.child('object') ?? undefined)?.text === name;
  const q = a.callee(e) ?? '';
  return WRAPPERS.test(q) && unparen(positionalArgs(e)[0])?.text === name;
}

const NO_GRAD = /(^|\.)(no_grad|inference_mode)$/;

/** Whether a call of the module runs with autograd on, where training happens, and its output is not detached. */
function trains(call: PyNode, a: Analysis): boolean {
  if (underNoGrad(call, a)) return false;
  const after = call.parent;
  if (after?.type === 'attribute' && /^(detach|item|numpy|cpu)$/.test(after.child('attribute')?.text ?? '')) return false;
  const fn = enclosingFunction(call);
  let region: PyNode | undefined = fn;
  if (!region) for (let p = call.parent; p && !region; p = p.parent) if (p.type === 'for_statement' || p.type === 'while_statement') region = p;
  if (!region) return false;
  return callsWithin(region).some((c) => isBackward(c) || isOptimizerStep(c, a) || callsBackwardHelper(c, a));
}

function underNoGrad(n: PyNode, a: Analysis): boolean {
  for (let p = n.parent; p; p = p.parent) {
    if (p.type === 'with_statement') {
      for (const c of callsWithin(p.child('with_clause') ?? p)) {
        const q = a.callee(c) ?? '';
        if (NO_GRAD.test(q) || (/set_grad_enabled$/.test(q) && positionalArgs(c)[0]?.text === 'False')) return true;
      }
    }
    if (p.type === 'decorated_definition' && p.namedChildren.some((d) => d.type === 'decorator' && NO_GRAD.test(d.text.replace(/\(\)$/, '')))) return true;
  }
  return false;
}

/**
 * A call of a function of the file, or of an instance of a class of the file (`compute_loss(...)` with
 * `compute_loss = LossCompute(criterion, opt)`), whose code runs `backward()`.
 */
function callsBackwardHelper(c: PyNode, a: Analysis): boolean {
  const fn = c.child('function');
  if (fn?.type !== 'identifier') return false;
  for (const def of a.functions.get(fn.text) ?? []) if (callsWithin(def).some(isBackward)) return true;
  const value = unparen(a.scopes.valueAt(fn.text, fn) ?? undefined);
  const cls = value?.type === 'call' ? value.child('function') : undefined;
  if (cls?.type !== 'identifier' || !a.definesClass(cls.text)) return false;
  for (const def of a.index.of('class_definition')) {
    if (def.child('name')?.text === cls.text && methodsOf(def).some((m) => callsWithin(m).some(isBackward))) return true;
  }
  return false;
}

function report(ctx: RuleContext, name: string, site: PyNode): void {
  const value = site.child('right') ?? site;
  ctx.report({
    node: value,
    message:
      `\`${name}\` has parameters and is used in training, but no optimizer is given them: they keep their random ` +
      `initial values. Pass \`${name}.parameters()\` to the optimizer too, or freeze it on purpose with \`${name}.requires_grad_(False)\`.`,
  });
}
