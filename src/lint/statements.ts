// The file seen as its top-level statements, for the editor's re-lint. What is kept between lints is keyed by a
// statement's text: two top-level statements with the same text and no syntax error parse to the same subtree (a
// statement that keeps its PyNode across an edit may still differ in whitespace inside, and findings keep offsets). Kept per statement: the
// names it binds, a hash of its module-level bindings, and the findings of statement-local rules (engine.ts).
import { topStatementOf, type NodeIndex, type StatementFacts } from './analysis';
import { CONVENTIONAL_NAMES, Imports } from './analysis/imports';
import { Scopes } from './analysis/scopes';
import { stableText, type PyNode } from './parser';
import type { LocalFact, RawFix } from './types';

/** Nodes of a subtree by type, in document order; ERROR subtrees and string contents are not entered. */
export function indexInto(node: PyNode, byType: Map<string, PyNode[]>, errorNodes: PyNode[]): void {
  const stack: PyNode[] = [node];
  while (stack.length) {
    const n = stack.pop()!;
    if (n.type === 'ERROR' || (n.hasError && n.children.length === 0)) {
      errorNodes.push(n);
      continue;
    }
    if (n.named) {
      let list = byType.get(n.type);
      if (!list) byType.set(n.type, (list = []));
      list.push(n);
    }
    if (n.type === 'string') continue;
    for (let i = n.children.length - 1; i >= 0; i--) {
      const c = n.children[i]!;
      if (c.named || c.hasError) stack.push(c);
    }
  }
}

/** A finding of a statement-local rule, offsets relative to its statement's start (statements move on edits). */
export interface KeptFinding {
  start: number;
  end: number;
  message: string;
  severity?: 'warning' | 'info';
  fixes?: RawFix[];
}

export interface KeptEntry {
  /** The fact key the findings were computed under, as its number (`Statements.keyIdOf`). */
  key: number;
  /** null: the rule's findings here reached outside the statement (or it failed): re-run on every lint. */
  findings: KeptFinding[] | null;
}

/** The nodes of a statement that passed a rule's candidate test (`Rule.candidate`), as paths from the statement. */
export interface KeptCandidates {
  /** As in `KeptEntry`. */
  key: number;
  /** Per node: the index of its type in the rule's `nodeTypes`, then child indices from the statement down. */
  paths: number[][] | null;
  /** The statement node `nodes` were found in: while the statement keeps it, they are the same nodes (same subtree). */
  top?: PyNode;
  /** The nodes of `paths` under `top`, in the same order. */
  nodes?: PyNode[];
}

/**
 * What a statement contributes to the file-wide facts, and which of them it reads: the names it binds anywhere, the
 * names a lookup from inside it can take to the module level, and its module-level bindings.
 */
interface Facts {
  bound: Set<string>;
  /** Names whose `valueAt` from inside the statement can return another statement's binding (`Scopes.resolvesOutside`). */
  free: readonly string[];
  /** Per module-level name it binds: a hash of the values' text, and the names those values hold (read in turn). */
  defines: Map<string, { hash: number; reads: readonly string[] }>;
  /** Names of the classes it defines (at any depth). */
  classes: readonly string[];
  /** A hash of `classes` (`Statements.classes`), once computed. */
  classesHash?: number;
  /** A digest of `defines` (`Statements.definesDigest`), once computed. */
  definesDigest?: number;
}

/** What one statement text keeps between lints. */
interface Kept extends Facts {
  /** By rule slot (`ruleSlot`): findings. Arrays, not maps by id: read once per rule and statement on every lint. */
  rules: (KeptEntry | undefined)[];
  /** By rule slot: candidate nodes. */
  candidates: (KeptCandidates | undefined)[];
  /** By facts mask: the key of the last lint, in parts, and its number (see `Statements.keyIdOf`). */
  keys: { imports: string; scopes: string; classes: string; id: number }[];
}

/** The last number given to a statement's fact key (`Statements.keyIdOf`). */
let lastKeyId = 0;

/** Rule id -> a small number, the index of what a statement keeps for the rule (same for every document). */
const slots = new Map<string, number>();

export function ruleSlot(id: string): number {
  let slot = slots.get(id);
  if (slot === undefined) slots.set(id, (slot = slots.size));
  return slot;
}

/** Per document: statement text -> what it keeps. Rebuilt on each lint with the statements present. */
export type KeptStatements = Map<string, Kept>;

/**
 * What a lint leaves for the document's next one, so that a rule skips the statements where it has nothing to do: the
 * fact key number of each statement (`Statements.keyIdOf`), and per rule the statements it was busy with.
 */
export interface LastLint {
  /** By facts mask: each statement's key number, in order. */
  keyIds: number[][];
  /**
   * By rule slot: the positions of the statements where the rule kept no empty result (it found something, or could
   * keep nothing); undefined when the rule did not run.
   */
  busy: (number[] | undefined)[];
  /** Each statement's kept facts, in order (undefined: syntax error), and the digest of their module-level bindings. */
  facts: (Kept | undefined)[];
  definesDigest: number;
  /** `scopesSeenFrom` per statement, as far as this lint computed them. */
  scopesKeys: string[];
}

/**
 * The bindings of a top-level statement, kept while it keeps its PyNode (an incremental parse keeps the PyNode of a
 * statement it did not change, with the same subtree). Not kept for a statement with a syntax error.
 */
const statementScopes = new WeakMap<PyNode, Scopes>();

/** One top-level statement of the current tree. */
export class Statement implements NodeIndex {
  /** Undefined for a statement with a syntax error: never kept, analysed afresh on each lint. */
  kept: Kept | undefined;
  /** The kept facts, or those computed for this lint alone. */
  facts!: Facts;

  constructor(
    readonly node: PyNode,
    /** Its nodes by type: its part of the file's index, kept while the statement keeps its node. */
    private readonly part: ReadonlyMap<string, readonly PyNode[]>,
  ) {}

  /** Its own bindings: the file's Scopes is the merge of these (`Scopes.merge`). */
  scopes(): Scopes {
    let scopes = statementScopes.get(this.node);
    if (!scopes) {
      scopes = new Scopes(this);
      if (!this.node.hasError) statementScopes.set(this.node, scopes);
    }
    return scopes;
  }

  /** Its facts, from its own bindings. */
  computeFacts(): Facts {
    const scopes = this.scopes();
    const free = new Set<string>();
    for (const id of this.of('identifier')) {
      // `x.view` and `f(dim=1)` name no variable: lookups are of names read as variables.
      if (id.field === 'attribute' || (id.field === 'name' && id.parent?.type === 'keyword_argument')) continue;
      if (!free.has(id.text) && scopes.resolvesOutside(id.text, id)) free.add(id.text);
    }
    const defines: Facts['defines'] = new Map();
    for (const [name, values] of scopes.moduleBindings()) {
      let h = hash(name);
      const reads = new Set<string>();
      for (const v of values) {
        h = mix(h, v ? hash(v.text) : 1);
        v?.walk((n) => void (n.type === 'identifier' && reads.add(n.text)));
      }
      defines.set(name, { hash: h, reads: [...reads] });
    }
    const classes: string[] = [];
    for (const c of this.of('class_definition')) {
      const name = c.child('name')?.text;
      if (name) classes.push(name);
    }
    return { bound: scopes.boundNames(), free: [...free], defines, classes };
  }

  /** The statement's nodes of a type, in document order. */
  of(type: string): readonly PyNode[] {
    return this.part.get(type) ?? NO_NODES;
  }

  /** The findings the rule in `slot` (`ruleSlot`) keeps for this statement under `key`, if any (null: nothing usable). */
  keptFindings(slot: number, key: number): KeptFinding[] | null {
    const e = this.kept?.rules[slot];
    return e && e.key === key ? e.findings : null;
  }

  keep(slot: number, entry: KeptEntry): void {
    if (this.kept) this.kept.rules[slot] = entry;
  }

  /** The candidates the rule in `slot` keeps for this statement under `key`, if any (with usable paths). */
  keptCandidates(slot: number, key: number): KeptCandidates | null {
    const e = this.kept?.candidates[slot];
    return e && e.key === key && e.paths ? e : null;
  }

  keepCandidates(slot: number, entry: KeptCandidates): void {
    if (this.kept) this.kept.candidates[slot] = entry;
  }

  /** Child indices from this statement down to `node` (inside it). */
  pathTo(node: PyNode): number[] {
    const path: number[] = [];
    for (let n = node; n !== this.node; n = n.parent!) path.push(n.parent!.children.indexOf(n));
    return path.reverse();
  }

  /** The node at a path from `pathTo` (same statement text: same tree), or undefined if it is not there. */
  nodeAt(path: readonly number[], from = 0): PyNode | undefined {
    let n: PyNode | undefined = this.node;
    for (let i = from; n && i < path.length; i++) n = n.children[path[i]!];
    return n;
  }
}

const NO_NODES: readonly PyNode[] = [];

/** A file's index that keeps the nodes of each top-level statement apart (the editor's, engine.ts). */
export interface StatementIndex extends NodeIndex {
  /** The nodes of the i-th top-level statement (as `Statements` lists them) by type. */
  statementPart(i: number): ReadonlyMap<string, readonly PyNode[]>;
}

/**
 * The file's top-level statements with what they keep, and per statement the keys of the file-wide facts a local
 * rule may read (see `Rule.local`): equal keys mean those facts are what they were when the findings were kept.
 */
export class Statements {
  readonly list: Statement[] = [];
  private importsKey?: string;
  /** Module-level name -> positions of the statements that bind it, in order. */
  private definers?: Map<string, number[]>;
  private readonly scopesKeys: string[] = [];
  private classesKey?: string;
  /** Keys per statement, per set of facts (a bit mask: imports 1, scopes 2, classes 4). */
  /** `keyIdOf` per statement, per set of facts. */
  private readonly keyIds: number[][] = [];

  /** What this lint keeps: the statements present now. */
  readonly after: KeptStatements = new Map();
  /** What this lint leaves for the next one (`toVisit`). */
  readonly next: LastLint = { keyIds: [], busy: [], facts: [], definesDigest: 0, scopesKeys: [] };
  /** By facts mask: the positions of the statements whose key number changed since the last lint (`toVisit`). */
  private readonly changed: (number[] | null)[] = [];

  constructor(
    readonly root: PyNode,
    readonly index: StatementIndex,
    before: KeptStatements | undefined,
    private readonly last?: LastLint,
  ) {
    for (const node of root.children) {
      if (!node.named && !node.hasError) continue;
      const s = new Statement(node, index.statementPart(this.list.length));
      if (node.hasError) {
        s.facts = s.computeFacts();
      } else {
        const text = stableText(node);
        s.kept = this.after.get(text) ?? before?.get(text) ?? { ...s.computeFacts(), rules: [], candidates: [], keys: [] };
        s.facts = s.kept;
        this.after.set(text, s.kept);
      }
      this.list.push(s);
      this.next.facts.push(s.kept);
    }
    this.next.definesDigest = this.definesDigest();
    this.next.scopesKeys = this.scopesKeys;
  }

  /**
   * A digest of every statement's module-level bindings (names, value hashes, names read) in order: when it is the
   * last lint's, a statement with the same kept facts at the same position sees the same scopes (`scopesSeenFrom`).
   */
  private definesDigest(): number {
    let h = mix(0, this.list.length);
    for (const s of this.list) {
      let d = s.kept?.definesDigest;
      if (d === undefined) {
        d = 7;
        for (const [name, v] of s.facts.defines) {
          d = mix(mix(d, hash(name)), v.hash);
          for (const r of v.reads) d = mix(d, hash(r));
        }
        if (s.kept) s.kept.definesDigest = d;
      }
      h = mix(h, d);
    }
    return h;
  }

  private positions?: Map<PyNode, number>;

  /** The facts of the top-level statement holding `node`, for `Analysis.perStatement` (undefined: syntax error). */
  readonly factsOf = (node: PyNode): StatementFacts | undefined => {
    const top = topStatementOf(node);
    if (!this.positions) {
      this.positions = new Map();
      this.list.forEach((s, i) => this.positions!.set(s.node, i));
    }
    const i = this.positions.get(top);
    const kept = i === undefined ? undefined : this.list[i]!.kept;
    return kept ? { top, kept, key: this.keyIdOf(factsMask(['imports', 'scopes']), i!) } : undefined;
  };

  /**
   * The positions of the statements a rule (its slot, its facts mask) must look at on this lint, in order; null for
   * all of them. A statement with the same key number as at the same position on the last lint is the same text under
   * the same facts: if the rule kept an empty result there then (it was not busy), that result still holds.
   */
  toVisit(slot: number, mask: number): number[] | null {
    const busy = this.last?.busy[slot];
    const changed = busy && this.changedSince(mask);
    return busy && changed ? mergeSorted(busy, changed) : null;
  }

  /** Records the statements a rule was busy with on this lint (see `LastLint.busy`), once it ran over all it had to. */
  ranOver(slot: number, mask: number, busy: number[]): void {
    this.next.busy[slot] = busy;
    this.next.keyIds[mask] = this.allKeyIds(mask);
  }

  /** The positions whose key number differs from the last lint's; null when the last lint's do not line up. */
  private changedSince(mask: number): number[] | null {
    let changed = this.changed[mask];
    if (changed === undefined) {
      const before = this.last?.keyIds[mask];
      const ids = this.allKeyIds(mask);
      changed = null;
      if (before && before.length === ids.length) {
        changed = [];
        for (let i = 0; i < ids.length; i++) if (ids[i] !== before[i]) changed.push(i);
      }
      this.changed[mask] = changed;
    }
    return changed;
  }

  private allKeyIds(mask: number): number[] {
    for (let i = 0; i < this.list.length; i++) this.keyIdOf(mask, i);
    return this.keyIds[mask]!;
  }

  /** Whether any statement binds the name (what `Scopes.isBoundAnywhere` answers, without the file's Scopes). */
  readonly isBoundAnywhere = (name: string): boolean => this.list.some((s) => s.facts.bound.has(name));

  /**
   * The key of a set of facts (`factsMask`) for the statement at position `i`, as a number: its parts are the keys of
   * the imports, the scopes seen from the statement and the classes, and the number stands for them so that the many
   * rules that compare a statement's key on every lint compare numbers. The statement's text keeps the number while
   * the parts stay the same from lint to lint; other parts get a new number (never one used before), so equal numbers
   * mean equal keys.
   */
  keyIdOf(mask: number, i: number): number {
    const ids = (this.keyIds[mask] ??= []);
    let id = ids[i];
    if (id === undefined) {
      const imports = mask & 1 ? this.imports() : '';
      const scopes = mask & 2 ? this.scopesSeenFrom(i) : '';
      const classes = mask & 4 ? this.classes() : '';
      const kept = this.list[i]!.kept;
      const last = kept?.keys[mask];
      if (last && last.imports === imports && last.scopes === scopes && last.classes === classes) id = last.id;
      else {
        id = ++lastKeyId;
        if (kept) kept.keys[mask] = { imports, scopes, classes, id };
      }
      ids[i] = id;
    }
    return id;
  }

  /** The names of the file's classes (what `Analysis.definesClass` answers). */
  classes(): string {
    if (this.classesKey === undefined) {
      // A sum of the names' hashes: the same for the same names in any order, each statement's part kept with it.
      let sum = 0;
      let count = 0;
      for (const s of this.list) {
        let h = s.kept?.classesHash;
        if (h === undefined) {
          h = 0;
          for (const name of s.facts.classes) h = (h + mix(0, hash(name))) >>> 0;
          if (s.kept) s.kept.classesHash = h;
        }
        sum = (sum + h) >>> 0;
        count += s.facts.classes.length;
      }
      this.classesKey = `c${sum.toString(36)}.${count};`;
    }
    return this.classesKey;
  }

  /** The imports' text and, for each name an import or convention could resolve, whether the file rebinds it. */
  imports(): string {
    if (this.importsKey === undefined) {
      const nodes = [...this.index.of('import_statement'), ...this.index.of('import_from_statement')];
      let text = nodes.map((n) => n.text).join('\n');
      const imports = new Imports(nodes, () => false);
      const names = new Set([...imports.aliases.keys(), ...CONVENTIONAL_NAMES, ...imports.starNames()]);
      for (const n of [...names].sort()) if (this.isBoundAnywhere(n)) text += `\n${n}`;
      this.importsKey = `i${hash(text).toString(36)}.${text.length};`;
    }
    return this.importsKey;
  }

  /**
   * What `valueAt` can return to code inside statement i from other statements: for each name a lookup there can take
   * to the module level, and each name their values hold in turn, the bindings of other statements, each marked as
   * before or after statement i. Names no other statement binds add nothing, so an edit that changes the bindings of
   * names statement i never looks up (a broken `def` turning its body into module-level code) leaves its key alone.
   */
  private scopesSeenFrom(i: number): string {
    const keys = this.scopesKeys;
    const cached = keys[i];
    if (cached !== undefined) return cached;
    // Same bindings everywhere as on the last lint, and the same statement here: the same key (most edits).
    const last = this.last;
    const lastKey = last?.scopesKeys[i];
    if (lastKey !== undefined && last!.facts[i] === this.list[i]!.kept && this.list[i]!.kept && last!.definesDigest === this.next.definesDigest) {
      return (keys[i] = lastKey);
    }
    const definers = this.definersOfNames();
    const list = this.list;
    const seen = new Set<string>();
    const stack: string[] = [];
    // Each name's part is mixed on its own and the parts summed, so the key does not depend on the order of the walk.
    let sum = 0;
    let count = 0;
    const reach = (name: string) => {
      const at = definers.get(name);
      if (!at || seen.has(name)) return; // most free names (builtins, imports, parameters of other scopes) stop here
      seen.add(name);
      stack.push(name);
    };
    for (const name of list[i]!.facts.free) reach(name);
    while (stack.length) {
      const name = stack.pop()!;
      let h = 0;
      for (const j of definers.get(name)!) {
        if (j === i) continue;
        const d = list[j]!.facts.defines.get(name)!;
        h = mix(mix(h, j < i ? 1 : 2), d.hash);
        for (const r of d.reads) reach(r);
      }
      if (h === 0) continue; // bound only here: part of this statement's text
      sum = (sum + mix(h, hash(name))) >>> 0;
      count++;
    }
    return (keys[i] = `s${sum.toString(36)}.${count};`);
  }

  private definersOfNames(): Map<string, number[]> {
    if (!this.definers) {
      const m = new Map<string, number[]>();
      this.list.forEach((s, j) => {
        for (const name of s.facts.defines.keys()) {
          const list = m.get(name);
          if (list) list.push(j);
          else m.set(name, [j]);
        }
      });
      this.definers = m;
    }
    return this.definers;
  }
}

/** The union of two ascending lists of numbers, ascending, without repeats. */
function mergeSorted(a: readonly number[], b: readonly number[]): number[] {
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const x = j >= b.length || (i < a.length && a[i]! <= b[j]!) ? a[i++]! : b[j++]!;
    if (out.length === 0 || out[out.length - 1] !== x) out.push(x);
  }
  return out;
}

/** A set of facts as a bit mask: imports 1, scopes 2, classes 4. */
export function factsMask(facts: readonly LocalFact[]): number {
  return (facts.includes('imports') ? 1 : 0) | (facts.includes('scopes') ? 2 : 0) | (facts.includes('classes') ? 4 : 0);
}

/** Folds a 32-bit value into a running FNV-1a hash, a byte at a time. */
function mix(h: number, x: number): number {
  h = h || 0x811c9dc5;
  for (let k = 0; k < 32; k += 8) h = Math.imul(h ^ ((x >>> k) & 0xff), 0x01000193);
  return h >>> 0;
}

/** FNV-1a over UTF-16 code units. */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
