import { hasKeywordSplat, hasParameter, keywordArg, positionalArgs, unparen, type Analysis, type ModuleClass } from '../../analysis';
import { batchFirstInput, type Batched } from '../../analysis/batched';
import { methodsOf } from '../../analysis/modules';
import type { PyNode } from '../../parser';
import type { Rule } from '../../types';

/** How a layer is sequence-first: 'absent' (PyTorch's default) or 'false' (batch_first=False written). */
type SeqFirst = 'absent' | 'false';
/** Also the mirror case: an RNN built with the literal batch_first=True, whose output is read sequence-first. */
type Why = SeqFirst | 'true';

/** A module known to take and return (seq, batch, features). */
interface Layout {
  /** 'rnn': LSTM/GRU/RNN; 'attention': MultiheadAttention and the transformer modules. */
  family: 'rnn' | 'attention';
  /** Returns a tuple whose first element is the output sequence (RNNs, MultiheadAttention), not the tensor itself. */
  tuple: boolean;
  why: Why;
  /** TransformerEncoder/Decoder: sequence-first through the layer it stacks. */
  viaLayer: boolean;
}

interface Spec {
  re: RegExp;
  family: Layout['family'];
  tuple: boolean;
  /** Positional arguments up to batch_first (more: batch_first, or an argument that decides the layout, is positional). */
  maxPositional: number;
}

const SPECS: Spec[] = [
  // LSTM/GRU/RNN(input_size, hidden_size, num_layers, bias, batch_first, ...)
  { re: /^torch\.nn\.(modules\.rnn\.)?(LSTM|GRU|RNN)$/, family: 'rnn', tuple: true, maxPositional: 4 },
  // MultiheadAttention(embed_dim, num_heads, dropout, bias, add_bias_kv, add_zero_attn, kdim, vdim, batch_first, ...)
  { re: /^torch\.nn\.(modules\.activation\.)?MultiheadAttention$/, family: 'attention', tuple: true, maxPositional: 8 },
  // TransformerEncoderLayer/DecoderLayer(d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps, batch_first, ...)
  { re: /^torch\.nn\.(modules\.transformer\.)?Transformer(Encoder|Decoder)Layer$/, family: 'attention', tuple: false, maxPositional: 6 },
  // Transformer(d_model, nhead, num_encoder_layers, num_decoder_layers, dim_feedforward, dropout, activation,
  // custom_encoder, custom_decoder, layer_norm_eps, batch_first, ...): a custom encoder/decoder has its own layout.
  { re: /^torch\.nn\.(modules\.transformer\.)?Transformer$/, family: 'attention', tuple: false, maxPositional: 7 },
];
/** TransformerEncoder(encoder_layer, num_layers, ...) / TransformerDecoder(decoder_layer, ...): the layer's layout. */
const STACK = /^torch\.nn\.(modules\.transformer\.)?Transformer(Encoder|Decoder)$/;
const LAYER = { Encoder: /^torch\.nn\.(modules\.transformer\.)?TransformerEncoderLayer$/, Decoder: /^torch\.nn\.(modules\.transformer\.)?TransformerDecoderLayer$/ };

/** batch_first of a call to a module of `spec`: sequence-first, or undefined (True, a variable, splats, unknown). */
function seqFirstArg(v: PyNode, spec: Spec): SeqFirst | undefined {
  if (hasKeywordSplat(v) || positionalArgs(v).length > spec.maxPositional) return undefined;
  for (const k of ['custom_encoder', 'custom_decoder']) {
    const c = keywordArg(v, k);
    if (c && unparen(c)?.text !== 'None') return undefined;
  }
  const bf = keywordArg(v, 'batch_first');
  if (!bf) return 'absent';
  return unparen(bf)?.text === 'False' ? 'false' : undefined; // True, or a variable: not known to be sequence-first
}

/** `nn.LSTM(..., batch_first=True)`: the literal keyword, no splats. */
function batchFirstTrue(v: PyNode): boolean {
  return !hasKeywordSplat(v) && unparen(keywordArg(v, 'batch_first'))?.text === 'True';
}

/**
 * The values a name can have in a function when every binding of it there is a plain `name = value` (not a
 * parameter, loop target, unpacking or with-as); undefined otherwise.
 */
function assignedValues(fn: PyNode, name: string): PyNode[] | undefined {
  if (hasParameter(fn, name)) return undefined;
  const binds = bindings(fn, name);
  const out: PyNode[] = [];
  for (const { node } of binds) {
    if (node.type !== 'assignment' || node.child('left')?.type !== 'identifier') return undefined;
    let value = node.child('right');
    while (value?.type === 'assignment') value = value.child('right');
    if (!value) return undefined;
    out.push(value);
  }
  return out.length ? out : undefined;
}

/**
 * The layout of the layer a TransformerEncoder/Decoder stacks: an inline `nn.TransformerEncoderLayer(...)`, a name
 * assigned in the same method, or `self.<attr>` of the class. Undefined when it cannot be resolved (a parameter).
 */
function stackedLayer(a: Analysis, cls: PyNode, call: PyNode, kind: 'Encoder' | 'Decoder'): SeqFirst | undefined {
  const arg = unparen(keywordArg(call, kind === 'Encoder' ? 'encoder_layer' : 'decoder_layer') ?? positionalArgs(call)[0]);
  let values: PyNode[] | undefined;
  if (arg?.type === 'call') values = [arg];
  else if (arg?.type === 'identifier') {
    const fn = call.ancestor('function_definition');
    values = fn && assignedValues(fn, arg.text);
  } else if (arg?.type === 'attribute' && arg.child('object')?.text === 'self') {
    values = a.scopes.selfAttr(cls, arg.child('attribute')?.text ?? '');
  }
  if (!values?.length) return undefined;
  let why: SeqFirst = 'absent';
  for (const value of values) {
    const v = unparen(value);
    if (v?.type !== 'call' || !LAYER[kind].test(a.callee(v) ?? '')) return undefined;
    const w = seqFirstArg(v, SPECS[2]!); // the TransformerEncoderLayer/DecoderLayer signature
    if (!w) return undefined;
    if (w === 'false') why = 'false';
  }
  return why;
}

function layoutOf(a: Analysis, cls: PyNode, value: PyNode | undefined): Layout | undefined {
  const v = unparen(value);
  if (v?.type !== 'call') return undefined;
  const callee = a.callee(v) ?? '';
  const spec = SPECS.find((s) => s.re.test(callee));
  if (spec) {
    const why = seqFirstArg(v, spec) ?? (spec.family === 'rnn' && batchFirstTrue(v) ? 'true' : undefined);
    return why && { family: spec.family, tuple: spec.tuple, why, viaLayer: false };
  }
  const stack = STACK.exec(callee);
  if (!stack) return undefined;
  const why = stackedLayer(a, cls, v, stack[2] as 'Encoder' | 'Decoder');
  return why && { family: 'attention', tuple: false, why, viaLayer: true };
}

/** Attributes of a module class holding a sequence-first module (every assignment of the attribute in the class). */
function seqFirstLayers(a: Analysis, m: ModuleClass): Map<string, Layout> {
  const out = new Map<string, Layout>();
  for (const attr of m.layers.keys()) {
    const layouts = a.scopes.selfAttr(m.node, attr).map((v) => layoutOf(a, m.node, v));
    const first = layouts[0];
    if (!first) continue;
    const batchFirst = first.why === 'true';
    if (!layouts.every((l) => l && l.family === first.family && l.tuple === first.tuple && l.viaLayer === first.viaLayer && (l.why === 'true') === batchFirst)) continue;
    out.set(attr, { ...first, why: batchFirst ? 'true' : layouts.some((l) => l!.why === 'false') ? 'false' : 'absent' });
  }
  return out;
}

const SCOPE_BREAK = new Set(['function_definition', 'lambda', 'class_definition']);

/** Walks a function body without entering nested functions, lambdas or classes. */
function walkBody(fn: PyNode, visit: (n: PyNode) => void): void {
  fn.child('body')?.walk((n) => {
    if (SCOPE_BREAK.has(n.type)) return false;
    visit(n);
  });
}

/** Whether a binding target (`out`, `out, _`, `(out, (h, c))`) binds `name`. */
function targetBinds(target: PyNode | undefined, name: string): boolean {
  let found = false;
  target?.walk((n) => {
    if (found || n.type === 'attribute' || n.type === 'subscript') return false;
    if (n.type === 'identifier' && n.text === name) found = true;
  });
  return found;
}

/** The places in a function where `name` gets a new value: node and the offset from which the value holds. */
function bindings(fn: PyNode, name: string): { node: PyNode; from: number }[] {
  const out: { node: PyNode; from: number }[] = [];
  walkBody(fn, (n) => {
    switch (n.type) {
      case 'assignment':
      case 'augmented_assignment':
        if (targetBinds(n.child('left'), name)) out.push({ node: n, from: n.end });
        break;
      case 'for_statement': {
        const left = n.child('left');
        if (left && targetBinds(left, name)) out.push({ node: n, from: left.end });
        break;
      }
      case 'as_pattern': {
        const alias = n.child('alias');
        if (alias && targetBinds(alias, name)) out.push({ node: n, from: alias.end });
        break;
      }
      case 'named_expression':
        if (n.child('name')?.text === name) out.push({ node: n, from: n.end });
        break;
    }
  });
  return out;
}

/** `x[:, -1]` / `x[:, 0]`, optionally with a third slice: the batch-first "last / first time step" idioms. */
function batchFirstStep(sub: PyNode): '-1' | '0' | undefined {
  const idx = sub.childrenOf('subscript');
  if (idx.length !== 2 && idx.length !== 3) return undefined;
  const [first, second, third] = idx;
  if (first?.type !== 'slice' || first.namedChildren.some((c) => c.type !== 'comment')) return undefined;
  if (third && third.type !== 'slice') return undefined;
  if (second?.type === 'unary_operator' && second.text.replace(/\s+/g, '') === '-1') return '-1';
  if (second?.type === 'integer' && second.text === '0') return '0';
  return undefined;
}

/** Text test before walking a method for `x[-1]` / `x[0, :, :]` (seqFirstStep decides). */
const SEQ_FIRST_INDEX = /\[\s*(-\s*1|0\s*,)/;

const POOL = new Set(['mean', 'max', 'sum']);
const TORCH_POOL = /^torch\.(mean|max|sum)$/;

/** Whether a reduction call reduces dim 1: `dim=1`, or the positional argument at `pos` is 1. */
function reducesDim1(call: PyNode, pos: number): boolean {
  if (hasKeywordSplat(call)) return false;
  const args = positionalArgs(call);
  const dim = keywordArg(call, 'dim');
  const d = unparen(dim ?? args[pos]);
  return args.length === (dim ? pos : pos + 1) && d?.type === 'integer' && d.text === '1';
}

/**
 * `x[-1]`, `x[-1, :, :]` or `x[0, :, :]`: the sequence-first "last / first time step" idioms. A bare `x[0]` is left
 * out: on a batch of one (`self.lstm(x.unsqueeze(0))`) it is the usual way to drop the batch dimension.
 */
function seqFirstStep(sub: PyNode): '-1' | '0' | undefined {
  const idx = sub.childrenOf('subscript');
  const [first, ...rest] = idx;
  if (rest.length !== 0 && (rest.length !== 2 || rest.some((r) => r.type !== 'slice' || r.namedChildren.some((c) => c.type !== 'comment')))) return undefined;
  if (first?.type === 'unary_operator' && first.text.replace(/\s+/g, '') === '-1') return '-1';
  if (first?.type === 'integer' && first.text === '0' && rest.length === 2) return '0';
  return undefined;
}

type Evidence = ({ node: PyNode; step: '-1' | '0' } | { node: PyNode; pool: string } | { node: PyNode; batchSize: string } | { node: PyNode; input: Batched }) & {
  /** The helper function of the file the output was passed to (`node` is then the argument), and its reading. */
  via?: { name: string; read: PyNode };
};

/**
 * A batch-first reading of the expression `x`: `x[:, -1]`, `x[:, 0]`, `x.mean(dim=1)`, `torch.mean(x, dim=1)` (mean/max/sum);
 * for a batch-first layer (`why` 'true'), a sequence-first one: `x[-1]`.
 */
function evidenceOn(a: Analysis, x: PyNode, why: Why): Evidence | undefined {
  let n = x;
  while (n.parent?.type === 'parenthesized_expression') n = n.parent;
  const p = n.parent;
  if (p?.type === 'subscript' && p.child('value') === n) {
    const step = why === 'true' ? seqFirstStep(p) : batchFirstStep(p);
    return step && { node: p, step };
  }
  if (why === 'true') return undefined;
  if (p?.type === 'attribute' && p.child('object') === n) {
    const call = p.parent;
    const op = p.child('attribute')?.text ?? '';
    if (call?.type === 'call' && call.child('function') === p && POOL.has(op) && reducesDim1(call, 0)) return { node: call, pool: op };
    return undefined;
  }
  if (p?.type === 'argument_list' && p.parent?.type === 'call') {
    const call = p.parent;
    const op = TORCH_POOL.exec(a.callee(call) ?? '');
    if (op && positionalArgs(call)[0] === n && reducesDim1(call, 1)) return { node: call, pool: op[1]! };
  }
  return undefined;
}

/** Names that say a value is the batch size (`batch_size = out.size(0)`, `b, t, c = out.shape`). */
const BATCH_SIZE_NAME = /^(b|bs|bsz|batch|batch_?size|n_?batch|num_?batch)$/i;

/**
 * `batch_size = x.size(0)`, `bs = x.shape[0]`, `b, t, c = x.shape`: dim 0 of the output read as the batch size, which
 * on a sequence-first output is the sequence length.
 */
function batchSizeRead(x: PyNode): Evidence | undefined {
  let n = x;
  while (n.parent?.type === 'parenthesized_expression') n = n.parent;
  const p = n.parent;
  let read: PyNode | undefined;
  let whole = false;
  if (p?.type === 'attribute' && p.child('object') === n) {
    const attr = p.child('attribute')?.text;
    const call = p.parent;
    if (attr === 'size' && call?.type === 'call' && call.child('function') === p) {
      const args = positionalArgs(call);
      if (args.length === 1 && unparen(args[0])?.text === '0') read = call;
      else if (!args.length && !keywordArg(call, 'dim')) [read, whole] = [call, true];
    } else if (attr === 'shape') {
      const sub = p.parent;
      if (sub?.type === 'subscript' && sub.child('value') === p) read = sub.childrenOf('subscript').map((c) => c.text).join() === '0' ? sub : undefined;
      else [read, whole] = [p, true];
    }
  }
  let r = read;
  while (r?.parent?.type === 'parenthesized_expression') r = r.parent;
  const assign = r?.parent;
  if (!read || assign?.type !== 'assignment' || assign.child('right') !== r) return undefined;
  const left = assign.child('left');
  const name = whole
    ? left && ['pattern_list', 'tuple_pattern'].includes(left.type) && left.namedChildren.filter((c) => c.type !== 'comment').length >= 2
      ? left.namedChildren[0]
      : undefined
    : left;
  return name?.type === 'identifier' && BATCH_SIZE_NAME.test(name.text) ? { node: assign, batchSize: name.text } : undefined;
}

/** The query / input of a call of a sequence-first module, when it is known to hold the batch at dim 0. */
function inputEvidence(a: Analysis, call: PyNode, layout: Layout): Evidence | undefined {
  const x = positionalArgs(call)[0] ?? keywordArg(call, layout.family === 'rnn' ? 'input' : 'query') ?? keywordArg(call, 'src');
  if (!x || batchOfOne(call)) return undefined;
  const b = batchFirstInput(a, x);
  return b && b.min >= 2 ? { node: x, input: b } : undefined;
}

/**
 * The uses of `name`, bound by `assign` to a sequence-first output (or, `whole`, to the tuple holding it first), that
 * read it batch-first: in this function, after `x = x[0]`-style unpacking, and inside a helper of the file it is passed
 * to (`select_last(out, lengths)`).
 */
function followName(a: Analysis, fn: PyNode, assign: PyNode, name: string, why: Why, whole: boolean, depth: number, found: (ev: Evidence, value: string) => void): void {
  const binds = bindings(fn, name);
  walkBody(fn, (id) => {
    if (id.type !== 'identifier' || id.text !== name || id.start < assign.end) return;
    // The value the name has here must be this call's output (not a permuted / transposed copy).
    let last: { node: PyNode; from: number } | undefined;
    for (const b of binds) if (b.from <= id.start && (!last || b.from > last.from)) last = b;
    if (last?.node !== assign) return;
    if (whole) {
      const sub = id.parent;
      if (sub?.type !== 'subscript' || sub.child('value') !== id || sub.childrenOf('subscript').map((c) => c.text).join() !== '0') return;
      const ev = evidenceOn(a, sub, why);
      if (ev) return found(ev, sub.text);
      const next = sub.parent;
      if (depth < 2 && next?.type === 'assignment' && next.child('right') === sub && next.child('left')?.type === 'identifier') followName(a, fn, next, next.child('left')!.text, why, false, depth + 1, found);
      return;
    }
    const ev = evidenceOn(a, id, why) ?? (why !== 'true' ? batchSizeRead(id) : undefined);
    if (ev) return found(ev, name);
    if (depth < 2 && why !== 'true') helperEvidence(a, id, why, found);
  });
}

/** `select_last(out, lengths)` / `self.pool(out)`: the helper's parameter read batch-first in its body. */
function helperEvidence(a: Analysis, id: PyNode, why: Why, found: (ev: Evidence, value: string) => void): void {
  const args = id.parent;
  const call = args?.type === 'argument_list' ? args.parent : undefined;
  if (call?.type !== 'call') return;
  const index = positionalArgs(call).indexOf(id);
  const f = call.child('function');
  let helper: PyNode | undefined;
  let skip = 0;
  if (f?.type === 'identifier') {
    const defs = a.functions.get(f.text) ?? [];
    helper = defs.length === 1 && !defs[0]!.ancestor('class_definition') ? defs[0] : undefined;
  } else if (f?.type === 'attribute' && f.child('object')?.text === 'self') {
    const cls = call.ancestor('class_definition');
    const defs = cls ? methodsOf(cls).filter((m) => m.child('name')?.text === f.child('attribute')?.text) : [];
    helper = defs.length === 1 ? defs[0] : undefined;
    skip = 1;
  }
  if (!helper || index < 0 || helper.child('name')?.text === 'forward') return;
  const params = (helper.child('parameters')?.namedChildren ?? []).filter((p) => p.type !== 'comment');
  if (params.slice(0, index + skip + 1).some((p) => p.type === 'list_splat_pattern' || p.type === 'dictionary_splat_pattern' || p.type === 'keyword_separator')) return;
  const p = params[index + skip];
  const param = p?.type === 'identifier' ? p : p?.child('name');
  if (param?.type !== 'identifier') return;
  const binds = bindings(helper, param.text);
  walkBody(helper, (use) => {
    if (use.type !== 'identifier' || use.text !== param.text || binds.some((b) => b.from <= use.start)) return;
    const ev = evidenceOn(a, use, why) ?? batchSizeRead(use);
    if (ev) found({ ...ev, node: id, via: { name: helper.child('name')?.text ?? 'the helper', read: ev.node } }, param.text);
  });
}

/** `self.lstm(x.unsqueeze(0))`, `x[None]`, `x.view(1, ...)`: a single sample made into a batch of one. */
function batchOfOne(call: PyNode): boolean {
  const x = positionalArgs(call)[0];
  return x !== undefined && /unsqueeze\(\s*(dim\s*=\s*)?0\s*\)|\[\s*None|\b(view|reshape)\(\s*1\s*,/.test(x.text);
}

/** The attribute of `self.<attr>(...)`. */
function selfCallAttr(call: PyNode): string | undefined {
  const f = call.child('function');
  if (f?.type !== 'attribute' || f.child('object')?.text !== 'self') return undefined;
  return f.child('attribute')?.text;
}

/** The node holding a tuple-returning module's output sequence: `self.lstm(x)` (the tuple) or `self.lstm(x)[0]`. */
function outputOf(call: PyNode): { expr: PyNode; indexed: boolean } {
  let n = call;
  while (n.parent?.type === 'parenthesized_expression') n = n.parent;
  const p = n.parent;
  if (p?.type === 'subscript' && p.child('value') === n) {
    const idx = p.childrenOf('subscript');
    if (idx.length === 1 && idx[0]!.type === 'integer' && idx[0]!.text === '0') return { expr: p, indexed: true };
  }
  return { expr: n, indexed: false };
}

const POOLED = { mean: 'averages over', max: 'takes the maximum over', sum: 'sums over' } as Record<string, string>;

function message(attr: string, layout: Layout, value: string, ev: Evidence): string {
  if (layout.why === 'true' && 'step' in ev) {
    const which = ev.step === '-1' ? 'last' : 'first';
    return (
      `self.${attr} is built with batch_first=True, so its output is (batch, seq, hidden): ${ev.node.text.replace(/\s+/g, ' ')} is the ${which} sample ` +
      `of the batch, not each sample's ${which} time step. Take ${value}[:, ${ev.step}, :].`
    );
  }
  const why = `${layout.viaLayer ? 'its layer has ' : ''}${layout.why === 'false' ? 'batch_first=False' : 'no batch_first=True'}`;
  const build = `Build ${layout.viaLayer ? 'the layer' : 'it'} with batch_first=True for (batch, seq, features) inputs`;
  const head = `self.${attr} is sequence-first (${why}): `;
  const where = ev.via ? ` in ${ev.via.name}()` : '';
  const shown = (ev.via?.read ?? ev.node).text.replace(/\s+/g, ' ');
  if ('input' in ev) return `${head}it receives ${value.length > 40 ? 'an input' : value}, which is batch-first (${ev.input.why}), so it ${layout.family === 'rnn' ? 'recurs over the samples of the batch as if they were time steps' : 'attends across the samples of the batch instead of the positions of each sequence'}. ${build}, or pass (seq, batch, features).`;
  if ('batchSize' in ev) return `${head}${shown}${where} reads dim 0 of its output as the batch size, but dim 0 is the sequence. ${build}, or read the batch size from dim 1.`;
  if ('pool' in ev) return `${head}${shown}${where} ${POOLED[ev.pool]} the batch, not the sequence. ${build}, or pool over dim 0.`;
  const idx = `[:, ${ev.step}${(ev.via?.read ?? ev.node).childrenOf('subscript').length === 3 ? ', :' : ''}]`;
  if (layout.family === 'attention') return `${head}${value}${idx}${where} reads the batch dimension as the sequence. ${build}, or index the sequence on dim 0.`;
  const which = ev.step === '-1' ? 'last' : 'first';
  return (
    `${head}${value}${idx}${where} is the ${which} sample of the batch at every time step, not each sample's ${which} time step. ` +
    `${build}, or take ${value}[${ev.step}].`
  );
}

const EXAMPLE = [
  'class Classifier(nn.Module):',
  '    def __init__(self):',
  '        super().__init__()',
  '        self.lstm = nn.LSTM(input_size=8, hidden_size=32BATCH_FIRST)',
  '        self.fc = nn.Linear(32, 2)',
  '',
  '    def forward(self, x):',
  '        out, _ = self.lstm(x)OUT',
  '        return self.fc(out[:, -1, :])',
].join('\n');

export const AR008: Rule = {
  meta: {
    id: 'AR008',
    name: 'rnn-output-indexed-batch-first',
    group: 'architecture',
    defaultSeverity: 'error',
    summary:
      'An LSTM/GRU/RNN, MultiheadAttention or transformer layer built without batch_first=True is fed a batch-first input or its output is read batch-first (out[:, -1], out[:, 0], out.mean(dim=1), batch_size = out.size(0)): build the layer with batch_first=True or index/pool the sequence on dim 0.',
    why:
      '`nn.LSTM`, `nn.GRU` and `nn.RNN` default to `batch_first=False`: they read their input as (seq, batch, features) and ' +
      'return the output sequence in that layout. `out[:, -1]` is the batch-first way to take each sample\'s last time step; ' +
      'on a sequence-first output it is the last *sample of the batch* at every time step instead. When the DataLoader yields ' +
      '(batch, seq, features) the shapes still line up (the layer treats the batch as time and time as the batch), so nothing ' +
      'fails: the recurrence runs across the samples of the batch, `out[:, -1]` gives each sample a state computed from the ' +
      'last time step of it and of the samples before it, and the model learns from mixed-up samples (typically stuck near ' +
      'chance accuracy). `nn.MultiheadAttention`, `nn.TransformerEncoderLayer`/`DecoderLayer` and `nn.Transformer` are ' +
      'sequence-first by default too (a `TransformerEncoder`/`Decoder` has its layer\'s layout): fed (batch, seq, features), ' +
      'attention mixes the samples of the batch instead of the positions of each sequence, and the CLS token `out[:, 0]` or ' +
      'the pooling `out.mean(dim=1)` read or average the batch, not the sequence. The same holds when the input is known ' +
      'to be batch-first: a step built as `torch.zeros(batch_size, 1, hidden)`, image features flattened with ' +
      '`flatten(2).transpose(1, 2)`, embeddings of DataLoader batches. The mirror mistake is reported too: an ' +
      'LSTM/GRU/RNN built with `batch_first=True` returns (batch, seq, hidden), so `out[-1]` is the last sample of the batch, ' +
      'not the last time step (`h_n[-1]` is always layers-first and is fine).',
    wrong: EXAMPLE.replace('BATCH_FIRST', '').replace('OUT', '  # x: (batch, seq, features), but read as (seq, batch, features)'),
    right: EXAMPLE.replace('BATCH_FIRST', ', batch_first=True').replace('OUT', '  # x and out: (batch, seq, ...)'),
    concept: 'Recurrent layers: tensor layout (seq, batch, features) vs batch_first',
    fixable: false,
  },
  check(ctx) {
    const a = ctx.analysis;
    const reported = new Set<PyNode>();
    for (const m of a.modules) {
      const layers = seqFirstLayers(a, m);
      if (!layers.size) continue;
      // Batch-first layers are the usual style: look into a method only when it indexes something sequence-first.
      const onlyBatchFirst = [...layers.values()].every((l) => l.why === 'true');
      for (const fn of methodsOf(m.node)) {
        if (onlyBatchFirst && !SEQ_FIRST_INDEX.test(fn.text)) continue;
        const report = (ev: Evidence, attr: string, value: string) => {
          if (reported.has(ev.node)) return;
          reported.add(ev.node);
          ctx.report({ node: ev.node, message: message(attr, layers.get(attr)!, value, ev) });
        };
        walkBody(fn, (call) => {
          if (call.type !== 'call') return;
          const attr = selfCallAttr(call);
          const layout = attr && layers.get(attr);
          if (!attr || !layout || (layout.why === 'true' && batchOfOne(call))) return;
          // The output sequence itself (`self.encoder(x)`, `self.lstm(x)[0]`), or the tuple holding it first.
          const { expr, indexed } = layout.tuple ? outputOf(call) : { expr: call, indexed: true };
          // self.lstm(x)[0][:, -1, :] / self.encoder(x)[:, 0] / self.encoder(x).mean(dim=1)
          const direct = indexed ? evidenceOn(a, expr, layout.why) : undefined;
          if (direct) {
            report(direct, attr, expr.text);
            return;
          }
          // An input known to be batch-first: (batch, seq, ...) tokens, embeddings of loader batches, a step built
          // with the batch size first.
          if (layout.why !== 'true') {
            const input = inputEvidence(a, call, layout);
            if (input) report(input, attr, input.node.text);
          }
          // out, _ = self.lstm(x) / out, (h, c) = self.lstm(x) / out = self.lstm(x)[0] / out = self.encoder(x)
          let s = expr;
          while (s.parent?.type === 'parenthesized_expression') s = s.parent;
          const assign = s.parent;
          if (assign?.type !== 'assignment' || assign.child('right') !== s) return;
          const left = assign.child('left');
          // out = self.attn(q, k, v) keeps the whole tuple: out[0] is read later.
          const whole = !indexed && left?.type === 'identifier';
          const target = indexed || whole
            ? left
            : left && ['pattern_list', 'tuple_pattern', 'list_pattern'].includes(left.type)
              ? left.namedChildren.find((c) => c.type !== 'comment')
              : undefined;
          if (target?.type !== 'identifier') return;
          followName(a, fn, assign, target.text, layout.why, whole, 0, (ev, value) => report(ev, attr, value));
        });
      }
    }
  },
};
