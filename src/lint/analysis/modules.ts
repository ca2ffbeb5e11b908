// nn.Module subclasses: their layers (`self.x = nn.Linear(...)` in any method) and their `forward`.
import type { PyNode } from '../parser';
import type { Analysis } from './index';

export interface ModuleClass {
  name: string;
  node: PyNode;
  /** attribute -> the expression assigned to `self.<attribute>` (the last one in the class). */
  layers: Map<string, PyNode>;
  forward: PyNode | undefined;
  /** Expressions returned by forward (nested functions excluded, `return` without value skipped). */
  returns: PyNode[];
}

const MODULE_BASES = new Set(['torch.nn.Module', 'pytorch_lightning.LightningModule', 'lightning.LightningModule', 'lightning.pytorch.LightningModule']);
const MODULE_BASE_TEXT = /^(nn\.Module|Module|torch\.nn\.Module|(pl|L)\.LightningModule|LightningModule)$/;

export function findModuleClasses(a: Analysis): ModuleClass[] {
  const classes = a.index.of('class_definition');
  const names = new Set<string>();
  // Fixpoint: a subclass of a module class in this file is a module class too.
  for (let changed = true; changed; ) {
    changed = false;
    for (const c of classes) {
      const name = c.child('name')?.text;
      if (!name || names.has(name)) continue;
      const bases = c.child('superclasses')?.namedChildren ?? [];
      if (bases.some((b) => MODULE_BASES.has(a.qname(b) ?? '') || MODULE_BASE_TEXT.test(b.text) || names.has(b.text))) {
        names.add(name);
        changed = true;
      }
    }
  }
  const out: ModuleClass[] = [];
  for (const c of classes) {
    const name = c.child('name')?.text;
    if (!name || !names.has(name)) continue;
    // Read from the class's own statement only: kept between lints while that statement is unchanged.
    out.push(a.perStatement(c, 'module-class', () => moduleClassOf(a, c, name)));
  }
  return out;
}

/** A class's layers, forward and forward's returns (all inside the class). */
function moduleClassOf(a: Analysis, c: PyNode, name: string): ModuleClass {
  const layers = new Map<string, PyNode>();
  for (const attr of a.scopes.selfAttrNames(c)) {
    const values = a.scopes.selfAttr(c, attr);
    const v = values[values.length - 1];
    if (v) layers.set(attr, v);
  }
  const forward = methodsOf(c).find((m) => m.child('name')?.text === 'forward');
  return { name, node: c, layers, forward, returns: forward ? returnValues(forward) : [] };
}

/** Methods defined directly in a class body (decorated ones included). */
export function methodsOf(cls: PyNode): PyNode[] {
  const body = cls.child('body');
  const out: PyNode[] = [];
  for (const s of body?.children ?? []) {
    if (s.type === 'function_definition') out.push(s);
    else if (s.type === 'decorated_definition') {
      const d = s.child('definition');
      if (d?.type === 'function_definition') out.push(d);
    }
  }
  return out;
}

/** Values of the `return` statements of a function (not of nested functions). */
export function returnValues(fn: PyNode): PyNode[] {
  const out: PyNode[] = [];
  fn.child('body')?.walk((n) => {
    if (n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
    if (n.type === 'return_statement') {
      const v = n.namedChildren.find((c) => c.type !== 'comment');
      if (v && v.text !== 'None') out.push(v);
      return false;
    }
  });
  return out;
}
