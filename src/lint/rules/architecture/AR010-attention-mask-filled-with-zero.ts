import { calleeName, keywordArg, positionalArgs, receiver, unparen, type Analysis } from '../../analysis';
import { scopeOf } from '../../analysis/scopes';
import { valueBefore } from '../../analysis/values';
import type { PyNode } from '../../parser';
import type { RawFix, Rule } from '../../types';

const SOFTMAX_FUNCTIONS = new Set([
  'torch.nn.functional.softmax',
  'torch.nn.functional.log_softmax',
  'torch.softmax',
  'torch.log_softmax',
  'torch.special.softmax',
  'torch.special.log_softmax',
]);
const SOFTMAX_LAYERS = new Set(['torch.nn.Softmax', 'torch.nn.LogSoftmax']);

/** Methods that keep a tensor's values (a zero stays a zero): followed from the softmax back to the masking. */
const KEEPS_VALUES = new Set(['float', 'double', 'half', 'bfloat16', 'to', 'type', 'type_as', 'contiguous', 'view', 'reshape']);
/** Methods and calls the attention weights may go through on their way to the values (`attn @ v`). */
const WEIGHTS_PASS = new Set([...KEEPS_VALUES, 'unsqueeze', 'squeeze', 'transpose', 'permute', 'flatten']);
const MATMUL_FUNCTIONS = new Set(['torch.matmul', 'torch.bmm', 'torch.einsum', 'torch.mm', 'torch.functional.einsum']);
const MATMUL_METHODS = new Set(['matmul', 'bmm', 'mm']);
/** Uses of the weights that zero or rescale them (a masked softmax renormalised by hand). */
const RENORM = new Set(['masked_fill', 'where', 'mul', 'div', 'true_divide', 'divide', 'multiply', 'normalize']);

const SCOPE_BREAK = new Set(['function_definition', 'lambda', 'class_definition']);
const EXITS = new Set(['return_statement', 'raise_statement', 'break_statement', 'continue_statement']);

/** A masking that does not mask: `x.masked_fill(m, 0)` (fill) or `x * mask` (mul). */
type Masking = { kind: 'fill'; call: PyNode; value: PyNode; target: PyNode | undefined } | { kind: 'mul'; node: PyNode };

/** The operator token of a binary operator (anonymous: no field). */
function operatorOf(n: PyNode): string | undefined {
  return n.children.find((c) => !c.named)?.text;
}

/**
 * A fill value of zero or next to it: `0`, `0.0`, `-0.0`, `1e-9`, `-1e-12` (exp of any of them is 1), also through a
 * parameter's default (`def attend(q, k, v, mask, eps=1e-12): ... masked_fill(m, -eps)`). Other names are not
 * followed: a configured fill value may be set elsewhere.
 */
function isZero(a: Analysis, n: PyNode | undefined, depth = 0): boolean {
  const v = unparen(n);
  if (!v || depth > 3) return false;
  if (v.type === 'unary_operator') return isZero(a, v.namedChildren.find((c) => c.type !== 'comment'), depth);
  if (v.type === 'identifier') return a.scopes.valueAt(v.text, v) === null && isZero(a, parameterDefault(v), depth + 1);
  if (v.type !== 'integer' && v.type !== 'float') return false;
  const x = Math.abs(Number(v.text.replace(/_/g, '')));
  return Number.isFinite(x) && x < 1e-3;
}

/** The default value of the parameter a name refers to in its function, if it has one. */
function parameterDefault(id: PyNode): PyNode | undefined {
  const fn = id.ancestor('function_definition', 'lambda');
  const params = fn?.child('parameters')?.namedChildren ?? [];
  const p = params.find((c) => (c.type === 'default_parameter' || c.type === 'typed_default_parameter') && c.child('name')?.text === id.text);
  return p?.child('value');
}

/** The parts of a masked_fill call: the tensor, the mask and the value (method `x.masked_fill(m, v)` or `torch.masked_fill(x, m, v)`). */
function maskedFillParts(a: Analysis, call: PyNode): { target: PyNode | undefined; mask: PyNode | undefined; value: PyNode | undefined } | undefined {
  const name = calleeName(call);
  if (name !== 'masked_fill' && name !== 'masked_fill_') return undefined;
  const args = call.child('arguments');
  if (!args || args.children.some((c) => c.type === 'list_splat' || c.type === 'dictionary_splat')) return undefined;
  const pos = positionalArgs(call);
  if (a.callee(call) === 'torch.masked_fill') {
    return { target: pos[0] ?? keywordArg(call, 'input'), mask: pos[1] ?? keywordArg(call, 'mask'), value: pos[2] ?? keywordArg(call, 'value') };
  }
  const recv = receiver(call);
  // A method of a module (`torch.Tensor.masked_fill(x, ...)`, `np...`): not the tensor method.
  if (!recv || a.qname(recv)) return undefined;
  return { target: recv, mask: pos[0] ?? keywordArg(call, 'mask'), value: pos[1] ?? keywordArg(call, 'value') };
}

/** A zero-filling masked_fill whose mask is a mask, not a NaN/inf clean-up (`x.masked_fill(torch.isnan(x), 0)`). */
function zeroFill(a: Analysis, call: PyNode): Masking | undefined {
  const parts = maskedFillParts(a, call);
  if (!parts?.mask || !parts.value || !isZero(a, parts.value)) return undefined;
  if (/nan|inf|finite/i.test(parts.mask.text)) return undefined;
  return { kind: 'fill', call, value: parts.value, target: parts.target };
}

/** `mask`, `attn_mask`, `self.causal_mask[:, :T]`, `mask.float()`, `mask.unsqueeze(1)`: something named a mask. */
function maskLike(n: PyNode | undefined): boolean {
  const e = unparen(n);
  if (!e) return false;
  if (e.type === 'identifier') return /(^|_)mask$/i.test(e.text);
  if (e.type === 'attribute') return /(^|_)mask$/i.test(e.child('attribute')?.text ?? '');
  if (e.type === 'subscript') return maskLike(e.child('value'));
  if (e.type === 'call') {
    const f = e.child('function');
    const m = f?.type === 'attribute' ? f.child('attribute')?.text : undefined;
    return !!m && (WEIGHTS_PASS.has(m) || m === 'expand' || m === 'expand_as') && maskLike(f!.child('object'));
  }
  return false;
}

/** Whether a node is a number (`-1e9`, `2`): `x * mask` then is not a masking. */
function isNumber(n: PyNode | undefined): boolean {
  const v = unparen(n);
  if (!v) return false;
  if (v.type === 'unary_operator') return isNumber(v.namedChildren.find((c) => c.type !== 'comment'));
  return v.type === 'integer' || v.type === 'float';
}

function scopeRoot(n: PyNode): PyNode {
  const fn = scopeOf(n);
  if (fn) return fn.child('body') ?? fn;
  let r = n;
  while (r.parent) r = r.parent;
  return r;
}

/** Walks a scope's statements without entering nested functions, lambdas or classes. */
function walkScope(root: PyNode, visit: (n: PyNode) => void): void {
  root.walk((n) => {
    if (n !== root && SCOPE_BREAK.has(n.type)) return false;
    visit(n);
  });
}

/** Whether a name occurs as a binding target in `target` (`x`, `x, y`, `(x, (y, z))`). */
function binds(target: PyNode | undefined, name: string): boolean {
  let found = false;
  target?.walk((n) => {
    if (found || n.type === 'attribute' || n.type === 'subscript') return false;
    if (n.type === 'identifier' && n.text === name) found = true;
  });
  return found;
}

/**
 * Whether statement-level code at `from` runs before `use` whenever it runs and nothing leaves in between: their
 * lowest common ancestor is a block (or the module), and the statement holding `from` has no return / raise / break /
 * continue after it.
 */
function flowsTo(from: PyNode, use: PyNode): boolean {
  if (from.end > use.start) return false;
  let top = from;
  while (top.parent && !(top.parent.start <= use.start && use.end <= top.parent.end)) top = top.parent;
  const lca = top.parent;
  if (!lca || (lca.type !== 'block' && lca.type !== 'module')) return false;
  let exits = false;
  top.walk((n) => {
    if (exits || SCOPE_BREAK.has(n.type)) return false;
    if (EXITS.has(n.type) && n.start >= from.end) exits = true;
  });
  return !exits;
}

/**
 * The binding of `id` (a plain `name = value` in the same scope that flows to it) and what happens to the name in
 * between: an in-place zero fill (`name.masked_fill_(m, 0)`) is the masking; any other in-place change or `name[...] =`
 * makes the value unknown.
 */
function resolveName(a: Analysis, id: PyNode, depth: number): Masking | undefined {
  const name = id.text;
  const root = scopeRoot(id);
  // The last binding of the name in this scope before the use.
  let last: PyNode | undefined;
  let lastFrom = -1;
  const touches: PyNode[] = [];
  walkScope(root, (n) => {
    if (n.start >= id.start) return;
    switch (n.type) {
      case 'assignment': {
        const left = n.child('left');
        if (binds(left, name) && n.end <= id.start && n.end > lastFrom) {
          last = n;
          lastFrom = n.end;
        } else if (left?.type === 'subscript' && unparen(left.child('value'))?.text === name) touches.push(n);
        break;
      }
      case 'augmented_assignment':
      case 'named_expression':
      case 'for_statement':
      case 'as_pattern':
        if (binds(n.child('left') ?? n.child('name') ?? n.child('alias'), name) || (n.type === 'augmented_assignment' && unparen(n.child('left')?.child('value'))?.text === name)) touches.push(n);
        break;
      case 'call': {
        const m = calleeName(n);
        const recv = unparen(receiver(n));
        if (m?.endsWith('_') && recv?.type === 'identifier' && recv.text === name) touches.push(n);
        break;
      }
    }
  });
  const value = valueBefore(a, id);
  if (!last || !value || value.parent !== last || scopeOf(last) !== scopeOf(id) || !flowsTo(last, id)) return undefined;
  let found: Masking | undefined;
  for (const t of touches) {
    if (t.start < lastFrom) continue; // before the binding: another value
    if (t.type === 'call' && calleeName(t) === 'masked_fill_') {
      const m = zeroFill(a, t);
      if (!m || found || !flowsTo(t, id)) return undefined;
      found = m;
      continue;
    }
    if (t.type === 'augmented_assignment' && t.child('left')?.type === 'identifier' && /^[*/]=$/.test(operatorOf(t) ?? '')) continue; // a zero stays a zero
    return undefined; // `name += ...`, `name.add_(...)`, `name[m] = -inf`, a rebinding we cannot follow
  }
  return found ?? maskingOf(a, value, depth + 1);
}

/** The masking (zero fill or product with a mask) that produces the softmax input `expr`, followed back through names. */
function maskingOf(a: Analysis, expr: PyNode | undefined, depth = 0): Masking | undefined {
  const e = unparen(expr);
  if (!e || depth > 6) return undefined;
  switch (e.type) {
    case 'identifier':
      return resolveName(a, e, depth);
    case 'call': {
      const fill = zeroFill(a, e);
      if (fill) return fill;
      const f = e.child('function');
      const m = f?.type === 'attribute' ? f.child('attribute')?.text : undefined;
      if (m && KEEPS_VALUES.has(m) && !a.qname(f!.child('object'))) return maskingOf(a, f!.child('object'), depth + 1);
      return undefined;
    }
    case 'binary_operator': {
      const op = operatorOf(e);
      const left = e.child('left');
      const right = e.child('right');
      if (op === '/') return maskingOf(a, left, depth + 1);
      if (op !== '*') return undefined;
      const inner = maskingOf(a, left, depth + 1) ?? maskingOf(a, right, depth + 1);
      if (inner) return inner;
      // `scores * mask`: the other factor is the scores (not a number: `mask * -1e9` is an additive mask).
      const masks = (x: PyNode | undefined) => maskLike(x) || isComparison(x);
      if ((masks(right) && !masks(left) && !isNumber(left)) || (masks(left) && !masks(right) && !isNumber(right))) return { kind: 'mul', node: e };
      return undefined;
    }
  }
  return undefined;
}

/** The input of a softmax call, or undefined when the call is no softmax. */
function softmaxInput(a: Analysis, call: PyNode): PyNode | undefined {
  const args = call.child('arguments');
  if (!args || args.children.some((c) => c.type === 'list_splat' || c.type === 'dictionary_splat')) return undefined;
  const q = a.callee(call);
  if (q && SOFTMAX_FUNCTIONS.has(q)) return positionalArgs(call)[0] ?? keywordArg(call, 'input');
  const f = call.child('function');
  if (f?.type !== 'attribute') return undefined;
  const obj = f.child('object');
  if (!obj || a.qname(obj)) return undefined;
  if (obj.text === 'self') {
    // self.softmax(x) with every `self.softmax = nn.Softmax(...)` of the class.
    const cls = call.ancestor('class_definition');
    const values = cls ? a.scopes.selfAttr(cls, f.child('attribute')?.text ?? '') : [];
    if (!values.length || !values.every((v) => v.type === 'call' && SOFTMAX_LAYERS.has(a.callee(v) ?? ''))) return undefined;
    return positionalArgs(call)[0];
  }
  return obj; // scores.softmax(dim=-1)
}

/**
 * How the attention weights (a softmax's output) are used: whether they weight something by a matrix product
 * (`attn @ v`, `torch.matmul(attn, v)`, `torch.einsum(..., attn, v)`), whether they are multiplied, divided or masked
 * afterwards (`renorm`), and whether that is a masking or renormalisation (`maskRenorm`: `attn * mask`, a division,
 * `masked_fill`, an in-place change; `attn.unsqueeze(-1) * values`, attention pooling, is not: that is `weighting`).
 * Other uses (returned, logged, a loss target) do not count.
 */
function weightUses(a: Analysis, softmax: PyNode): { matmul: boolean; renorm: boolean; maskRenorm: boolean; weighting: boolean } {
  let matmul = false;
  let weighting = false;
  let renorm = false;
  let maskRenorm = false;
  const seen = new Set<PyNode>();
  const follow = (start: PyNode, depth: number): void => {
    if (depth > 6 || seen.has(start)) return;
    seen.add(start);
    let n = start;
    for (;;) {
      while (n.parent?.type === 'parenthesized_expression') n = n.parent;
      const p = n.parent;
      if (!p) return;
      if (p.type === 'binary_operator') {
        const op = operatorOf(p);
        if (op === '@') matmul = true;
        else if (op === '*' || op === '/') {
          renorm = true;
          const other = (p.child('left') === n ? p.child('right') : p.child('left')) ?? undefined;
          if (op === '/' || maskLike(other) || isComparison(other)) maskRenorm = true;
          else if (!isNumber(other)) weighting = true;
        }
        return;
      }
      if (p.type === 'argument_list' && p.parent?.type === 'call') {
        const c = p.parent;
        const name = calleeName(c) ?? '';
        if (MATMUL_FUNCTIONS.has(a.callee(c) ?? '')) matmul = true;
        else if (RENORM.has(name) || name.endsWith('_')) renorm = maskRenorm = true;
        else if (/drop/i.test(name) && positionalArgs(c)[0] === n) {
          // Dropout on the weights: F.dropout(attn, ...), self.dropout(attn), self.attn_drop(attn).
          n = c;
          continue;
        }
        return;
      }
      if (p.type === 'attribute' && p.child('object') === n) {
        const call = p.parent;
        if (call?.type !== 'call' || call.child('function') !== p) return;
        const m = p.child('attribute')?.text ?? '';
        if (MATMUL_METHODS.has(m)) matmul = true;
        else if (RENORM.has(m) || m.endsWith('_')) renorm = maskRenorm = true;
        else if (WEIGHTS_PASS.has(m)) {
          n = call;
          continue;
        }
        return;
      }
      if (p.type === 'subscript' && p.child('value') === n) {
        if (p.parent?.type === 'assignment' && p.parent.child('left') === p) renorm = maskRenorm = true; // attn[mask] = 0
        return;
      }
      if (p.type === 'assignment' && p.child('right') === n) {
        const left = p.child('left');
        if (left?.type !== 'identifier') return;
        // Every later read of the name that holds this value; `attn *= mask` / `attn /= ...` renormalise.
        walkScope(scopeRoot(p), (id) => {
          if (id.start < p.end) return;
          if (id.type === 'augmented_assignment' && unparen(id.child('left'))?.text === left.text) renorm = maskRenorm = true;
          if (id.type === 'identifier' && id.text === left.text && id.parent?.type !== 'keyword_argument' && valueBefore(a, id) === n) follow(id, depth + 1);
        });
      }
      return;
    }
  };
  follow(softmax, 0);
  return { matmul, renorm, maskRenorm, weighting };
}

/** `tokens != pad_id`, `(lengths > 0).float()`: a 0/1 comparison. */
function isComparison(n: PyNode | undefined): boolean {
  const e = unparen(n);
  if (e?.type === 'comparison_operator') return true;
  const f = e?.type === 'call' ? e.child('function') : undefined;
  return f?.type === 'attribute' && WEIGHTS_PASS.has(f.child('attribute')?.text ?? '') && isComparison(f.child('object'));
}

/** The softmax input is the product itself, or a name bound to it by the assignment right before the softmax's. */
function productFeedsDirectly(a: Analysis, input: PyNode, product: PyNode): boolean {
  const e = unparen(input);
  if (e === product) return true;
  return e?.type === 'identifier' && unparen(valueBefore(a, e) ?? undefined) === product;
}

function fixOf(a: Analysis, m: Extract<Masking, { kind: 'fill' }>): RawFix {
  const torch = a.imports.localName('torch');
  const t = unparen(m.target);
  const newText = torch && t?.type === 'identifier' ? `${torch}.finfo(${t.text}.dtype).min` : "float('-inf')";
  return { title: `Fill with ${newText}`, edits: [{ start: m.value.start, end: m.value.end, newText }] };
}

const EXAMPLE = [
  'def attention(q, k, v, mask):',
  '    scores = q @ k.transpose(-2, -1) / q.size(-1) ** 0.5',
  '    scores = scores.masked_fill(mask == 0, FILL)',
  '    attn = F.softmax(scores, dim=-1)',
  '    return attn @ v',
].join('\n');

export const AR010: Rule = {
  meta: {
    id: 'AR010',
    name: 'attention-mask-filled-with-zero',
    group: 'architecture',
    defaultSeverity: 'error',
    summary:
      'Attention scores are masked with `masked_fill(mask, 0)` (or multiplied by a 0/1 mask) before the softmax: masked positions still get weight exp(0) and are attended to.',
    why:
      'A softmax gives every position the weight exp(score) / sum: a score of 0 still gets exp(0) = 1, about as much as any ' +
      'ordinary score, so padding tokens (or, with a causal mask, future tokens) are attended to and nothing fails. The ' +
      'model trains on leaked information (a causal language model sees the next token) and behaves differently once the ' +
      'padding or the future is gone. Fill with a very negative value so that exp() makes the weight 0: the fix uses ' +
      '`torch.finfo(scores.dtype).min` (the most negative number of the dtype, so half precision does not overflow and a ' +
      'fully masked row gives uniform weights instead of the NaN that `float(\'-inf\')` gives; `-1e9` overflows in fp16) ' +
      "and `float('-inf')` when the scores are not a plain name. A fill next to zero (`-1e-12`, often meant as `-1e12`) is " +
      'as good as 0 and is reported too. Zeroing the weights after the softmax is a different thing and is fine.',
    wrong: EXAMPLE.replace('FILL', '0'),
    right: EXAMPLE.replace('FILL', 'torch.finfo(scores.dtype).min'),
    concept: 'Attention masks: -inf before the softmax, not 0',
    fixable: true,
  },
  check(ctx) {
    const a = ctx.analysis;
    const candidates = [...a.callsNamed('softmax'), ...a.callsNamed('log_softmax')];
    if (!candidates.length) return;
    // Without a masked_fill, only the product with a mask can be reported: cheap text test first.
    const fills = a.callsNamed('masked_fill').length + a.callsNamed('masked_fill_').length > 0;
    if (!fills && !/mask/i.test(ctx.source)) return;
    const reported = new Set<PyNode>();
    for (const call of candidates) {
      const input = softmaxInput(a, call);
      if (!input) continue;
      const m = maskingOf(a, input);
      if (!m) continue;
      const node = m.kind === 'fill' ? m.call : m.node;
      if (reported.has(node)) continue;
      const uses = weightUses(a, call);
      // Weights that reach the values by a product and are not rescaled; a product with a mask feeding the softmax
      // right away is wrong however the weights are used next (attention pooling: `(h * attn.unsqueeze(-1)).sum(1)`),
      // unless they are masked and renormalised afterwards. Not for log_softmax (often a masked loss, not attention).
      const direct = m.kind === 'mul' && !/log_softmax/.test(a.callee(call) ?? calleeName(call) ?? '') && productFeedsDirectly(a, input, m.node) && (uses.matmul || uses.weighting) && !uses.maskRenorm;
      if (!(uses.matmul && !uses.renorm) && !direct) continue;
      reported.add(node);
      const text = node.text.replace(/\s+/g, ' ');
      if (m.kind === 'fill') {
        const fix = fixOf(a, m);
        ctx.report({
          node,
          message: `${text} fills the masked scores with 0 before the softmax: exp(0) still gives them weight, so masked positions are attended to. Fill with ${fix.edits[0]!.newText} instead.`,
          fixes: [fix],
        });
      } else {
        ctx.report({
          node,
          message: `${text} zeroes the masked scores before the softmax: exp(0) still gives them weight, so masked positions are attended to. Use .masked_fill(mask == 0, float('-inf')) instead of the product.`,
        });
      }
    }
  },
};
