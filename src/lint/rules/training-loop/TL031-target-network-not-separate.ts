import { calleeName, enclosingFunction, positionalArgs, receiver, unparen, type Analysis } from '../../analysis';
import { SAME_MODULE } from '../../analysis/moduleBuilds';
import type { PyNode } from '../../parser';
import type { RawFinding, Rule } from '../../types';

/** Words of a name that make it a copy meant to lag the online network (`target_net`, `qTarget`, `ac_targ`, `model_ema`, `policy_old`). */
const TARGET_WORDS = new Set(['target', 'targets', 'targ', 'tgt', 'ema', 'old', 'momentum', 'teacher']);

const TARGET_TEXT = /targ|tgt|ema|old|momentum|teacher/i;

function targetNamed(ref: PyNode): boolean {
  const last = ref.type === 'attribute' ? (ref.child('attribute')?.text ?? '') : ref.type === 'identifier' ? ref.text : '';
  // Most names hold none of the words: one regex test before splitting.
  return TARGET_TEXT.test(last) && last
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .split(/[^a-z]+/)
    .some((w) => TARGET_WORDS.has(w));
}

/** A name, `self.x.y` or `nets[0]` / `models['q']`: an expression that reads an object without making one. */
function isReference(n: PyNode | undefined): boolean {
  const e = unparen(n);
  if (!e) return false;
  if (e.type === 'identifier') return e.text !== 'None' && e.text !== 'self';
  if (e.type === 'attribute') return isReference(e.child('object')) || e.child('object')?.text === 'self';
  if (e.type === 'subscript') {
    const index = e.child('subscript');
    return isReference(e.child('value')) && !!index && (index.type === 'string' || index.type === 'integer' || index.type === 'identifier');
  }
  return false;
}

/** The object under `.to(device)`, `.cuda()`, `.eval()`, `.requires_grad_(False)`: those return the same module. */
function sameObject(n: PyNode | undefined): PyNode | undefined {
  let e = unparen(n);
  while (e?.type === 'call' && SAME_MODULE.has(calleeName(e) ?? '') && receiver(e)) e = unparen(receiver(e));
  return e;
}

/** `X.state_dict()` (also under `copy.deepcopy(...)`, `dict(...)`, `.copy()`): X; else undefined. */
function stateDictSource(n: PyNode | undefined, a: Analysis): PyNode | undefined {
  let e = unparen(n);
  for (let i = 0; i < 3 && e?.type === 'call'; i++) {
    const name = calleeName(e);
    if (name === 'state_dict' && positionalArgs(e).length === 0) return isReference(receiver(e)) ? unparen(receiver(e)) : undefined;
    if (name === 'copy' && receiver(e)) e = unparen(receiver(e));
    else if (a.callee(e) === 'copy.deepcopy' || name === 'deepcopy' || e.child('function')?.text === 'dict' || e.child('function')?.text === 'OrderedDict') e = unparen(positionalArgs(e)[0]);
    else return undefined;
  }
  return undefined;
}

const PARAMETER_LISTS = new Set(['parameters', 'named_parameters', 'buffers', 'named_buffers']);

/** `X.parameters()` (or `X.state_dict().values()`, `list(X.parameters())`): X; else undefined. */
function parametersOf(n: PyNode | undefined, a: Analysis): PyNode | undefined {
  let e = unparen(n);
  if (e?.type === 'call' && e.child('function')?.text === 'list') e = unparen(positionalArgs(e)[0]);
  if (e?.type !== 'call') return undefined;
  const name = calleeName(e);
  if (name && PARAMETER_LISTS.has(name)) return isReference(receiver(e)) ? unparen(receiver(e)) : undefined;
  if (name === 'values' || name === 'items') return stateDictSource(receiver(e), a);
  return undefined;
}

/** Functions that copy or average one network into another: `soft_update(target, source, tau)`, `hard_update(...)`, `update_target(...)`. */
const UPDATE_FUNCTION = /^((soft|hard|polyak|ema|momentum)_?update\w*|update_?(target|ema|params|parameters|weights|model|network|net)\w*|(copy|sync)_?(params|parameters|weights|model|net|network|target)\w*)$/i;

interface Sync {
  /** The two networks' text, in the call's order. */
  first: string;
  second: string;
  node: PyNode;
}

/** The copies between networks the file makes: `A.load_state_dict(B.state_dict())`, `zip(A.parameters(), B.parameters())`, `soft_update(A, B, tau)`. */
function syncsOf(a: Analysis): Sync[] {
  let out = syncCache.get(a);
  if (out) return out;
  out = [];
  for (const c of a.callsNamed('load_state_dict')) {
    const pair = loadPair(c, a);
    if (pair) out.push({ first: pair[0].text, second: pair[1].text, node: c });
  }
  for (const c of a.callsNamed('zip')) {
    const pair = zipPair(c, a);
    if (pair) out.push({ first: pair[0].text, second: pair[1].text, node: c });
  }
  for (const name of updateFunctionNames(a)) {
    for (const c of a.callsNamed(name)) {
      const pair = updatePair(c);
      if (pair) out.push({ first: pair[0].text, second: pair[1].text, node: c });
    }
  }
  syncCache.set(a, out);
  return out;
}

const syncCache = new WeakMap<Analysis, Sync[]>();

/** Library update functions (stable-baselines3, common RL utilities) and the file's own functions named like one. */
const LIBRARY_UPDATES = ['soft_update', 'hard_update', 'polyak_update', 'update_target', 'update_target_network', 'update_ema', 'ema_update', 'momentum_update'];

function updateFunctionNames(a: Analysis): Set<string> {
  const names = new Set(LIBRARY_UPDATES);
  for (const name of a.functions.keys()) if (UPDATE_FUNCTION.test(name)) names.add(name);
  return names;
}

function loadPair(call: PyNode, a: Analysis): [PyNode, PyNode] | undefined {
  if (calleeName(call) !== 'load_state_dict') return undefined;
  const dest = unparen(receiver(call));
  const src = stateDictSource(positionalArgs(call)[0], a);
  return dest && src && isReference(dest) ? [dest, src] : undefined;
}

function zipPair(call: PyNode, a: Analysis): [PyNode, PyNode] | undefined {
  if (call.child('function')?.text !== 'zip') return undefined;
  const args = positionalArgs(call);
  if (args.length !== 2) return undefined;
  const x = parametersOf(args[0], a);
  const y = parametersOf(args[1], a);
  return x && y ? [x, y] : undefined;
}

function updatePair(call: PyNode): [PyNode, PyNode] | undefined {
  if (!UPDATE_FUNCTION.test(calleeName(call) ?? '')) return undefined;
  const [x, y] = positionalArgs(call);
  return x && y && isReference(x) && isReference(y) ? [unparen(x)!, unparen(y)!] : undefined;
}

/** The texts of the networks some sync of the file names, once per lint. */
function syncedNames(a: Analysis): Set<string> {
  let names = syncedNameSets.get(a);
  if (!names) {
    names = new Set(syncsOf(a).flatMap((s) => [s.first, s.second]));
    syncedNameSets.set(a, names);
  }
  return names;
}

const syncedNameSets = new WeakMap<Analysis, Set<string>>();

/**
 * The syncs that name `x` where `at` is: a local name is the same variable only in the same function (`self.model`
 * in one method and a parameter `model` of another are not the pair `model` names); `self.x` is the class's.
 */
function syncsAt(a: Analysis, x: string, at: PyNode): Sync[] {
  const fn = enclosingFunction(at);
  return syncsOf(a).filter((s) => (s.first === x || s.second === x) && ((selfRooted(s.first) && selfRooted(s.second)) || enclosingFunction(s.node) === fn));
}

const selfRooted = (text: string) => text.startsWith('self.');

const synced = (a: Analysis, x: string, y: string, at: PyNode) => syncsAt(a, x, at).some((s) => (s.first === x && s.second === y) || (s.first === y && s.second === x));

/** Methods whose receiver is a network: seeing one on a reference says it holds a module. */
const MODULE_METHODS = ['parameters', 'state_dict', 'load_state_dict', 'named_parameters'];

function usedAsModule(a: Analysis, ref: string): boolean {
  return MODULE_METHODS.some((m) => a.callsNamed(m).some((c) => unparen(receiver(c))?.text === ref));
}

/** A call that makes a network: a torch.nn class, a class (capitalised name, or a class of the file), `copy.deepcopy(...)`. */
function constructs(v: PyNode | undefined | null, a: Analysis): boolean {
  const e = sameObject(v ?? undefined);
  if (e?.type !== 'call') return false;
  const q = a.callee(e);
  if (q === 'copy.deepcopy') return true;
  const fn = e.child('function');
  const last = fn?.type === 'attribute' ? fn.child('attribute')?.text : fn?.type === 'identifier' ? fn.text : undefined;
  return !!last && (/^[A-Z]/.test(last) || (fn?.type === 'identifier' && a.definesClass(last)));
}

/** Whether the reference holds a network: bound to a construction (a name, `self.x`), or used like one in the file. */
function holdsModule(ref: PyNode, a: Analysis): boolean {
  if (ref.type === 'identifier' && constructs(a.scopes.valueAt(ref.text, ref), a)) return true;
  if (ref.type === 'attribute' && ref.child('object')?.text === 'self') {
    const cls = ref.ancestor('class_definition');
    const attr = ref.child('attribute')?.text;
    if (cls && attr && a.scopes.selfAttr(cls, attr).some((v) => constructs(v, a))) return true;
  }
  return usedAsModule(a, ref.text);
}

/**
 * The network shared with the target is the online one: not named as a target itself (`self.teacher = teacher` only
 * stores it), and trained (its parameters reach an optimizer) or synced with the target somewhere in the file.
 */
function online(a: Analysis, target: PyNode, other: PyNode): boolean {
  return !targetNamed(other) && (synced(a, target.text, other.text, target) || trained(a, other.text));
}

/** `ref.parameters()` reaches an optimizer: in its arguments, or through a name assigned a value that holds it. */
function trained(a: Analysis, ref: string): boolean {
  const wanted = `${ref}.parameters()`;
  const args = optimizerArguments(a);
  if (args.some((t) => t.includes(wanted))) return true;
  for (const c of a.callsNamed('parameters')) {
    if (unparen(receiver(c))?.text !== ref) continue;
    const asg = c.ancestor('assignment');
    const name = asg && unparen(asg.child('left'));
    if (name && (name.type === 'identifier' || name.type === 'attribute') && args.some((t) => new RegExp(`(^|[^\\w.])${name.text.replace(/\./g, '\\.')}\\b`).test(t))) return true;
  }
  return false;
}

/** The argument texts of the file's optimizer constructions (`torch.optim.*`, not schedulers), once per lint. */
function optimizerArguments(a: Analysis): string[] {
  let out = optimizerArgs.get(a);
  if (!out) {
    out = [];
    for (const c of a.index.of('call')) {
      const q = a.callee(c);
      if (q?.startsWith('torch.optim.') && !q.startsWith('torch.optim.lr_scheduler') && /^[A-Z]/.test(q.slice(q.lastIndexOf('.') + 1))) out.push(c.child('arguments')?.text ?? '');
    }
    optimizerArgs.set(a, out);
  }
  return out;
}

const optimizerArgs = new WeakMap<Analysis, string[]>();

/** Assignments to `ref` (by text) in a function after `after` (any branch). */
function assignedLater(fn: PyNode, ref: string, after: PyNode): boolean {
  let found = false;
  fn.walk((n) => {
    if (found) return false;
    if (n.type === 'assignment' && n.start > after.end && unparen(n.child('left'))?.text === ref) found = true;
  });
  return found;
}

/** The alias sits in one branch of an `if` whose other branch gives the target something else (`else: target = deepcopy(net)`): a deliberate "no target network" option. */
function optionalAlias(asg: PyNode, target: string, fn: PyNode): boolean {
  for (let p = asg.parent; p && p !== fn; p = p.parent) {
    if (p.type !== 'if_statement' && p.type !== 'try_statement') continue;
    let other = false;
    p.walk((n) => {
      if (other) return false;
      if (n.type === 'assignment' && n !== asg && unparen(n.child('left'))?.text === target) other = true;
    });
    if (other) return true;
  }
  return false;
}

/**
 * The online network a target assignment makes it share: `target = online` itself, or an earlier assignment of the same
 * function that takes the same object (`self.policy_net = models['Q'].to(d)` ... `self.target_net = models['Q'].to(d)`).
 */
function sharedWith(asg: PyNode, target: PyNode, source: PyNode, fn: PyNode, a: Analysis): PyNode | undefined {
  if (source.text === target.text) return undefined;
  if (holdsModule(source, a)) return online(a, target, source) ? source : undefined;
  let found: PyNode | undefined;
  fn.walk((n) => {
    if (found) return false;
    if (n.type !== 'assignment' || n === asg) return;
    const left = unparen(n.child('left'));
    const right = sameObject(n.child('right'));
    if (!left || left.text === target.text || right?.text !== source.text || !isReference(left)) return;
    // The source must still be the same object: not rebound between the two, not a loop's variable.
    if (reboundBetween(fn, source, n, asg)) return;
    // Both must be networks: used as one somewhere (`.parameters()`, a sync between them).
    if ((usedAsModule(a, left.text) || usedAsModule(a, target.text) || synced(a, left.text, target.text, target)) && online(a, target, left)) found = left;
  });
  return found;
}

/** The root name of a reference (`models` of `models['q']`, `self` of `self.net`). */
function rootName(ref: PyNode): string | undefined {
  let e: PyNode | undefined = ref;
  while (e && (e.type === 'attribute' || e.type === 'subscript')) e = unparen(e.child(e.type === 'attribute' ? 'object' : 'value'));
  return e?.type === 'identifier' ? e.text : undefined;
}

/** Between two statements the reference (or its root name) is assigned, or its root is a loop's variable. */
function reboundBetween(fn: PyNode, ref: PyNode, x: PyNode, y: PyNode): boolean {
  const root = rootName(ref);
  const [from, to] = x.start < y.start ? [x.end, y.start] : [y.end, x.start];
  let found = false;
  fn.walk((n) => {
    if (found) return false;
    if (n.type === 'for_statement' && root && root !== 'self' && n.child('left')?.text.split(/\W+/).includes(root)) found = true;
    else if (n.type === 'assignment' && n.start > from && n.end < to) {
      const left = unparen(n.child('left'))?.text;
      if (left === ref.text || (root !== 'self' && left === root)) found = true;
    }
  });
  return found;
}

export const TL031: Rule = {
  meta: {
    id: 'TL031',
    name: 'target-network-not-separate',
    group: 'training-loop',
    defaultSeverity: 'error',
    summary: 'The target (or EMA, old-policy) network is the online network itself, or is "updated" from itself: it can never differ.',
    why:
      'A target network (DQN, DDPG, SAC, QMIX), an old policy (PPO) or an EMA/teacher copy (BYOL, MoCo, mean teacher) ' +
      'works only because it lags the network being trained. Two mistakes remove the lag. `self.target_net = ' +
      'self.policy_net` (also `net.to(device)` assigned to both) does not copy anything: both names are the same object, ' +
      'so the "target" moves with every optimizer step, the TD target chases itself and training is unstable; a later ' +
      '`load_state_dict` or soft update then copies the network into itself. And `target.load_state_dict(target.state_dict())`, ' +
      '`zip(target.parameters(), target.parameters())` or `soft_update(target, target, tau)` copy a network into itself: ' +
      'the target keeps its initial weights forever (reported for a network named as a target, or synced with another one ' +
      'elsewhere in the file, and for any update function). Make the copy a separate object (`copy.deepcopy(online)`, or build a ' +
      'new network and `load_state_dict(online.state_dict())`) and copy from the online network. An alias is reported ' +
      'when the name says it is a target (target, tgt, ema, old, momentum, teacher) or the file syncs the two networks; ' +
      'not when an `if` gives the target a copy in its other branch (a "no target network" option).',
    wrong:
      'class Agent:\n    def __init__(self):\n        self.policy_net = QNet()\n        self.target_net = self.policy_net\n\n    def sync(self):\n        self.target_net.load_state_dict(self.policy_net.state_dict())',
    right:
      'class Agent:\n    def __init__(self):\n        self.policy_net = QNet()\n        self.target_net = copy.deepcopy(self.policy_net)\n\n    def sync(self):\n        self.target_net.load_state_dict(self.policy_net.state_dict())',
    concept: 'Reinforcement learning: target networks',
    fixable: false,
  },
  nodeTypes: ['assignment', 'call', 'for_statement'],
  candidate: { reads: [], test: (n) => candidate(n) },
  visit(node, ctx) {
    if (!candidate(node)) return;
    const a = ctx.analysis;
    if (node.type === 'assignment') return checkAlias(node, a, ctx.report);
    if (node.type === 'for_statement') return checkLoop(node, a, ctx.report);
    const update = updatePair(node);
    const pair = loadPair(node, a) ?? zipPair(node, a) ?? update;
    if (!pair || pair[0].text !== pair[1].text) return;
    const net = pair[0].text;
    // `model.load_state_dict(model.state_dict())` in a test of checkpoint loading is a harmless no-op: only a copy meant
    // for a target (by its name, or synced with another network elsewhere) is reported, or an update function's.
    if (!update && !targetNamed(pair[0]) && !syncsAt(a, net, node).some((s) => s.first !== s.second)) return;
    const what = calleeName(node) === 'zip' ? `${node.text} pairs ${net}'s parameters with themselves` : `${node.text} copies ${net} into itself`;
    ctx.report({ node, message: `${what}: nothing is updated, so a target copy keeps its old weights; copy from the online network instead.` });
  },
};

type Report = (finding: RawFinding) => void;

/** The cheap, statement-local test: an assignment of a reference, a copy call, a loop over `zip(...)`. */
function candidate(n: PyNode): boolean {
  if (n.type === 'assignment') {
    const left = n.child('left');
    return (left?.type === 'identifier' || left?.type === 'attribute') && n.child('right')?.type !== 'assignment' && isReference(sameObject(n.child('right')));
  }
  if (n.type === 'call') {
    const name = calleeName(n) ?? '';
    return name === 'load_state_dict' || name === 'zip' || UPDATE_FUNCTION.test(name);
  }
  if (n.type === 'for_statement') {
    const right = unparen(n.child('right'));
    return right?.type === 'call' && right.child('function')?.text === 'zip';
  }
  return false;
}

function checkAlias(asg: PyNode, a: Analysis, report: Report): void {
  const target = unparen(asg.child('left'))!;
  const source = sameObject(asg.child('right'))!;
  const fn = enclosingFunction(asg) ?? a.root;
  const named = targetNamed(target);
  // Cheap first: a target by name, or a name the file syncs with some network.
  if (!named && !syncedNames(a).has(target.text)) return;
  const online = sharedWith(asg, target, source, fn, a);
  if (!online || (!named && !synced(a, target.text, online.text, asg))) return;
  if (assignedLater(fn, target.text, asg) || assignedLater(fn, online.text, asg) || optionalAlias(asg, target.text, fn)) return;
  const same = online === source ? `${target.text} = ${asg.child('right')!.text} makes the target network the same object as ${online.text}` : `${target.text} is the same object as ${online.text} (both are ${source.text})`;
  report({
    node: asg,
    message: `${same}: it moves with every step and syncing it copies nothing; use copy.deepcopy(${online.text}) or build a new network and load its state_dict.`,
  });
}

/**
 * `for t, p in zip(target.parameters(), online.parameters()):` whose body updates one of the two in place but never
 * reads the other: the update reads the network it writes (`t.data.copy_(t.data)`), a copy from itself.
 */
function checkLoop(loop: PyNode, a: Analysis, report: Report): void {
  const zip = unparen(loop.child('right'))!;
  const pair = zipPair(zip, a);
  const left = loop.child('left');
  const names = left?.namedChildren.filter((c) => c.type !== 'comment') ?? [];
  if (!pair || pair[0].text === pair[1].text || names.length !== 2 || !names.every((n) => n.type === 'identifier')) return;
  const body = loop.child('body');
  if (!body) return;
  const [x, y] = names as [PyNode, PyNode];
  const reads = (name: string) => {
    let found = false;
    body.walk((n) => void (n.type === 'identifier' && n.text === name && (found = true)));
    return found;
  };
  const readX = reads(x.text);
  const readY = reads(y.text);
  if (readX === readY) return;
  const [written, unread, net, other] = readX ? [x, y, pair[0], pair[1]] : [y, x, pair[1], pair[0]];
  if (!updatesInPlace(body, written.text)) return;
  report({
    node: loop.child('left')!,
    message: `The loop updates ${written.text} (of ${net.text}) without reading ${unread.text}: ${net.text} is copied from itself, not from ${other.text}; use ${unread.text} as the source.`,
  });
}

const IN_PLACE = /^(copy_|mul_|add_|lerp_|sub_|addcmul_|set_)$/;

/** The body writes the name's tensor: `t.data.copy_(...)`, `t.mul_(...)`, `t.data = ...`. */
function updatesInPlace(body: PyNode, name: string): boolean {
  const root = (n: PyNode | undefined): string | undefined => {
    let e = unparen(n);
    while (e?.type === 'attribute') e = unparen(e.child('object'));
    return e?.type === 'identifier' ? e.text : undefined;
  };
  let found = false;
  body.walk((n) => {
    if (found) return false;
    if (n.type === 'call' && IN_PLACE.test(calleeName(n) ?? '') && root(receiver(n)) === name) found = true;
    else if (n.type === 'assignment' && n.child('left')?.type === 'attribute' && root(n.child('left')) === name) found = true;
  });
  return found;
}
