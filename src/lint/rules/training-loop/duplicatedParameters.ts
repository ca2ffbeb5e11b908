// TL028, the copy-paste shapes: one module's parameters given twice where another module was meant. Either twice in
// one parameter list (`list(d1.parameters()) + list(d1.parameters())`), or two optimizers named for two modules
// (`opt_g`, `opt_d`) both built on the first one's parameters while the second module, trained, is in no optimizer.
import { calleeName, callsWithin, enclosingFunction, positionalArgs, receiver, unparen, type Analysis } from '../../analysis';
import { innermostLoop, isBackward, isOptimizerClass, isOtherOptimizerBuild } from '../../analysis/training';
import type { PyNode } from '../../parser';
import type { RuleContext } from '../../types';

const PARAMS_CALL = /^(named_)?parameters$/;
/** Calls that pass a parameter list on whole (`list(...)`, `itertools.chain(...)`). */
const PASSING = /^(list|tuple|chain)$/;

/** The receiver text of a `.parameters()` call (`self.loss_mrd`), else undefined. */
function paramsOwner(c: PyNode): string | undefined {
  return PARAMS_CALL.test(calleeName(c) ?? '') ? receiver(c)?.text : undefined;
}

/** The whole parameter-list expression a `.parameters()` call is part of: up through `list()`, `chain()`, `+`, list literals. */
function listTop(c: PyNode): PyNode {
  let top = c;
  for (let p = c.parent; p; p = p.parent) {
    if (p.type === 'parenthesized_expression' || p.type === 'list' || p.type === 'tuple') top = p;
    else if (p.type === 'binary_operator' && p.children.some((x) => x.text === '+' && x.namedChildren.length === 0)) top = p;
    else if (p.type === 'argument_list' && p.parent?.type === 'call' && PASSING.test(calleeName(p.parent) ?? '')) top = p = p.parent;
    else break;
  }
  return top;
}

/** Whether a call builds an optimizer: a torch.optim class, a known package's, or any call given `params=`. */
function buildsOptimizer(a: Analysis, call: PyNode): boolean {
  const q = a.callee(call);
  return !!q && (isOptimizerClass(q) || isOtherOptimizerBuild(q));
}

/** Whether the expression reaches an optimizer: its parameters argument, `params=` of a call, or a name passed so. */
function feedsOptimizer(a: Analysis, top: PyNode): boolean {
  const passed = (e: PyNode): boolean => {
    const p = e.parent;
    if (p?.type === 'keyword_argument') return p.child('name')?.text === 'params';
    const call = p?.type === 'argument_list' ? p.parent : undefined;
    return call?.type === 'call' && positionalArgs(call)[0] === e && buildsOptimizer(a, call);
  };
  if (passed(top)) return true;
  const asg = top.parent;
  const name = asg?.type === 'assignment' && asg.child('right') === top ? asg.child('left') : undefined;
  if (name?.type !== 'identifier') return false;
  const scope = enclosingFunction(top);
  return a.identifiersNamed(name.text).some((id) => id !== name && enclosingFunction(id) === scope && passed(id));
}

/** `list(m.parameters()) + list(m.parameters())` given to an optimizer: reported once per list, at the list. */
export function checkRepeatedInList(ctx: RuleContext): void {
  const a = ctx.analysis;
  const seen = new Set<PyNode>();
  for (const c of [...a.callsNamed('parameters'), ...a.callsNamed('named_parameters')]) {
    const top = listTop(c);
    if (top === c || seen.has(top)) continue;
    seen.add(top);
    const owners = callsWithin(top)
      .map(paramsOwner)
      .filter((x) => x !== undefined);
    const twice = owners.find((o, i) => owners.indexOf(o) !== i);
    if (!twice || !feedsOptimizer(a, top)) continue;
    ctx.report({
      node: top,
      message:
        `\`${twice}.parameters()\` is given to the optimizer twice: the copy was probably meant for another module, which no ` +
        `optimizer updates now. Replace one of them with the module that was meant.`,
    });
  }
}

/** The words of a name, lowercased: `optimizer_d` -> optimizer, d; `netD` -> net, d; `self.opt_G` -> opt, g. */
function words(name: string): string[] {
  return name
    .replace(/^self\./, '')
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .split(/[^A-Za-z0-9]+/)
    .filter((w) => w)
    .map((w) => w.toLowerCase());
}

/** The name an optimizer build is bound to (`optimizer_d = Adam(...)`, `self.opt_d = ...`), else undefined. */
function boundName(build: PyNode): PyNode | undefined {
  const asg = build.parent;
  const left = asg?.type === 'assignment' && asg.child('right') === build ? asg.child('left') : undefined;
  return left?.type === 'identifier' || (left?.type === 'attribute' && left.child('object')?.text === 'self') ? left : undefined;
}

/** Whether the file names the module's parameters anywhere other than to clip their gradients. */
function parametersNamed(a: Analysis, module: string): boolean {
  return [...a.callsNamed('parameters'), ...a.callsNamed('named_parameters')].some((c) => {
    if (unparen(receiver(c))?.text !== module) return false;
    const call = c.parent?.type === 'argument_list' ? c.parent.parent : undefined;
    return !(call?.type === 'call' && /^clip_grad_(norm|value)_$/.test(calleeName(call) ?? ''));
  });
}

/**
 * The modules of the file called (`discriminator(x)`, `self.netD(x)`) in functions that back-propagate, by name.
 * Only names and `self.x`: what an optimizer could have been given.
 */
function trainedCallees(a: Analysis): Set<string> {
  const out = new Set<string>();
  const fns = new Set<PyNode>();
  for (const b of [...a.callsNamed('backward'), ...a.callsNamed('manual_backward')]) {
    const fn = enclosingFunction(b);
    if (fn && isBackward(b)) fns.add(fn);
  }
  for (const fn of fns) {
    for (const c of callsWithin(fn)) {
      const f = c.child('function');
      if (f?.type === 'attribute' && f.child('object')?.text === 'self') out.add(f.text);
      // a name the file binds to a value, called per batch (a factory runs once, before the loop): not an import,
      // a builtin, a function or a class of the file
      else if (f?.type === 'identifier' && innermostLoop(c) && a.scopes.isBoundAnywhere(f.text) && !a.functions.has(f.text) && !a.definesClass(f.text) && !a.callee(c)?.includes('.')) out.add(f.text);
    }
  }
  return out;
}

/**
 * Two optimizers bound in the same block to names that differ by a word (`optimizer_g`, `optimizer_d`), both built on
 * one module's parameters and nothing else, while a module whose name starts with the second's word (`discriminator`)
 * runs in a function that back-propagates and no optimizer is given its parameters: reported at the build that
 * names it, unless the module was reported at its own build (`reported`).
 */
export function checkTwinOptimizers(ctx: RuleContext, optimizers: readonly PyNode[], reported: ReadonlySet<string>): void {
  const a = ctx.analysis;
  const byKey = new Map<string, PyNode[]>();
  for (const o of optimizers) {
    const name = boundName(o);
    const owners = callsWithin(o)
      .filter((c) => PARAMS_CALL.test(calleeName(c) ?? ''))
      .map(paramsOwner);
    if (!name || owners.length === 0 || owners.some((x) => x === undefined)) continue;
    // per block: each function of the file may build its own pair
    const key = `${[...new Set(owners)].sort().join(',')}@${o.parent?.parent?.parent?.start ?? -1}`;
    const list = byKey.get(key);
    if (list) list.push(o);
    else byKey.set(key, [o]);
  }
  let trained: Set<string> | undefined;
  for (const [at, builds] of byKey) {
    const key = at.slice(0, at.lastIndexOf('@'));
    if (builds.length !== 2 || key.includes(',')) continue;
    const [x, y] = builds as [PyNode, PyNode];
    // Alternatives (`if args.opt == 'sgd': ... else: ...`) are not in the same block.
    if (x.parent?.parent?.parent !== y.parent?.parent?.parent) continue;
    const shared = words(key);
    for (const [o, other] of [[x, y], [y, x]] as const) {
      const mine = words(boundName(o)!.text);
      const theirs = new Set(words(boundName(other)!.text));
      const own = mine.filter((w) => !theirs.has(w));
      if (own.length !== 1) continue;
      const word = own[0]!;
      if (shared.some((w) => w.startsWith(word))) continue;
      trained ??= trainedCallees(a);
      const meant = [...trained].filter((m) => m !== key && words(m).some((w) => w.startsWith(word)) && !parametersNamed(a, m));
      if (meant.length !== 1 || reported.has(meant[0]!)) continue; // already reported at its build
      ctx.report({
        node: o,
        message:
          `\`${boundName(o)!.text}\` is built on \`${key}.parameters()\`, like \`${boundName(other)!.text}\`, while \`${meant[0]}\` runs in ` +
          `training and no optimizer is given its parameters: it keeps its initial weights. Build it on \`${meant[0]}.parameters()\`.`,
      });
    }
  }
}

/** The parameters argument of an optimizer build: its first positional argument or `params=`. */
function paramsArgument(build: PyNode): PyNode | undefined {
  const kw = build.child('arguments')?.namedChildren.find((x) => x.type === 'keyword_argument' && x.child('name')?.text === 'params');
  return unparen(kw?.child('value') ?? positionalArgs(build)[0]);
}

/** The names (`self.model_modules`, `actor_params`) read in an expression, outermost first. */
function namesIn(e: PyNode): PyNode[] {
  const out: PyNode[] = [];
  e.walk((n) => {
    if (n.type === 'lambda') return false;
    if (n.type === 'identifier' || (n.type === 'attribute' && n.child('object')?.text === 'self')) {
      out.push(n);
      return false;
    }
    return undefined;
  });
  return out;
}

/**
 * Two optimizers of one block named for two parts (`model_optimizer`, `value_optimizer`), both built on the same list
 * (`get_parameters(self.model_modules)`, `actor_params`) named for the first one's part, while the file also binds the
 * list named for the second's (`self.value_modules`) and gives it to no optimizer: reported at the second build. The
 * `.parameters()` shapes are `checkTwinOptimizers`'.
 */
export function checkTwinLists(ctx: RuleContext, optimizers: readonly PyNode[]): void {
  const a = ctx.analysis;
  const byKey = new Map<string, PyNode[]>();
  for (const o of optimizers) {
    const p = paramsArgument(o);
    if (!p || !boundName(o) || callsWithin(p).some((c) => PARAMS_CALL.test(calleeName(c) ?? ''))) continue;
    const key = `${p.text}@${o.parent?.parent?.parent?.start ?? -1}`;
    const list = byKey.get(key);
    if (list) list.push(o);
    else byKey.set(key, [o]);
  }
  let given: string | undefined;
  for (const builds of byKey.values()) {
    if (builds.length !== 2) continue;
    const [x, y] = builds as [PyNode, PyNode];
    if (x.parent?.parent?.parent !== y.parent?.parent?.parent) continue;
    for (const [o, other] of [[x, y], [y, x]] as const) {
      const mine = words(boundName(o)!.text);
      const theirs = words(boundName(other)!.text);
      const own = mine.filter((w) => !theirs.includes(w));
      const otherOwn = theirs.filter((w) => !mine.includes(w));
      if (own.length !== 1 || otherOwn.length !== 1) continue;
      const meant = meantList(a, paramsArgument(o)!, otherOwn[0]!, own[0]!);
      if (!meant) continue;
      given ??= optimizers.map((b) => b.child('arguments')?.text ?? '').join('\n');
      if (new RegExp(`(^|[^\\w.])${meant.replace(/\./g, '\\.')}\\b`).test(given)) continue;
      ctx.report({
        node: o,
        message:
          `\`${boundName(o)!.text}\` is built on \`${paramsArgument(o)!.text}\`, like \`${boundName(other)!.text}\`, while \`${meant}\` ` +
          `is given to no optimizer: what it holds keeps its initial weights. Build it on \`${meant}\`.`,
      });
    }
  }
}

/**
 * The list named for `want` that the expression's list named for `have` stands for (`self.model_modules` ->
 * `self.value_modules`), when the file binds it by an assignment; else undefined.
 */
function meantList(a: Analysis, e: PyNode, have: string, want: string): string | undefined {
  for (const n of namesIn(e)) {
    const ws = words(n.text);
    if (!ws.includes(have) || ws.includes(want)) continue;
    const last = n.type === 'attribute' ? n.child('attribute')!.text : n.text;
    const swapped = last.replace(new RegExp(`(^|_)${have}(_|$)`, 'i'), (_m, p: string, s: string) => `${p}${want}${s}`);
    if (swapped === last) continue;
    const text = n.type === 'attribute' ? `self.${swapped}` : swapped;
    const bound = a.index.of('assignment').some((x) => unparen(x.child('left'))?.text === text);
    if (bound) return text;
  }
  return undefined;
}
