import { hasKeywordSplat, keywordArg, positionalArgs, unparen, type Analysis, type ModuleClass } from '../../analysis';
import { methodsOf } from '../../analysis/modules';
import type { PyNode } from '../../parser';
import type { Rule } from '../../types';

const RNN = /^torch\.nn\.(modules\.rnn\.)?(LSTM|GRU|RNN)$/;
/** nn.LSTM/GRU/RNN(input_size, hidden_size, num_layers, bias, batch_first, ...): batch_first is the 5th positional. */
const BATCH_FIRST_POS = 4;

/** How an RNN layer is sequence-first: 'absent' (PyTorch's default) or 'false' (batch_first=False written). */
type SeqFirst = 'absent' | 'false';

function seqFirst(a: Analysis, value: PyNode | undefined): SeqFirst | undefined {
  const v = unparen(value);
  if (v?.type !== 'call' || !RNN.test(a.callee(v) ?? '') || hasKeywordSplat(v)) return undefined;
  if (positionalArgs(v).length > BATCH_FIRST_POS) return undefined;
  const bf = keywordArg(v, 'batch_first');
  if (!bf) return 'absent';
  return unparen(bf)?.text === 'False' ? 'false' : undefined; // True, or a variable: not known to be sequence-first
}

/** Attributes of a module class holding a sequence-first RNN (every assignment of the attribute in the class). */
function seqFirstLayers(a: Analysis, m: ModuleClass): Map<string, SeqFirst> {
  const out = new Map<string, SeqFirst>();
  for (const attr of m.layers.keys()) {
    const kinds = a.scopes.selfAttr(m.node, attr).map((v) => seqFirst(a, v));
    if (kinds.length && kinds.every((k) => k)) out.set(attr, kinds.includes('false') ? 'false' : 'absent');
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

/** `x[:, -1]` or `x[:, -1, <slice>]`: the batch-first "last time step" idiom. */
function isLastStepBatchFirst(sub: PyNode): boolean {
  const idx = sub.childrenOf('subscript');
  if (idx.length !== 2 && idx.length !== 3) return false;
  const [first, second, third] = idx;
  if (first?.type !== 'slice' || first.namedChildren.some((c) => c.type !== 'comment')) return false;
  if (second?.type !== 'unary_operator' || second.text.replace(/\s+/g, '') !== '-1') return false;
  return !third || third.type === 'slice';
}

/** The attribute of `self.<attr>(...)`. */
function selfCallAttr(call: PyNode): string | undefined {
  const f = call.child('function');
  if (f?.type !== 'attribute' || f.child('object')?.text !== 'self') return undefined;
  return f.child('attribute')?.text;
}

/** The node holding the RNN's output sequence: `self.lstm(x)` (a tuple) or `self.lstm(x)[0]`. */
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

function message(attr: string, kind: SeqFirst, value: string, sub: PyNode): string {
  const why = kind === 'false' ? 'batch_first=False' : 'no batch_first=True';
  const idx = sub.childrenOf('subscript').length === 3 ? '[:, -1, :]' : '[:, -1]';
  return (
    `self.${attr} is sequence-first (${why}): ${value}${idx} is the last sample of the batch at every time step, not each sample's last time step. ` +
    `Build it with batch_first=True for (batch, seq, features) inputs, or take ${value}[-1].`
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
      'The output of an LSTM/GRU/RNN built without batch_first=True is indexed as out[:, -1] (batch-first idiom): build the layer with batch_first=True or take out[-1].',
    why:
      '`nn.LSTM`, `nn.GRU` and `nn.RNN` default to `batch_first=False`: they read their input as (seq, batch, features) and ' +
      'return the output sequence in that layout. `out[:, -1]` is the batch-first way to take each sample\'s last time step; ' +
      'on a sequence-first output it is the last *sample of the batch* at every time step instead. When the DataLoader yields ' +
      '(batch, seq, features) the shapes still line up (the layer treats the batch as time and time as the batch), so nothing ' +
      'fails: the recurrence runs across the samples of the batch, `out[:, -1]` gives each sample a state computed from the ' +
      'last time step of it and of the samples before it, and the model learns from mixed-up samples (typically stuck near ' +
      'chance accuracy).',
    wrong: EXAMPLE.replace('BATCH_FIRST', '').replace('OUT', '  # x: (batch, seq, features), but read as (seq, batch, features)'),
    right: EXAMPLE.replace('BATCH_FIRST', ', batch_first=True').replace('OUT', '  # x and out: (batch, seq, ...)'),
    concept: 'Recurrent layers: tensor layout (seq, batch, features) vs batch_first',
    fixable: false,
  },
  check(ctx) {
    const a = ctx.analysis;
    for (const m of a.modules) {
      const layers = seqFirstLayers(a, m);
      if (!layers.size) continue;
      for (const fn of methodsOf(m.node)) {
        const reported = new Set<PyNode>();
        const report = (sub: PyNode, attr: string, value: string) => {
          if (reported.has(sub)) return;
          reported.add(sub);
          ctx.report({ node: sub, message: message(attr, layers.get(attr)!, value, sub) });
        };
        walkBody(fn, (call) => {
          if (call.type !== 'call') return;
          const attr = selfCallAttr(call);
          if (!attr || !layers.has(attr)) return;
          const { expr, indexed } = outputOf(call);
          // self.lstm(x)[0][:, -1, :]
          const p = expr.parent;
          if (indexed && p?.type === 'subscript' && p.child('value') === expr && isLastStepBatchFirst(p)) {
            report(p, attr, expr.text);
            return;
          }
          // out, _ = self.lstm(x) / out, (h, c) = self.lstm(x) / out = self.lstm(x)[0]
          let s = expr;
          while (s.parent?.type === 'parenthesized_expression') s = s.parent;
          const assign = s.parent;
          if (assign?.type !== 'assignment' || assign.child('right') !== s) return;
          const left = assign.child('left');
          const target = indexed
            ? left
            : left && ['pattern_list', 'tuple_pattern', 'list_pattern'].includes(left.type)
              ? left.namedChildren.find((c) => c.type !== 'comment')
              : undefined;
          if (target?.type !== 'identifier') return;
          const name = target.text;
          const binds = bindings(fn, name);
          walkBody(fn, (sub) => {
            if (sub.type !== 'subscript' || sub.start < assign.end) return;
            const v = unparen(sub.child('value'));
            if (v?.type !== 'identifier' || v.text !== name || !isLastStepBatchFirst(sub)) return;
            // The value the name has here must be this RNN call's output (not a permuted / transposed copy).
            let last: { node: PyNode; from: number } | undefined;
            for (const b of binds) if (b.from <= sub.start && (!last || b.from > last.from)) last = b;
            if (last?.node === assign) report(sub, attr, name);
          });
        });
      }
    }
  },
};
