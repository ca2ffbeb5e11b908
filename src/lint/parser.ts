// Python parsing with web-tree-sitter, materialised into plain JS nodes (`PyNode`) that rules read without
// crossing into wasm. Init is async and happens once; parsing is synchronous afterwards. Edits re-parse
// incrementally and reuse the JS nodes of every subtree tree-sitter reused.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type * as TreeSitter from 'web-tree-sitter';
import { pieceStarts } from './chunks';

/** web-tree-sitter's JS, loaded on first use so that evaluating it (about 8 ms) stays out of extension activation. */
let treeSitterModule: typeof TreeSitter | undefined;
function treeSitter(): typeof TreeSitter {
  // The CommonJS entry through require(): esbuild's CJS output breaks the ESM entry (import.meta.url), see
  // notes/offline-toolchain.md §3.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  treeSitterModule ??= require('web-tree-sitter') as typeof TreeSitter;
  return treeSitterModule;
}

type Tree = TreeSitter.Tree;

const RUNTIME_WASM = 'web-tree-sitter.wasm';
const PYTHON_WASM = 'tree-sitter-python.wasm';

/** The shared source text of a document; nodes keep a reference so reused nodes see the latest text. */
export interface SourceRef {
  text: string;
}

/**
 * What analysis helpers remember about a node. `qname`/`callee` are valid only for the analysis numbered
 * `qnameOwner`/`calleeOwner` (a number, not the Analysis, so a node kept across edits does not keep an old analysis
 * alive); `calleeName` (null: none) stays valid across edits, since a kept node has the same subtree.
 */
export interface NodeMemo {
  qnameOwner: number;
  qname: string | undefined;
  calleeOwner: number;
  callee: string | undefined;
  calleeName: string | null | undefined;
}

/**
 * The children of every leaf: one shared empty array instead of one per token (less garbage). Never pushed to:
 * `materialize` gives a node its own array before adding children. Made from a one-element array so it has the
 * same elements kind as every other children array (a frozen or empty-literal array would make every access to
 * `children` polymorphic).
 */
const NO_CHILDREN: PyNode[] = [null as unknown as PyNode];
NO_CHILDREN.pop();

export class PyNode {
  parent: PyNode | null = null;
  children: PyNode[] = NO_CHILDREN;
  /** True when this node is, or contains, an ERROR or MISSING node. */
  hasError = false;
  /**
   * Memos of the analysis helpers (`Analysis.qname` / `callee`, `calleeName`), allocated on first use: one field
   * instead of five keeps the many nodes that never need them small.
   */
  memo: NodeMemo | undefined = undefined;
  constructor(
    readonly type: string,
    readonly named: boolean,
    public field: string | null,
    public start: number,
    public end: number,
    /** tree-sitter's node id (address of its slot); the key for reuse after an incremental parse. */
    public id: number,
    readonly src: SourceRef,
  ) {}

  get text(): string {
    return this.src.text.slice(this.start, this.end);
  }

  /** First child in the given grammar field (`function`, `arguments`, `left`, `body`, ...). */
  child(field: string): PyNode | undefined {
    const ch = this.children;
    for (let i = 0; i < ch.length; i++) if (ch[i]!.field === field) return ch[i];
    return undefined;
  }

  childrenOf(field: string): PyNode[] {
    return this.children.filter((c) => c.field === field);
  }

  get namedChildren(): PyNode[] {
    return this.children.filter((c) => c.named);
  }

  /** Nearest ancestor of one of the given types. */
  ancestor(...types: string[]): PyNode | undefined {
    for (let p = this.parent; p; p = p.parent) if (types.includes(p.type)) return p;
    return undefined;
  }

  /** Pre-order walk of this subtree (ERROR subtrees included); return false from `fn` to skip a node's children. */
  walk(fn: (n: PyNode) => boolean | void): void {
    const stack: PyNode[] = [this];
    while (stack.length) {
      const n = stack.pop()!;
      if (fn(n) === false) continue;
      for (let i = n.children.length - 1; i >= 0; i--) stack.push(n.children[i]!);
    }
  }
}

interface Runtime {
  parser: TreeSitter.Parser;
  types: string[];
  fields: (string | null)[];
  named: boolean[];
  /** The emscripten module: the object handed to Parser.init becomes it. Used for direct cursor calls. */
  module: Record<string, unknown>;
}

let runtime: Runtime | undefined;
let initializing: Promise<void> | undefined;

export interface InitOptions {
  /** Folder holding both .wasm files; default: next to the bundle, then node_modules. */
  wasmDir?: string;
}

/** The internalised copy of a string (property keys are internalised; literals in code are too). */
function intern(s: string): string {
  return Object.keys({ [s]: 0 })[0] ?? s;
}

function locate(file: string, wasmDir?: string): string {
  const candidates: string[] = [];
  if (wasmDir) candidates.push(join(wasmDir, file));
  candidates.push(join(__dirname, file), join(__dirname, '..', file));
  try {
    // Unbundled (unit tests under tsx): the files inside their packages.
    candidates.push(require.resolve(`${file === RUNTIME_WASM ? 'web-tree-sitter' : 'tree-sitter-python'}/${file}`));
  } catch {
    // not installed here: a bundle ships the files next to itself
  }
  const found = candidates.find((c) => existsSync(c));
  if (!found) throw new Error(`Descent lint: cannot find ${file} (looked in ${candidates.join(', ')})`);
  return found;
}

/** Loads the wasm runtime and the Python grammar. Safe to call many times; only the first call works. */
export function initParser(options: InitOptions = {}): Promise<void> {
  initializing ??= (async () => {
    const moduleOptions: Record<string, unknown> = {
      locateFile: (f: string) => (f.endsWith('.wasm') ? locate(RUNTIME_WASM, options.wasmDir) : f),
    };
    const ts = treeSitter();
    await ts.Parser.init(moduleOptions);
    const language = await ts.Language.load(locate(PYTHON_WASM, options.wasmDir));
    const parser = new ts.Parser();
    parser.setLanguage(language);
    const named: boolean[] = [];
    for (let i = 0; i < language.nodeTypeCount; i++) named.push(language.nodeTypeIsNamed(i));
    // Interned so that `node.type === 'call'` and field lookups compare pointers: the names come out of wasm
    // memory as fresh strings, and V8 compares those with literals character by character.
    const types = language.types.map((t) => (typeof t === 'string' ? intern(t) : t));
    const fields = language.fields.map((f) => (f === null ? null : intern(f)));
    runtime = { parser, types, fields, named, module: moduleOptions };
  })();
  return initializing;
}

export function isParserReady(): boolean {
  return runtime !== undefined;
}

/** Bytes of the wasm linear memory (it only grows): for memory measurements (bench/lint). 0 before init. */
export function wasmMemoryBytes(): number {
  const heap = runtime?.module.HEAP8 as Int8Array | undefined;
  return heap?.buffer.byteLength ?? 0;
}

function rt(): Runtime {
  if (!runtime) throw new Error('Descent lint: call initParser() (async, once) before parsing');
  return runtime;
}

/** Cursor moves and reads over the current node. Calls wasm exports directly when available (3x faster). */
interface CursorOps {
  first(): boolean;
  next(): boolean;
  up(): void;
  typeId(): number;
  fieldId(): number;
  start(): number;
  end(): number;
  nodeId(): number;
  done(): void;
}

type WasmFn = (tree: number) => number;

/** `base`: where the parsed text starts in the document (a piece's offset), added to every offset read. */
function cursorOps(tree: Tree, base: number): CursorOps {
  const m = rt().module;
  const cursor = tree.walk();
  const fn = (name: string) => m[`_ts_tree_cursor_${name}_wasm`] as WasmFn | undefined;
  const names = ['goto_first_child', 'goto_next_sibling', 'goto_parent', 'current_node_type_id', 'current_field_id', 'start_index', 'end_index', 'current_node_id'];
  const fns = names.map(fn);
  const ptr = (tree as unknown as Record<number, unknown>)[0];
  if (fns.every((f) => typeof f === 'function') && typeof ptr === 'number') {
    // The wasm side keeps the cursor in its transfer buffer between calls; one public read puts it there.
    void cursor.nodeTypeId;
    const [first, next, up, typeId, fieldId, start, end, nodeId] = fns as WasmFn[];
    return {
      first: () => first!(ptr) === 1,
      next: () => next!(ptr) === 1,
      up: () => void up!(ptr),
      typeId: () => typeId!(ptr),
      fieldId: () => fieldId!(ptr),
      start: () => start!(ptr) + base,
      end: () => end!(ptr) + base,
      nodeId: () => nodeId!(ptr),
      done: () => cursor.delete(),
    };
  }
  return {
    first: () => cursor.gotoFirstChild(),
    next: () => cursor.gotoNextSibling(),
    up: () => void cursor.gotoParent(),
    typeId: () => cursor.nodeTypeId,
    fieldId: () => cursor.currentFieldId,
    start: () => cursor.startIndex + base,
    end: () => cursor.endIndex + base,
    nodeId: () => cursor.nodeId,
    done: () => cursor.delete(),
  };
}

let leafTypes: boolean[] | undefined;

/**
 * Type ids of anonymous tokens that are always leaves (`(`, `,`, `def`, `+=`...). Multi-word tokens (`is not`,
 * `not in`) hold their words as children, so they are walked like other nodes.
 */
function anonymousLeaves(): boolean[] {
  if (!leafTypes) {
    const { types, named } = rt();
    leafTypes = types.map((t, i) => !named[i] && !!t && !t.includes(' ') && t !== 'ERROR');
  }
  return leafTypes;
}

/** Moves a reused subtree to its new offsets (a tight loop: it runs over everything after an edit). */
function shift(node: PyNode, delta: number): void {
  node.start += delta;
  node.end += delta;
  // Only inner nodes go on the stack: about half the nodes are leaves, moved in place.
  const stack: PyNode[] = [node];
  let n: PyNode | undefined;
  while ((n = stack.pop())) {
    const ch = n.children;
    for (let i = 0; i < ch.length; i++) {
      const c = ch[i]!;
      c.start += delta;
      c.end += delta;
      if (c.children.length !== 0) stack.push(c);
    }
  }
}

/** A range of the document: [start, end). */
interface Span {
  start: number;
  end: number;
}

/** One edit in offsets: [start, oldEnd) of the old text became [start, newEnd) of the new one. */
interface EditSpan {
  start: number;
  oldEnd: number;
  newEnd: number;
}

/**
 * Builds the PyNode tree for `tree`. Nodes whose tree-sitter id is in `reuse` (from the previous tree, still
 * alive) are subtrees tree-sitter reused unchanged: their PyNodes are kept, shifted to their new offsets. With the
 * previous root and the edit, a node tree-sitter rebuilt is paired with the old node of its type at the same place
 * (offsets mapped through the edit) and that old node is put back when nothing inside it changed (`adopt`).
 */
function materialize(
  tree: Tree,
  span: Span,
  src: SourceRef,
  reuse: Map<number, PyNode> | null,
  ids: Map<number, PyNode> | null,
  reused: Set<PyNode> | null,
  previous?: { root: PyNode; text: string; edit: EditSpan },
): PyNode {
  const { types, fields, named } = rt();
  const c = cursorOps(tree, span.start);
  const rootType = types[c.typeId()] ?? 'ERROR';
  const root = new PyNode(rootType, true, null, span.start, span.end, c.nodeId(), src);
  ids?.set(root.id, root);
  const stringId = types.indexOf('string');
  const leaf = anonymousLeaves();
  const edit = previous?.edit;
  const delta = edit ? edit.newEnd - edit.oldEnd : 0;

  // Where the next search of `pair` starts in the counterpart's children: siblings are paired in order, so the next
  // one is usually right after the last match.
  let hint = 0;
  /** The old child of `counterpart` that a new node of `type` starting at `start` stands for, if any. */
  const pair = (counterpart: PyNode | undefined, type: string, start: number): PyNode | undefined => {
    if (!counterpart || !edit) return undefined;
    const old = start < edit.start ? start : start >= edit.newEnd ? start - delta : -1;
    if (old < 0) return undefined;
    const ch = counterpart.children;
    const n = ch.length;
    for (let k = 0; k < n; k++) {
      const i = (hint + k) % n;
      const x = ch[i]!;
      if (x.start === old && x.type === type && !reused!.has(x)) {
        hint = i + 1;
        return x;
      }
    }
    return undefined;
  };

  const visit = (parent: PyNode, counterpart: PyNode | undefined): boolean => {
    if (!c.first()) return false;
    parent.children = [];
    do {
      const tid = c.typeId();
      if (leaf[tid]) {
        // A punctuation or keyword token: a leaf, never worth reusing (cheaper to rebuild than to look up).
        const node = new PyNode(types[tid]!, false, null, c.start(), c.end(), 0, src);
        node.parent = parent;
        parent.children.push(node);
        if (node.start === node.end) node.hasError = parent.hasError = true;
        continue;
      }
      const id = ids ? c.nodeId() : 0;
      const old = reuse?.get(id);
      const isNamed = named[tid] ?? true;
      const type = types[tid] || 'ERROR';
      if (old && old.type === type) {
        const start = c.start();
        if (old.end - old.start === c.end() - start) {
          if (old.start !== start) shift(old, start - old.start);
          old.parent = parent;
          old.field = isNamed ? (fields[c.fieldId()] ?? null) : null;
          parent.children.push(old);
          if (old.hasError) parent.hasError = true;
          reused!.add(old);
          continue;
        }
      }
      const node = new PyNode(type, isNamed, isNamed ? (fields[c.fieldId()] ?? null) : null, 0, 0, id, src);
      node.parent = parent;
      parent.children.push(node);
      ids?.set(id, node);
      const was = type !== 'ERROR' ? pair(counterpart, type, c.start()) : undefined;
      const siblingHint = hint;
      hint = 0;
      // Strings are read as text; their inner tokens are not needed and are many.
      const inner = tid !== stringId && visit(node, was);
      hint = siblingHint;
      if (inner) {
        if (was && adopt(was, node, previous!.text, ids!, reused!)) {
          if (was.hasError) parent.hasError = true;
          continue;
        }
      } else {
        // A token (name, number, string): the parent's `adopt` compares its text with the old one's.
        node.start = c.start();
        node.end = c.end();
        // A zero-width leaf is a MISSING token inserted by error recovery.
        if (node.start === node.end) node.hasError = true;
      }
      if (type === 'ERROR') node.hasError = true;
      if (node.hasError) parent.hasError = true;
    } while (c.next());
    c.up();
    const ch = parent.children;
    parent.start = ch[0]!.start;
    parent.end = ch[ch.length - 1]!.end;
    return true;
  };
  visit(root, previous?.root);
  c.done();
  root.start = span.start;
  root.end = span.end;
  if (rootType === 'ERROR') root.hasError = true;
  return root;
}

/**
 * Puts an old node back in place of `node`, a new node of the same shape (tree-sitter rebuilt it around reused insides,
 * as it does most top-level statements after an edit): the old node keeps its identity, so caches keyed on it (per
 * statement, per class) stay valid. Same shape: each child is the old one (reused or put back), or a token of the same
 * type and text (tree-sitter re-lexes names next to rebuilt nodes); the old tokens are kept too, moved. False when not.
 */
function adopt(old: PyNode, node: PyNode, oldText: string, ids: Map<number, PyNode>, reused: Set<PyNode>): boolean {
  const a = old.children;
  const b = node.children;
  if (old.type !== node.type || a.length !== b.length || reused.has(old)) return false;
  const text = node.src.text;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x === y) continue;
    const w = y.end - y.start;
    if (x.type !== y.type || x.children.length || y.children.length || x.end - x.start !== w || x.hasError !== y.hasError) return false;
    // A named token (name, number, string) must have the same text; an anonymous one is its type.
    if (x.named && !sameText(oldText, x.start, text, y.start, w)) return false;
  }
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    x.parent = old;
    if (x === y) continue;
    x.start = y.start;
    x.end = y.end;
    x.field = y.field;
    x.hasError = y.hasError;
    if (x.named) moveId(x, y.id, ids);
  }
  stableTexts.delete(old);
  old.parent = node.parent;
  old.field = node.field;
  old.start = node.start;
  old.end = node.end;
  old.hasError = node.hasError;
  moveId(old, node.id, ids);
  reused.add(old);
  const siblings = node.parent!.children;
  siblings[siblings.length - 1] = old;
  return true;
}

/**
 * A node's text as the same string object while the node keeps it (V8 keeps a string's hash, so the editor's re-lint
 * looks top-level statements up by text without hashing the whole file each time). A node keeps its text while it
 * is kept, except one `adopt` puts back: its whitespace inside may differ, so adopting forgets it.
 */
export function stableText(node: PyNode): string {
  let text = stableTexts.get(node);
  if (text === undefined) {
    // A copy, not a slice: a slice would keep this version of the whole source alive as long as the node.
    text = (node.text + ' ').slice(0, -1);
    stableTexts.set(node, text);
  }
  return text;
}

const stableTexts = new WeakMap<PyNode, string>();

/** Gives an old node the id of the new node it stands for (its old id is in no live tree: forget it). */
function moveId(n: PyNode, id: number, ids: Map<number, PyNode>): void {
  if (ids.get(n.id) === n) ids.delete(n.id);
  n.id = id;
  ids.set(id, n);
}

function sameText(a: string, i: number, b: string, j: number, length: number): boolean {
  for (let k = 0; k < length; k++) if (a.charCodeAt(i + k) !== b.charCodeAt(j + k)) return false;
  return true;
}

/** Line starts of a text, for offset <-> (line, column) conversion (0-based, UTF-16 columns like VS Code). */
export class LineIndex {
  readonly starts: number[] = [0];
  constructor(readonly text: string) {
    for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) this.starts.push(i + 1);
  }
  position(offset: number): { line: number; column: number } {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo, column: offset - this.starts[lo]! };
  }
  offset(line: number, column: number): number {
    const s = this.starts[Math.min(line, this.starts.length - 1)] ?? 0;
    return s + column;
  }
  /** Leading whitespace of the line holding `offset`. */
  indentAt(offset: number): string {
    const s = this.starts[this.position(offset).line]!;
    return /^[ \t]*/.exec(this.text.slice(s, s + 200))![0];
  }
}

/** A piece of the document (chunks.ts) parsed on its own: its tree (offsets from `start`) and its nodes. */
interface Piece {
  start: number;
  end: number;
  /** null once materialised in a one-shot parse (nothing will re-parse it). */
  tree: Tree | null;
  root: PyNode;
}

/**
 * A parsed Python document that can be edited in place. The text is parsed in pieces (chunks.ts): an edit re-parses
 * the piece that holds it, incrementally, and `root` is rebuilt from the pieces, reusing the PyNodes of unchanged
 * subtrees. Call `dispose()` when the document closes (frees wasm memory).
 */
export class ParsedDocument {
  private pieces: Piece[];
  private readonly src: SourceRef;
  private readonly ids = new Map<number, PyNode>();
  private lineIndex: LineIndex | undefined;
  root: PyNode;
  /** Bumped on each change; caches keyed on the document check it. */
  version = 0;

  /** `incremental: false` for a one-shot parse: node ids are not tracked (a little faster), edits re-parse fully. */
  constructor(
    source: string,
    readonly incremental = true,
  ) {
    this.src = { text: source };
    this.pieces = this.parseAll();
    this.root = this.join();
  }

  get source(): string {
    return this.src.text;
  }

  get lines(): LineIndex {
    this.lineIndex ??= new LineIndex(this.src.text);
    return this.lineIndex;
  }

  /** Replaces [startIndex, oldEndIndex) (UTF-16 offsets in the current source) with newText, re-parsing incrementally. */
  applyEdit(startIndex: number, oldEndIndex: number, newText: string): void {
    const old = this.src.text;
    if (!this.incremental) return this.setText(old.slice(0, startIndex) + newText + old.slice(oldEndIndex));
    if (startIndex < 0 || oldEndIndex < startIndex || oldEndIndex > old.length) throw new RangeError('Descent lint: edit outside the document');
    const oldLines = this.lines;
    const edit = { start: startIndex, oldEnd: oldEndIndex, newEnd: startIndex + newText.length };
    const delta = edit.newEnd - edit.oldEnd;
    this.src.text = old.slice(0, startIndex) + newText + old.slice(oldEndIndex);
    this.lineIndex = undefined;
    const pieces = this.pieces;
    // The first piece whose start the edit may change: the one holding it, or the one above when the edit is on the
    // first line (`class` -> `.class` joins the two).
    let first = pieceAt(pieces, startIndex);
    const newline = old.indexOf('\n', pieces[first]!.start);
    if (first > 0 && (newline === -1 || newline >= startIndex)) first--;
    // Scan the new text for piece starts until one is an old start past the edit: from there on nothing changed.
    const from = pieces[first]!.start;
    let kept = pieces.length;
    const starts = [from, ...pieceStarts(this.src.text, from, (at) => {
      if (at < edit.newEnd) return true;
      const k = pieceStartingAt(pieces, at - delta);
      if (k < 0) return true;
      kept = k;
      return false;
    })];
    const end = kept < pieces.length ? pieces[kept]!.start + delta : this.src.text.length;
    if (kept < pieces.length) starts.pop();
    const replaced = pieces.slice(first, kept);
    const used = new Set<Piece>();
    const fresh: Piece[] = [];
    for (let k = 0; k < starts.length; k++) {
      const span = { start: starts[k]!, end: starts[k + 1] ?? end };
      fresh.push(this.update(span, replaced, used, edit, old, oldLines));
    }
    for (const p of replaced) if (!used.has(p)) this.drop(p);
    for (let k = kept; k < pieces.length; k++) movePiece(pieces[k]!, delta);
    this.pieces = [...pieces.slice(0, first), ...fresh, ...pieces.slice(kept)];
    this.root = this.join();
    this.version++;
  }

  /** Replaces the whole text (no edit information): a full parse. */
  setText(source: string): void {
    for (const p of this.pieces) this.drop(p);
    this.src.text = source;
    this.lineIndex = undefined;
    this.pieces = this.parseAll();
    this.root = this.join();
    this.version++;
  }

  dispose(): void {
    for (const p of this.pieces) p.tree?.delete();
    this.pieces = [];
    this.ids.clear();
  }

  private parseAll(): Piece[] {
    const text = this.src.text;
    if (!this.incremental) {
      // One-shot (the CLI): a file without syntax errors parses to the same tree whole as by pieces, and once is
      // cheaper than one parse per piece; with an error, pieces, so error recovery ends where the editor's does.
      const tree = parseTree(text, null);
      if (!tree.rootNode.hasError) {
        const root = materialize(tree, { start: 0, end: text.length }, this.src, null, null, null);
        tree.delete();
        return [{ start: 0, end: text.length, tree: null, root }];
      }
      tree.delete();
    }
    const starts = [0, ...pieceStarts(text)];
    return starts.map((start, k) => this.parsePiece({ start, end: starts[k + 1] ?? text.length }));
  }

  private parsePiece(span: Span): Piece {
    const tree = parseTree(this.src.text.slice(span.start, span.end), null);
    const root = materialize(tree, span, this.src, null, this.incremental ? this.ids : null, null);
    if (this.incremental) return { ...span, tree, root };
    tree.delete();
    return { ...span, tree: null, root };
  }

  /**
   * The piece for `span` of the new text: an old piece whose text the edit did not touch (moved), the old piece that
   * held the edit re-parsed incrementally, or a new parse when the edit moved piece starts.
   */
  private update(span: Span, replaced: Piece[], used: Set<Piece>, edit: EditSpan, oldText: string, oldLines: LineIndex): Piece {
    const delta = edit.newEnd - edit.oldEnd;
    const above = replaced.find((p) => p.end <= edit.start && p.start === span.start && p.end === span.end);
    if (above) {
      used.add(above);
      return above;
    }
    const below = replaced.find((p) => p.start >= edit.oldEnd && p.start + delta === span.start && p.end + delta === span.end);
    if (below) {
      used.add(below);
      movePiece(below, delta);
      return below;
    }
    const old = replaced.find((p) => p.start === span.start && p.start <= edit.start && p.end >= edit.oldEnd && p.end + delta === span.end);
    if (!old?.tree) return this.parsePiece(span);
    const row = oldLines.position(old.start).line;
    const point = (at: number) => {
      const p = oldLines.position(at);
      return { row: p.line - row, column: p.column };
    };
    const startPosition = point(edit.start);
    const inserted = this.src.text.slice(edit.start, edit.newEnd);
    const nl = inserted.lastIndexOf('\n');
    const newEndPosition =
      nl === -1
        ? { row: startPosition.row, column: startPosition.column + inserted.length }
        : { row: startPosition.row + inserted.split('\n').length - 1, column: inserted.length - nl - 1 };
    const base = old.start;
    old.tree.edit(
      new (treeSitter().Edit)({
        startIndex: edit.start - base,
        oldEndIndex: edit.oldEnd - base,
        newEndIndex: edit.newEnd - base,
        startPosition,
        oldEndPosition: point(edit.oldEnd),
        newEndPosition,
      }),
    );
    const tree = parseTree(this.src.text.slice(span.start, span.end), old.tree);
    if (tree.rootNode.hasError) {
      // Error recovery can end differently when it starts from an old tree: a piece with an error is parsed afresh,
      // so the editor's tree is always the one a fresh parse of the same text gives (and the CLI lints).
      tree.delete();
      return this.parsePiece(span);
    }
    used.add(old);
    const reused = new Set<PyNode>();
    // New ids are added to the same map: an id can't repeat while the old tree (owner of the old ids) is alive.
    const root = materialize(tree, span, this.src, this.ids, this.ids, reused, { root: old.root, text: oldText, edit });
    // Forget the ids of old nodes that were not reused, before their memory can be handed out again.
    this.forget(old.root, reused);
    old.tree.delete();
    return { ...span, tree, root };
  }

  /** Frees a piece no longer in the document. */
  private drop(piece: Piece): void {
    this.forget(piece.root, null);
    piece.tree?.delete();
  }

  private forget(root: PyNode, reused: Set<PyNode> | null): void {
    if (!this.incremental) return;
    root.walk((n) => {
      if (reused?.has(n)) return false;
      if (this.ids.get(n.id) === n) this.ids.delete(n.id);
    });
  }

  /** The document's root: the pieces' top-level statements under one module node. */
  private join(): PyNode {
    const root = new PyNode('module', true, null, 0, this.src.text.length, 0, this.src);
    const children: PyNode[] = [];
    for (const p of this.pieces) {
      // A piece tree-sitter could not parse as a module at all is one ERROR statement.
      const top = p.root.type === 'module' ? p.root.children : [p.root];
      for (const c of top) {
        c.parent = root;
        children.push(c);
      }
      if (p.root.hasError) root.hasError = true;
    }
    if (children.length) root.children = children;
    return root;
  }
}

/** Index of the piece holding offset `at` (the last piece for the end of the text). */
function pieceAt(pieces: Piece[], at: number): number {
  let lo = 0;
  let hi = pieces.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (pieces[mid]!.start <= at) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Index of the piece that starts at `at`, or -1. */
function pieceStartingAt(pieces: Piece[], at: number): number {
  const k = pieceAt(pieces, at);
  return pieces[k]!.start === at ? k : -1;
}

/** Moves an unchanged piece by `delta` (an edit above it). */
function movePiece(piece: Piece, delta: number): void {
  if (delta === 0) return;
  piece.start += delta;
  piece.end += delta;
  shift(piece.root, delta);
}

function parseTree(source: string, oldTree: Tree | null): Tree {
  const tree = rt().parser.parse(source, oldTree);
  if (!tree) throw new Error('Descent lint: tree-sitter returned no tree');
  return tree;
}

/** One-shot parse (no incremental state kept). */
export function parseSource(source: string): ParsedDocument {
  return new ParsedDocument(source, false);
}
