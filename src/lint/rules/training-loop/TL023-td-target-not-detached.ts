import { callsWithin, calleeName, hasParameter, keywordArg, positionalArgs, receiver, unparen, type Analysis } from '../../analysis';
import { evaluation } from '../../analysis/evaluation';
import { gradOffRegion, operatorOf } from '../../analysis/order';
import { parameterArguments } from '../../analysis/parameters';
import { scopeOf } from '../../analysis/scopes';
import { isBackward, optimizerBuilds } from '../../analysis/training';
import type { PyNode } from '../../parser';
import type { Rule, RuleContext } from '../../types';

// Deep Q-learning whose TD target `r + gamma * net(s2).max(1)[0]` keeps its graph and comes from the very network
// the optimizer trains: the regression loss then also moves the target toward the prediction. Found from the
// regression losses (MSE / SmoothL1 / Huber) whose one side is `net(s).gather(...)` and other side holds an
// undetached `net(s2).max(...)` of the same network, with `net.parameters()` in an optimizer.

const LOSS_FUNCTIONS = new Set(['torch.nn.functional.mse_loss', 'torch.nn.functional.smooth_l1_loss', 'torch.nn.functional.huber_loss']);
const LOSS_CLASSES = new Set(['torch.nn.MSELoss', 'torch.nn.SmoothL1Loss', 'torch.nn.HuberLoss']);

/** Tensor methods that keep the graph of their receiver (the path from the Q-values to the loss may use them). */
const CARRY_METHODS = new Set([
  'max', 'amax', 'unsqueeze', 'squeeze', 'view', 'reshape', 'view_as', 'flatten', 'float', 'double', 'half', 'to', 'cuda', 'cpu',
  'type_as', 'clamp', 'clip', 'mul', 'add', 'sub', 'mean', 'sum', 'expand', 'expand_as', 'contiguous', 'gather',
]);
/** torch functions that keep the graph of their tensor arguments. */
const CARRY_FUNCTIONS = new Set(['torch.max', 'torch.amax', 'torch.squeeze', 'torch.unsqueeze', 'torch.clamp', 'torch.mul', 'torch.add', 'torch.sub']);
const ARITHMETIC = new Set(['+', '-', '*', '/']);

interface Hit {
  /** The network's text: `policy_net`, `self.q_net`. */
  net: string;
  /** The network call: `policy_net(s2)`. */
  netCall: PyNode;
  /** The max values / gather node reported on. */
  at: PyNode;
  /** The network call is the receiver (or first argument) of the max / gather itself (not through a name). */
  inline: boolean;
}

/** A plain dotted name: `net`, `self.q_net`, `agent.online`. */
function isDotted(n: PyNode | undefined): boolean {
  while (n?.type === 'attribute') n = n.child('object');
  return n?.type === 'identifier';
}

/** `net(s)`, `self.q(s)`, `net.forward(s)`: the network's text, for a callee of this file (not torch, not a builtin). */
function netOf(a: Analysis, call: PyNode | undefined): string | undefined {
  if (call?.type !== 'call') return undefined;
  const f = call.child('function');
  if (!f || !isDotted(f) || a.callee(call) !== undefined) return undefined;
  if (calleeName(call) === 'forward') {
    const r = receiver(call);
    return r && isDotted(r) ? r.text : undefined;
  }
  if (f.type === 'identifier' && a.functions.has(f.text)) return undefined; // a helper function, not a module
  return f.text;
}

/** Whether autograd is off where `n` runs. */
function gradOff(a: Analysis, n: PyNode): boolean {
  return gradOffRegion(a, n) !== undefined || evaluation(a).isNoGrad(n);
}

/**
 * Whether the value of `n` reaches `root` with its graph: through arithmetic, parentheses, indexing and the shape /
 * dtype methods only. A `.detach()`, `.data`, `.item()`, a comparison or any unknown call breaks it.
 */
function carries(a: Analysis, n: PyNode, root: PyNode): boolean {
  let c = n;
  while (c !== root) {
    const p = c.parent;
    if (!p) return false;
    switch (p.type) {
      case 'parenthesized_expression':
        break;
      case 'binary_operator':
        if (!ARITHMETIC.has(operatorOf(p) ?? '')) return false;
        break;
      case 'unary_operator':
        if (operatorOf(p) !== '-') return false;
        break;
      case 'conditional_expression':
        if (p.namedChildren[1] === c) return false; // the condition
        break;
      case 'subscript':
        if (p.child('value') !== c) return false;
        break;
      case 'attribute': {
        if (p.child('object') !== c) return false;
        const attr = p.child('attribute')?.text ?? '';
        const call = p.parent;
        if (call?.type === 'call' && call.child('function') === p) {
          if (!CARRY_METHODS.has(attr)) return false;
          c = call;
          continue;
        }
        if (attr !== 'values') return false;
        break;
      }
      case 'argument_list': {
        const call = p.parent;
        if (call?.type !== 'call' || !CARRY_FUNCTIONS.has(a.callee(call) ?? '')) return false;
        c = call;
        continue;
      }
      default:
        return false;
    }
    c = p;
  }
  return true;
}

function isIntLiteral(n: PyNode | undefined): boolean {
  const u = unparen(n);
  return u?.type === 'integer' || (u?.type === 'unary_operator' && u.namedChildren[0]?.type === 'integer');
}

/**
 * `X.max(1)[0]`, `X.max(dim=1).values`, `X.max()`, `X.amax(1)`, `torch.max(X, 1)[0]`: the tensor X and the node that
 * holds the maximum values. Undefined for the indices (`[1]`), an element-wise max, or anything else.
 */
function maxValue(a: Analysis, m: PyNode): { source: PyNode; value: PyNode } | undefined {
  const name = calleeName(m);
  const q = a.callee(m);
  const args = positionalArgs(m);
  let source: PyNode | undefined;
  let dim: PyNode | undefined = keywordArg(m, 'dim');
  if (q === 'torch.max' || q === 'torch.amax') {
    source = args[0];
    dim ??= args[1];
  } else if (q === undefined && (name === 'max' || name === 'amax') && receiver(m)) {
    source = receiver(m);
    dim ??= args[0];
  }
  if (!source) return undefined;
  if (name === 'amax' || !dim) return { source, value: m };
  if (!isIntLiteral(dim)) return undefined; // `a.max(b)` / `torch.max(a, b)`: element-wise
  const p = m.parent;
  if (p?.type === 'subscript' && p.child('value') === m && p.child('subscript')?.text === '0') return { source, value: p };
  if (p?.type === 'attribute' && p.child('object') === m && p.child('attribute')?.text === 'values') return { source, value: p };
  return undefined;
}

/** `X.gather(1, a)` / `torch.gather(X, 1, a)`: X. */
function gatherSource(a: Analysis, g: PyNode): PyNode | undefined {
  const q = a.callee(g);
  if (q === 'torch.gather') return positionalArgs(g)[0];
  return q === undefined ? receiver(g) : undefined;
}

/** The network call a tensor expression is: `net(s2)` inline, or a name bound to it in the same scope with grad on. */
function netCallOf(a: Analysis, source: PyNode): { net: string; call: PyNode; inline: boolean } | undefined {
  const s = unparen(source);
  if (!s) return undefined;
  let net = netOf(a, s);
  if (net) return { net, call: s, inline: true };
  if (s.type !== 'identifier') return undefined;
  const v = unparen(a.scopes.valueAt(s.text, s) ?? undefined);
  if (!v || scopeOf(v) !== scopeOf(s) || gradOff(a, v)) return undefined;
  net = netOf(a, v);
  return net ? { net, call: v, inline: false } : undefined;
}

/**
 * The network outputs (max values of, or gathered from) that flow with their graph into `root`, following names
 * bound in the same scope with autograd on.
 */
function collect(a: Analysis, root: PyNode, kind: 'max' | 'gather', depth: number, seen: Set<PyNode>, out: Hit[]): void {
  root.walk((n) => {
    if (n.type === 'lambda' || n.type.endsWith('comprehension') || n.type === 'generator_expression') return false;
    if (n.type === 'call') {
      const name = calleeName(n);
      if (kind === 'max' && (name === 'max' || name === 'amax')) {
        const mv = maxValue(a, n);
        const nc = mv && netCallOf(a, mv.source);
        if (mv && nc && carries(a, mv.value, root) && !gradOff(a, n)) out.push({ net: nc.net, netCall: nc.call, at: mv.value, inline: nc.inline });
      } else if (kind === 'gather' && name === 'gather') {
        const src = gatherSource(a, n);
        const nc = src && netCallOf(a, src);
        if (nc && carries(a, n, root) && !gradOff(a, n)) out.push({ net: nc.net, netCall: nc.call, at: n, inline: nc.inline });
      }
      return undefined;
    }
    if (n.type === 'identifier' && depth < 6 && carries(a, n, root)) {
      const v = a.scopes.valueAt(n.text, n);
      if (v) {
        if (!seen.has(v) && scopeOf(v) === scopeOf(n) && !gradOff(a, v)) {
          seen.add(v);
          collect(a, v, kind, depth + 1, seen, out);
        }
      } else if (v === null && kind === 'max') {
        // `next_q, _ = net(s2).max(1)`: the first element is the values.
        const el = a.scopes.elementAt(n.text, n);
        const m = unparen(el?.source);
        if (el?.index === 0 && m?.type === 'call' && calleeName(m) === 'max' && !gradOff(a, m)) {
          const q = a.callee(m);
          const src = q === 'torch.max' ? positionalArgs(m)[0] : q === undefined ? receiver(m) : undefined;
          const dim = keywordArg(m, 'dim') ?? positionalArgs(m)[q === 'torch.max' ? 1 : 0];
          const nc = src && isIntLiteral(dim) ? netCallOf(a, src) : undefined;
          if (nc) out.push({ net: nc.net, netCall: nc.call, at: m, inline: nc.inline });
        }
      }
    }
    return undefined;
  });
}

/** The loss calls of the regression losses: `F.mse_loss(...)`, `nn.MSELoss()(...)`, `criterion(...)`, `self.loss_fn(...)`. */
function lossCalls(a: Analysis): PyNode[] {
  const out = new Set<PyNode>();
  for (const name of ['mse_loss', 'smooth_l1_loss', 'huber_loss']) {
    for (const c of a.callsNamed(name)) if (LOSS_FUNCTIONS.has(a.callee(c) ?? '')) out.add(c);
  }
  for (const name of ['MSELoss', 'SmoothL1Loss', 'HuberLoss']) {
    for (const ctor of a.callsNamed(name)) {
      if (!LOSS_CLASSES.has(a.callee(ctor) ?? '')) continue;
      const p = ctor.parent;
      if (p?.type === 'call' && p.child('function') === ctor) {
        out.add(p);
        continue;
      }
      if (p?.type !== 'assignment' || p.child('right') !== ctor) continue;
      const left = p.child('left');
      if (left?.type === 'identifier') {
        for (const c of a.callsNamed(left.text)) {
          const f = c.child('function');
          if (f?.type === 'identifier' && a.scopes.valueAt(f.text, f) === ctor) out.add(c);
        }
      } else if (left?.type === 'attribute' && left.child('object')?.text === 'self') {
        const attr = left.child('attribute')?.text ?? '';
        const cls = p.ancestor('class_definition');
        if (!cls || a.scopes.selfAttr(cls, attr).some((v) => v !== ctor)) continue;
        for (const c of a.callsNamed(attr)) {
          const f = c.child('function');
          if (f?.type === 'attribute' && f.child('object')?.text === 'self' && c.ancestor('class_definition') === cls) out.add(c);
        }
      }
    }
  }
  return [...out];
}

/** Whether an optimizer of this file is built from `net.parameters()`, for the `net` the loss at `at` calls. */
function optimized(a: Analysis, net: string, netCall: PyNode, at: PyNode): boolean {
  const builds = optimizerBuilds(a);
  if (net.startsWith('self.')) {
    const cls = at.ancestor('class_definition');
    return cls !== undefined && builds.some((b) => b.model === net && b.call.ancestor('class_definition') === cls);
  }
  const fn = scopeOf(at);
  const head = net.split('.')[0]!;
  if (fn && hasParameter(fn, head)) {
    // `def learn(q_net, optimizer, batch)`: every call site passes a network that an optimizer is built from.
    let id: PyNode | undefined = calleeName(netCall) === 'forward' ? receiver(netCall) : netCall.child('function');
    while (id?.type === 'attribute') id = id.child('object');
    const args = id ? parameterArguments(a, id) : undefined;
    const rest = net.slice(head.length);
    return (
      !!args?.length &&
      args.every((arg) => arg.type === 'identifier' && builds.some((b) => b.model === arg.text + rest && (b.scope === scopeOf(arg) || b.scope === null)))
    );
  }
  return builds.some((b) => b.model === net && (b.scope === fn || b.scope === null));
}

/** Arguments of a call, as text (to tell `net(s)` from `net(s2)`). */
function argsText(call: PyNode): string {
  return call.child('arguments')?.text ?? '';
}

/** `q.argmax(1)`, `q.max(1)[1]`, `q.max(1).indices`, `torch.argmax(q, 1)`: the index of the best action. */
const ARGMAX = /\bargmax\(|\.max\([^()]*\)\s*\[\s*1\s*\]|\.max\([^()]*\)\.indices|torch\.max\([^()]*\)\s*\[\s*1\s*\]/;

/** Whether a gather's index (its second argument, `index=`) is an argmax, inline or through a name of the scope. */
function picksArgmax(a: Analysis, gather: PyNode): boolean {
  const q = a.callee(gather);
  const index = keywordArg(gather, 'index') ?? positionalArgs(gather)[q === 'torch.gather' ? 2 : 1];
  if (!index) return false;
  if (ARGMAX.test(index.text)) return true;
  let hit = false;
  index.walk((n) => {
    if (hit || n.type !== 'identifier') return undefined;
    const v = a.scopes.valueAt(n.text, n);
    if (v && ARGMAX.test(v.text)) hit = true;
    const el = v === null ? a.scopes.elementAt(n.text, n) : undefined;
    // `_, next_actions = net(s2).max(1)`
    if (el?.index === 1 && el.source.type === 'call' && calleeName(el.source) === 'max') hit = true;
    return undefined;
  });
  return hit;
}

/**
 * The object a network name is bound to, through names and `self.x` attributes assigned once and same-module calls
 * (`models['Qnet'].to(device)` -> `models['Qnet']`, `self.target = self.policy` -> `self.policy`); a build (`Net()`,
 * `copy.deepcopy(net)`) is a new object: the name itself is returned.
 */
function boundObject(a: Analysis, net: string, at: PyNode, depth = 0): string {
  if (depth > 4) return net;
  const m = /^self\.(\w+)$/.exec(net);
  let value: PyNode | null | undefined;
  if (m) {
    const cls = at.ancestor('class_definition');
    const values = cls ? a.scopes.selfAttr(cls, m[1]!) : [];
    value = values.length === 1 ? values[0] : undefined;
  } else if (/^\w+$/.test(net)) value = a.scopes.valueAt(net, at);
  let e = unparen(value ?? undefined);
  while (e?.type === 'call' && /^(to|cuda|cpu|float|double|half|train|eval)$/.test(calleeName(e) ?? '') && receiver(e)) e = unparen(receiver(e));
  if (!e || !isDotted(e) && e.type !== 'subscript') return net;
  // `models['Qnet']`: a literal key of a name (or attribute) only
  if (e.type === 'subscript') {
    const key = e.namedChildren.find((c) => c !== e!.child('value') && c.type !== 'comment');
    if (key?.type !== 'string' || !isDotted(e.child('value') ?? undefined)) return net;
    return `${scopeKey(e)}${e.text}`;
  }
  return boundObject(a, e.text, e, depth + 1);
}

/** A name read in a function is that function's own: the same text in two functions may be two objects. */
function scopeKey(e: PyNode): string {
  let head: PyNode | null | undefined = e;
  while (head?.type === 'attribute' || head?.type === 'subscript') head = head.child(head.type === 'attribute' ? 'object' : 'value');
  return head?.text === 'self' ? '' : `${scopeOf(e)?.start ?? 0}:`;
}

/** Whether two network names hold the same object at `at`: the same name, or bound to the same one. */
function sameNetwork(a: Analysis, x: string, y: string, at: PyNode): boolean {
  return x === y || boundObject(a, x, at) === boundObject(a, y, at);
}

function checkLoss(loss: PyNode, ctx: RuleContext, reported: Set<PyNode>): void {
  const a = ctx.analysis;
  const pos = positionalArgs(loss);
  const args = [pos[0] ?? keywordArg(loss, 'input'), pos[1] ?? keywordArg(loss, 'target')];
  if (!args[0] || !args[1]) return;
  for (const [qi, ti] of [
    [0, 1],
    [1, 0],
  ] as const) {
    const gathers: Hit[] = [];
    collect(a, args[qi]!, 'gather', 0, new Set(), gathers);
    const nets = new Set(gathers.map((g) => g.net));
    if (nets.size !== 1) continue;
    const net = [...nets][0]!;
    const maxes: Hit[] = [];
    collect(a, args[ti]!, 'max', 0, new Set(), maxes);
    // Double DQN: `target_net(s2).gather(1, net(s2).argmax(1, keepdim=True))`, the values of the next state's best action.
    const picked: Hit[] = [];
    collect(a, args[ti]!, 'gather', 0, new Set(), picked);
    maxes.push(...picked.filter((g) => picksArgmax(a, g.at)));
    // The same network (or another name bound to the same object), on other inputs (the next state):
    // `net(s).gather(...)` vs `net(s2).max(1)[0]`.
    const current = new Set(gathers.map((g) => argsText(g.netCall)));
    const hits = maxes.filter((m) => sameNetwork(a, m.net, net, loss) && !current.has(argsText(m.netCall)) && !gathers.some((g) => g.netCall === m.netCall));
    if (!hits.length) continue;
    const scope = loss.ancestor('function_definition') ?? ctx.root;
    const calls = callsWithin(scope);
    if (!calls.some(isBackward)) continue;
    // `q_next.detach_()` / `requires_grad_(False)` somewhere in the function: stay silent.
    if (calls.some((c) => calleeName(c) === 'detach_' || calleeName(c) === 'requires_grad_')) continue;
    if (!optimized(a, net, gathers[0]!.netCall, loss)) continue;
    for (const h of hits) {
      if (reported.has(h.at)) continue;
      reported.add(h.at);
      const same = h.net === net ? `${net} is the network being optimized` : `${h.net} is the same object as ${net}, the network being optimized`;
      ctx.report({
        node: h.at,
        message: `The TD target uses ${h.netCall.text} with gradients on, and ${same}: the loss also pulls the target toward the prediction. Use ${h.netCall.text}.detach() or compute the target under torch.no_grad().`,
        fixes: h.inline ? [{ title: `Detach ${h.netCall.text}`, edits: [{ start: h.netCall.end, end: h.netCall.end, newText: '.detach()' }] }] : undefined,
      });
    }
  }
}

export const TL023: Rule = {
  meta: {
    id: 'TL023',
    name: 'td-target-not-detached',
    group: 'training-loop',
    defaultSeverity: 'error',
    summary: 'The DQN TD target is computed from the optimized Q-network without torch.no_grad() or .detach(), so gradients flow into the target.',
    why:
      'Q-learning regresses `Q(s, a)` toward a fixed target `r + gamma * max_a\' Q(s\', a\')`: a semi-gradient method, where the ' +
      'target is a constant. Built from the online network with autograd on, the target keeps its graph, so `loss.backward()` ' +
      'also moves `Q(s\', .)` toward `Q(s, a)`: the network chases itself, learning is slower and often diverges, with no error. ' +
      'Compute the target under `with torch.no_grad():` or detach it (`net(next_state).detach().max(1)[0]`), and usually from a ' +
      'separate target network. Descent reports it only when the network on the next state is the one the optimizer trains, ' +
      'also under another name bound to the same object (`self.target_net = models["q"].to(device)` next to ' +
      '`self.policy_net = models["q"].to(device)` is one network, not a copy), and for the Double DQN target ' +
      '`net(s2).gather(1, net(s2).argmax(1, keepdim=True))`.',
    wrong:
      'q_net = nn.Linear(4, 2)\noptimizer = torch.optim.Adam(q_net.parameters(), lr=1e-3)\nfor s, a, r, s2, done in replay_batches:\n' +
      '    q = q_net(s).gather(1, a.unsqueeze(1)).squeeze(1)\n    target = r + 0.99 * q_net(s2).max(1)[0] * (1 - done)\n' +
      '    loss = F.mse_loss(q, target)\n    optimizer.zero_grad()\n    loss.backward()\n    optimizer.step()',
    right:
      'q_net = nn.Linear(4, 2)\noptimizer = torch.optim.Adam(q_net.parameters(), lr=1e-3)\nfor s, a, r, s2, done in replay_batches:\n' +
      '    q = q_net(s).gather(1, a.unsqueeze(1)).squeeze(1)\n    with torch.no_grad():\n' +
      '        target = r + 0.99 * q_net(s2).max(1)[0] * (1 - done)\n' +
      '    loss = F.mse_loss(q, target)\n    optimizer.zero_grad()\n    loss.backward()\n    optimizer.step()',
    concept: 'Reinforcement learning: semi-gradient TD targets are constants',
    fixable: true,
  },
  check(ctx) {
    const a = ctx.analysis;
    if (!a.callsNamed('gather').length || !a.callsNamed('backward').length) return;
    if (!a.callsNamed('max').length && !a.callsNamed('amax').length && !a.callsNamed('argmax').length) return;
    // Old PyTorch: `Variable(s2, volatile=True)` turns the graph off for the whole next-state forward.
    if (/\bvolatile\s*=\s*True/.test(ctx.source)) return;
    const reported = new Set<PyNode>();
    for (const loss of lossCalls(a)) checkLoss(loss, ctx, reported);
  },
};
