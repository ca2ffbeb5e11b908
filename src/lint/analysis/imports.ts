// Import aliases and qualified-name resolution: `nn.CrossEntropyLoss` -> `torch.nn.CrossEntropyLoss`.
import type { PyNode } from '../parser';

/**
 * Names that snippets use without importing them (a notebook cell, a pasted fragment). They resolve to these
 * modules only when the file binds the name nowhere else.
 */
const CONVENTIONAL: Record<string, string> = {
  torch: 'torch',
  nn: 'torch.nn',
  F: 'torch.nn.functional',
  optim: 'torch.optim',
  tf: 'tensorflow',
  keras: 'keras',
  np: 'numpy',
  DataLoader: 'torch.utils.data.DataLoader',
};

/** The names a snippet may use unimported (a local rule's cached findings depend on whether the file rebinds them). */
export const CONVENTIONAL_NAMES: readonly string[] = Object.keys(CONVENTIONAL);

/** Spellings of the same module; resolution maps them to one name so rules list each API once. */
const CANONICAL: [string, string][] = [
  ['tensorflow.keras.', 'keras.'],
  ['tf_keras.', 'keras.'],
  ['torch.nn.modules.loss.', 'torch.nn.'],
  ['torch.nn.modules.activation.', 'torch.nn.'],
  ['torch.nn.modules.linear.', 'torch.nn.'],
  ['torch.nn.modules.conv.', 'torch.nn.'],
  ['torch.nn.modules.batchnorm.', 'torch.nn.'],
  ['torch.nn.modules.container.', 'torch.nn.'],
  ['torch.utils.data.dataloader.', 'torch.utils.data.'],
];

export function canonical(qname: string): string {
  if (qname.charCodeAt(0) !== 116 /* t: every spelling above starts with it */) return qname;
  for (const [from, to] of CANONICAL) if (qname.startsWith(from)) return to + qname.slice(from.length);
  return qname;
}

export class Imports {
  /** local name -> qualified name it stands for */
  readonly aliases = new Map<string, string>();

  constructor(importNodes: readonly PyNode[], private readonly boundElsewhere: (name: string) => boolean) {
    for (const n of importNodes) this.add(n);
  }

  private add(n: PyNode): void {
    if (n.type === 'import_statement') {
      for (const c of n.childrenOf('name')) {
        if (c.type === 'aliased_import') {
          const mod = c.child('name')?.text;
          const alias = c.child('alias')?.text;
          if (mod && alias) this.aliases.set(alias, mod);
        } else if (c.type === 'dotted_name') {
          const head = c.text.split('.')[0]!;
          this.aliases.set(head, head);
        }
      }
    } else if (n.type === 'import_from_statement') {
      const modNode = n.child('module_name');
      if (!modNode || modNode.type === 'relative_import') return;
      const mod = modNode.text.replace(/\s+/g, '');
      for (const c of n.childrenOf('name')) {
        if (c.type === 'aliased_import') {
          const name = c.child('name')?.text;
          const alias = c.child('alias')?.text;
          if (name && alias) this.aliases.set(alias, `${mod}.${name}`);
        } else if (c.type === 'dotted_name') {
          this.aliases.set(c.text, `${mod}.${c.text}`);
        }
      }
    }
  }

  /** The local name that stands for a module (`torch` -> 'torch' or 'T'), for quick fixes that insert code. */
  localName(module: string): string | undefined {
    for (const [local, q] of this.aliases) if (q === module) return local;
    return undefined;
  }

  /** Qualified name of a dotted expression (identifier or attribute chain), or undefined when not imported. */
  resolve(node: PyNode | undefined): string | undefined {
    if (!node) return undefined;
    // The head name first: most dotted expressions (`loss.backward`, `x.view`) start with a local variable, and
    // those return before any string is built.
    let n: PyNode | undefined = node;
    while (n && n.type === 'attribute') n = n.child('object');
    if (!n || n.type !== 'identifier') return undefined;
    const head = n.text;
    let base = this.aliases.get(head);
    if (base === undefined && !this.boundElsewhere(head)) base = CONVENTIONAL[head];
    if (base === undefined) return undefined;
    const parts: string[] = [];
    for (n = node; n.type === 'attribute'; n = n.child('object')!) {
      const attr = n.child('attribute');
      if (!attr) return undefined;
      parts.unshift(attr.text);
    }
    return canonical([base, ...parts].join('.'));
  }
}
