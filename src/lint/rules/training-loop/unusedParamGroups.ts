// TL028's third shape: a parameter group (`params = {'lr': 5e-2, 'weight_decay': 1e-2}`) filled with parameters and
// never handed on: it is not appended to the list the optimizer is built from, passed, returned or stored. Its
// parameters get no optimizer.
import { callsWithin, calleeName, unparen, type Analysis } from '../../analysis';
import { isOptimizerClass, isOtherOptimizerBuild } from '../../analysis/training';
import type { PyNode } from '../../parser';
import type { RuleContext } from '../../types';

// The keys of a torch.optim parameter group: a dict of only these (one of the first three at least) is one.
const GROUP_KEYS = new Set(['params', 'lr', 'weight_decay', 'momentum', 'betas', 'eps', 'name', 'initial_lr', 'nesterov', 'dampening', 'amsgrad', 'lr_mult', 'decay_mult']);
const MUTATORS = new Set(['append', 'extend', 'add', 'update', 'insert']);

function groupKeys(dict: PyNode): string[] | undefined {
  const keys: string[] = [];
  for (const c of dict.namedChildren) {
    if (c.type === 'comment') continue;
    const k = c.type === 'pair' ? unparen(c.child('key')) : undefined;
    if (k?.type !== 'string') return undefined;
    const key = k.text.slice(1, -1);
    if (!GROUP_KEYS.has(key)) return undefined;
    keys.push(key);
  }
  return keys.some((k) => k === 'params' || k === 'lr' || k === 'weight_decay') ? keys : undefined;
}

/** `g['params'] = []`, `g['params'].append(p)`, `g['lr'] = x`: a read of `g` that only fills the group. */
function fillsOnly(id: PyNode): 'fills' | 'adds' | undefined {
  const sub = id.parent;
  if (sub?.type !== 'subscript' || sub.child('value') !== id) return undefined;
  const up = sub.parent;
  if (up?.type === 'assignment' && up.child('left') === sub) return 'fills';
  if (up?.type === 'attribute' && up.child('object') === sub && MUTATORS.has(up.child('attribute')?.text ?? '') && up.parent?.type === 'call') return 'adds';
  return undefined;
}

function isOptimizerBuild(a: Analysis, call: PyNode): boolean {
  const q = a.callee(call);
  return !!q && (isOptimizerClass(q) || isOtherOptimizerBuild(q));
}

/** Reports each parameter group a function fills and then drops, when an optimizer is built after it there. */
export function checkUnusedGroups(ctx: RuleContext): void {
  const a = ctx.analysis;
  for (const dict of a.index.of('dictionary')) {
    if (!/['"](params|lr|weight_decay)['"]/.test(dict.text)) continue;
    const asg = dict.parent;
    const name = asg?.type === 'assignment' && asg.child('right') === dict ? asg.child('left') : undefined;
    const stmt = asg?.parent;
    if (name?.type !== 'identifier' || stmt?.type !== 'expression_statement' || !groupKeys(dict)) continue;
    // a statement of a function's own body or of the module (not in a loop or a branch, where the next iteration could use it)
    const body = stmt.parent;
    if (!body || !(body.type === 'module' || (body.type === 'block' && body.parent?.type === 'function_definition'))) continue;
    let adds = false;
    let used = false;
    let rebound = false;
    body.walk((n) => {
      if (used || rebound || n.end <= stmt.end) return n.end > stmt.end;
      if (n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
      if (n.type !== 'identifier' || n.text !== name.text) return undefined;
      const p = n.parent;
      if (p?.type === 'assignment' && p.child('left') === n) {
        rebound = true;
        return false;
      }
      const how = fillsOnly(n);
      if (how === 'adds') adds = true;
      else if (how !== 'fills') used = true;
      return undefined;
    });
    if (used || !(adds || /['"]params['"]/.test(dict.text))) continue;
    const optimizer = callsWithin(body).find((c) => c.start > stmt.end && isOptimizerBuild(a, c));
    if (!optimizer) continue;
    const line = ctx.lines.position(optimizer.start).line + 1;
    ctx.report({
      node: dict,
      message:
        `the parameter group \`${name.text}\` is filled but never given to the optimizer (${calleeName(optimizer) ?? 'optimizer'} on line ${line}): ` +
        'its parameters are never trained. Append it to the groups the optimizer is built from.',
    });
  }
}
