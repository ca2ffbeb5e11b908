import { keywordArg, positionalArgs, unparen, type Analysis } from '../../analysis';
import { signedInt } from '../../analysis/numbers';
import { losses } from '../../analysis/losses';
import { isDataLoaderQname } from '../../analysis/runtime';
import { valueBefore } from '../../analysis/values';
import type { PyNode } from '../../parser';
import type { RawFix, Rule } from '../../types';

// Token-level targets padded with pad_sequence (padding_value P, 0 by default) scored by a CrossEntropyLoss / NLLLoss
// whose ignore_index is not P (-100 by default): every padding position is trained as class P.

/** Methods that keep a tensor's values: shape, dtype and device changes. */
const KEEPS = /^(view|reshape|flatten|contiguous|to|long|cuda|cpu|transpose|permute)$/;

interface Padding {
  value: number;
  /** The pad_sequence call. */
  site: PyNode;
}

export class PaddedTargets {
  constructor(private readonly a: Analysis) {}

  /** The padding of a target expression: through names, value-keeping methods, and a DataLoader's collate_fn. */
  of(e: PyNode | undefined, depth = 0): Padding | undefined {
    const x = unparen(e);
    if (!x || depth > 6) return undefined;
    if (x.type === 'call') {
      if (this.a.callee(x) === 'torch.nn.utils.rnn.pad_sequence') {
        const p = keywordArg(x, 'padding_value') ?? positionalArgs(x)[2];
        const value = p ? constantInt(this.a, p) : 0;
        return value === undefined ? undefined : { value, site: x };
      }
      const fn = x.child('function');
      if (fn?.type === 'attribute' && KEEPS.test(fn.child('attribute')?.text ?? '')) return this.of(fn.child('object'), depth + 1);
      return undefined;
    }
    // `batch[:, 1:]` (shifted language-model targets) keeps the padding; a mask or an index does not.
    if (x.type === 'subscript') return onlySlices(x) ? this.of(x.child('value'), depth + 1) : undefined;
    if (x.type !== 'identifier') return undefined;
    // valueBefore: `batch = batch.to(device)` reads the loop's batch, not itself.
    const v = valueBefore(this.a, x);
    if (v) return this.of(v, depth + 1);
    return v === null ? this.collated(x, depth) : undefined;
  }

  /** `for ids, labels in loader` with `loader = DataLoader(..., collate_fn=collate)`: what collate returns there. */
  private collated(id: PyNode, depth: number): Padding | undefined {
    let loop: PyNode | undefined;
    for (let p = id.parent; p; p = p.parent) if (p.type === 'for_statement') { loop = p; break; }
    let left = loop?.child('left');
    let it = unparen(loop?.child('right'));
    // `for i, batch in enumerate(loader)`: the batch is the second element.
    if (it?.type === 'call' && it.child('function')?.text === 'enumerate') {
      const parts = left?.type === 'pattern_list' || left?.type === 'tuple_pattern' ? left.namedChildren : [];
      if (parts.length !== 2) return undefined;
      left = parts[1];
      it = unparen(positionalArgs(it)[0]);
    }
    if (!loop || !left) return undefined;
    // `for batch in loader` takes the whole batch (index -1); `for ids, labels in loader` one element.
    const index =
      left.type === 'identifier'
        ? left.text === id.text ? -1 : -2
        : left.type === 'pattern_list' || left.type === 'tuple_pattern'
          ? left.namedChildren.findIndex((c) => c.type === 'identifier' && c.text === id.text)
          : -2;
    if (index < -1) return undefined;
    if (it?.type === 'identifier') it = unparen(this.a.scopes.valueAt(it.text, it) ?? undefined);
    if (it?.type !== 'call' || !isDataLoaderQname(this.a.callee(it))) return undefined;
    let collate = unparen(keywordArg(it, 'collate_fn'));
    if (collate?.type === 'identifier' && !this.a.functions.has(collate.text)) collate = unparen(this.a.scopes.valueAt(collate.text, collate) ?? undefined);
    const pick = (r: PyNode | undefined) => {
      const t = unparen(r);
      if (index === -1) return this.of(t, depth + 1);
      const items = t?.type === 'tuple' || t?.type === 'expression_list' ? t.namedChildren.filter((c) => c.type !== 'comment') : [];
      return items[index] ? this.of(items[index], depth + 1) : undefined;
    };
    // `collate_fn=lambda b: pad_sequence(b, ...)`
    if (collate?.type === 'lambda') return pick(collate.child('body'));
    const defs = collate?.type === 'identifier' ? this.a.functions.get(collate.text) : undefined;
    if (defs?.length !== 1) return undefined;
    let found: Padding | undefined;
    defs[0]!.child('body')?.walk((n) => {
      if (n.type === 'function_definition' || n.type === 'lambda') return false;
      if (n.type !== 'return_statement') return;
      const p = pick(n.namedChildren.find((c) => c.type !== 'comment'));
      if (p) found = p;
      return false;
    });
    return found;
  }
}

/** An integer padding value: a literal (`0`, `-100`, `0.0`) or a name bound to one (`PAD_ID = 0`). */
function constantInt(a: Analysis, n: PyNode | undefined): number | undefined {
  let x = unparen(n);
  if (x?.type === 'identifier') x = unparen(a.scopes.valueAt(x.text, x) ?? undefined);
  if (x?.type === 'float') return Number.isInteger(Number(x.text)) ? Number(x.text) : undefined;
  return signedInt(x);
}

/** `x[:, 1:]`, `x[..., :-1]`: every index is a slice or an ellipsis. */
function onlySlices(sub: PyNode): boolean {
  const idx = sub.child('subscript');
  const parts = idx?.type === 'tuple' || idx?.type === 'expression_list' ? idx.namedChildren : idx ? [idx] : [];
  const all = sub.namedChildren.filter((c) => c !== sub.child('value') && c.type !== 'comment');
  return all.length > 0 && all.every((c) => c.type === 'slice' || c.type === 'ellipsis') && parts.length > 0;
}

export const LS011: Rule = {
  meta: {
    id: 'LS011',
    name: 'padded-targets-not-ignored',
    group: 'loss',
    defaultSeverity: 'warning',
    summary: 'Token targets are padded with a class index the loss does not ignore: padding positions are trained as that class.',
    why:
      '`pad_sequence(labels, batch_first=True)` fills short sequences with 0 (or `padding_value`). `CrossEntropyLoss` and ' +
      '`NLLLoss` skip only targets equal to `ignore_index`, which is -100 by default. Every padding position then counts ' +
      'as a real token of class 0 (often the tag "O" or a word id): the loss is dominated by padding, the model learns to ' +
      'predict it, and token accuracy looks better than it is. Pass `ignore_index` equal to the padding value, or pad ' +
      'the labels with -100.',
    wrong:
      'import torch.nn as nn\nfrom torch.nn.utils.rnn import pad_sequence\nlabels = pad_sequence(tag_seqs, batch_first=True)\ncriterion = nn.CrossEntropyLoss()\nloss = criterion(logits.view(-1, n_tags), labels.view(-1))',
    right:
      'import torch.nn as nn\nfrom torch.nn.utils.rnn import pad_sequence\nlabels = pad_sequence(tag_seqs, batch_first=True, padding_value=-100)\ncriterion = nn.CrossEntropyLoss()\nloss = criterion(logits.view(-1, n_tags), labels.view(-1))',
    concept: 'Sequence losses: padding must not count',
    fixable: true,
  },
  check(ctx) {
    const a = ctx.analysis;
    if (!a.callsNamed('pad_sequence').length) return;
    const padded = new PaddedTargets(a);
    for (const { call, kind, config } of losses(a).calls) {
      if ((kind !== 'cross_entropy' && kind !== 'nll') || !config) continue;
      // A per-token loss masked by hand, or class weights that may zero the padding class: not this rule's business.
      if (keywordArg(config, 'reduction')?.text.includes('none') || keywordArg(config, 'weight')) continue;
      const ignoreArg = keywordArg(config, 'ignore_index');
      const ignore = ignoreArg ? signedInt(ignoreArg) : -100;
      if (ignore === undefined) continue;
      const target = keywordArg(call, 'target') ?? positionalArgs(call)[1];
      const pad = padded.of(target);
      if (!pad || pad.value === ignore) continue;
      const line = ctx.lines.position(pad.site.start).line + 1;
      let fix: RawFix | undefined;
      if (ignoreArg) fix = { title: `Use ignore_index=${pad.value}`, edits: [{ start: ignoreArg.start, end: ignoreArg.end, newText: String(pad.value) }] };
      else if (config !== call) {
        const args = config.child('arguments');
        const last = args?.namedChildren.filter((c) => c.type !== 'comment').pop();
        if (args) fix = { title: `Ignore the padding (ignore_index=${pad.value})`, edits: [{ start: last ? last.end : args.start + 1, end: last ? last.end : args.start + 1, newText: `${last ? ', ' : ''}ignore_index=${pad.value}` }] };
      }
      ctx.report({
        node: target ?? call,
        message: `These targets are padded with ${pad.value} (line ${line}) but the loss ignores index ${ignore}: every padding position is trained as class ${pad.value}. Pass ignore_index=${pad.value}, or pad the targets with -100.`,
        fixes: fix ? [fix] : undefined,
      });
    }
  },
};
