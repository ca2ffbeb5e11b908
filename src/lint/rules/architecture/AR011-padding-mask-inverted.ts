import { keywordArg, unparen, type Analysis } from '../../analysis';
import { parameterArguments } from '../../analysis/parameters';
import type { PyNode } from '../../parser';
import type { Rule } from '../../types';

// A tokenizer's `attention_mask` (1 = a real token) handed to a PyTorch `*_key_padding_mask` (True = ignore this
// position): the model then attends only to the padding.

const PADDING_MASK_KEYWORDS = ['src_key_padding_mask', 'tgt_key_padding_mask', 'memory_key_padding_mask', 'key_padding_mask'];

/** Names that by Hugging Face convention hold 1 on real tokens and 0 on padding. */
const KEEP_MASK_NAME = /^(attention_mask|attention_masks|attn_masks?|input_mask)$/;

/** Conversions that keep the values' meaning: `.bool()`, `.to(device)`, `.cuda()`. */
const KEEPS = /^(bool|to|cuda|cpu|long|int|byte)$/;

/**
 * Whether `e` is an attention mask in the keep-is-1 convention: a parameter or key named `attention_mask`, a
 * tokenizer output's `.attention_mask`, through names and dtype/device conversions. False when unsure.
 */
function keepMask(a: Analysis, e: PyNode | undefined, depth = 0): boolean {
  const x = unparen(e);
  if (!x || depth > 4) return false;
  if (x.type === 'call') {
    const fn = x.child('function');
    if (fn?.type !== 'attribute' || !KEEPS.test(fn.child('attribute')?.text ?? '')) return false;
    return keepMask(a, fn.child('object'), depth + 1);
  }
  if (x.type === 'subscript') {
    const key = x.child('subscript');
    return key?.type === 'string' && /^['"](attention_mask|input_mask)['"]$/.test(key.text);
  }
  if (x.type === 'attribute') return x.child('attribute')?.text === 'attention_mask';
  if (x.type !== 'identifier') return false;
  const v = a.scopes.valueAt(x.text, x);
  // A parameter (`def forward(self, input_ids, attention_mask)`) or a loop target: what the file's calls pass, else
  // the name's convention (the model is often called as `model(**batch)` with the tokenizer's output).
  if (v === null) {
    if (!KEEP_MASK_NAME.test(x.text)) return false;
    const args = depth < 3 ? parameterArguments(a, x) : undefined;
    return !args || args.every((arg) => keepMask(a, arg, depth + 1) || keepMaskName(arg));
  }
  // Bound in this file: only what it was bound to counts (`attention_mask = ids == PAD` is a padding mask).
  return v ? keepMask(a, v, depth + 1) : false;
}

/** A bare name passed on under the convention's name (`model(ids, attention_mask)` in a loop over batches). */
function keepMaskName(e: PyNode): boolean {
  const x = unparen(e);
  return x?.type === 'identifier' && KEEP_MASK_NAME.test(x.text);
}

export const AR011: Rule = {
  meta: {
    id: 'AR011',
    name: 'padding-mask-inverted',
    group: 'architecture',
    defaultSeverity: 'error',
    summary: 'A tokenizer attention_mask (1 = real token) is passed as a key_padding_mask (True = ignore): the model attends only to padding.',
    why:
      'Hugging Face tokenizers return `attention_mask` with 1 on real tokens and 0 on padding. PyTorch\'s ' +
      '`src_key_padding_mask` / `key_padding_mask` (nn.Transformer*, nn.MultiheadAttention) mean the opposite: True (or 1) ' +
      'marks a position to ignore. Passing the tokenizer mask as is hides every real token and keeps the padding, so the ' +
      'encoder reads almost nothing; training still runs and the loss goes down a little, which makes it hard to spot. ' +
      'Invert it: `src_key_padding_mask=attention_mask == 0`.',
    wrong:
      'import torch.nn as nn\nclass Classifier(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.emb = nn.Embedding(30522, 128)\n        self.encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(128, 4, batch_first=True), 2)\n    def forward(self, input_ids, attention_mask):\n        return self.encoder(self.emb(input_ids), src_key_padding_mask=attention_mask)',
    right:
      'import torch.nn as nn\nclass Classifier(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.emb = nn.Embedding(30522, 128)\n        self.encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(128, 4, batch_first=True), 2)\n    def forward(self, input_ids, attention_mask):\n        return self.encoder(self.emb(input_ids), src_key_padding_mask=attention_mask == 0)',
    concept: 'Attention masks: which positions a mask keeps and which it hides',
    fixable: true,
  },
  nodeTypes: ['keyword_argument'],
  // The keyword is the statement-local first test; the visit follows parameters to their call sites.
  candidate: { reads: [], test: (kw) => PADDING_MASK_KEYWORDS.includes(kw.child('name')?.text ?? '') },
  visit(kw, ctx) {
    const name = kw.child('name')?.text;
    if (!name || !PADDING_MASK_KEYWORDS.includes(name)) return;
    const call = kw.parent?.parent;
    const value = kw.child('value');
    if (call?.type !== 'call' || !value || keywordArg(call, name) !== value) return;
    if (!keepMask(ctx.analysis, value)) return;
    const text = value.type === 'identifier' || value.type === 'subscript' || value.type === 'attribute' ? `${value.text} == 0` : `(${value.text}) == 0`;
    ctx.report({
      node: value,
      message: `${value.text} is 1 on real tokens, but ${name} is True where attention must ignore: the model sees only the padding. Pass ${text}.`,
      fixes: [{ title: 'Invert the mask', edits: [{ start: value.start, end: value.end, newText: text }] }],
    });
  },
};
