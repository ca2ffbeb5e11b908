import assert from 'node:assert/strict';
import { test } from 'node:test';
import { editSteps, HEADER, ids, indent, lint, useParser } from './lint/helpers';

useParser();

// ---- AR013 axes-reordered-by-view ----

/** A function body over a tensor `x` (and `y`). */
const fn = (body: string) => `${HEADER}\ndef f(x, y, n_heads):\n${indent(body, 4)}\n`;
const one = (body: string) => ids(fn(body), 'AR013');

test('AR013: a tensor reshaped into its own sizes in another order is a warning with the permute to use', () => {
  const f = lint(fn('B, L, H, D = x.shape\nx = x.view(B, H, L, -1)\nreturn x'), { select: ['AR013'] });
  assert.deepEqual(f.map((x) => `${x.rule}:${x.severity}`), ['AR013:warning']);
  assert.match(f[0]!.message, /x\.view\(B, H, L, -1\) swaps axes of x \(B, L, H, D\)/);
  assert.match(f[0]!.message, /x\.permute\(0, 2, 1, 3\)/);
  assert.ok(!f[0]!.message.includes('\n'));
});

test('AR013: the sizes read every way: unpacking, size(), size(i), shape[i], slices, inline, torch.reshape, a tuple, -1 for the rest', () => {
  assert.deepEqual(one('c, h, w = x.shape\nreturn x.view(h, w, c)'), ['AR013'], 'an image (c, h, w) read as (h, w, c)');
  assert.deepEqual(one('b, c, h, w = x.size()\nreturn x.reshape(b, h * w, c)'), ['AR013'], 'merged spatial axes put before the channels');
  assert.deepEqual(one('b = x.size(0)\nt = x.size(1)\nd = x.size(2)\nreturn x.view(b, d, t)'), ['AR013'], 'size(i) names');
  assert.deepEqual(one('b = x.shape[0]\nt = x.shape[1]\nreturn x.view(t, b, -1)'), ['AR013'], 'shape[i] names');
  assert.deepEqual(one('return x.view(x.size(0), x.size(2), x.size(1))'), ['AR013'], 'inline sizes');
  assert.deepEqual(one('B, C = x.shape[:2]\nh, w = x.shape[-2:]\nreturn x.view(B, h * w, C)'), ['AR013'], 'head and tail slices');
  assert.deepEqual(one('B, L, D = x.shape\nreturn torch.reshape(x, (B, D, L))'), ['AR013'], 'torch.reshape with a tuple');
  assert.deepEqual(one('B, L, D = x.shape\nreturn x.reshape([B, D, L])'), ['AR013'], 'a list of sizes');
  assert.deepEqual(one('B, L, D = x.shape\nreturn x.view(B, -1, L)'), ['AR013'], '-1 stands for D, so L comes last');
  assert.deepEqual(one('B, L, C = x.shape\nreturn x.view(B, n_heads, L, C // n_heads)'), ['AR013'], 'n_heads is a part of C (C // n_heads), put before L');
  assert.deepEqual(one('B, L, D = x.shape\nfor _ in range(3):\n    y = x.view(B, D, L)\nreturn y'), ['AR013'], 'in a loop that does not change x');
  assert.deepEqual(one('B, L, D = x.size()\nreturn x.contiguous().view(B, D, L)'), ['AR013'], 'through contiguous()');
});

test('AR013: reshapes that keep the order, or a tensor that changed after its sizes were read, are not reported', () => {
  assert.deepEqual(one('B, L, H, D = x.shape\nreturn x.view(B, L, H * D)'), [], 'merge in order');
  assert.deepEqual(one('B, L, D = x.shape\nreturn x.view(B * L, -1)'), [], 'merge with -1');
  assert.deepEqual(one('B, L, D = x.shape\nreturn x.view(B, L, n_heads, D // n_heads)'), [], 'split of the last axis');
  assert.deepEqual(one('B, L, H, D = x.shape\nreturn x.view(B, L, H, D)'), [], 'same order');
  assert.deepEqual(one('B, L, D = x.shape\nreturn x.view(-1, L, D)'), [], '-1 for the batch');
  assert.deepEqual(one('B, C, H, W = x.shape\nreturn x.view(B, C // 4, 2, 2, H, W)'), [], 'split of the channels in order');
  assert.deepEqual(one('B, L, D = x.shape\nx = x.transpose(1, 2)\nreturn x.reshape(B, D, L)'), [], 'transposed in between');
  assert.deepEqual(one('B, L, D = x.shape\nx.transpose_(1, 2)\nreturn x.reshape(B, D, L)'), [], 'transposed in place in between');
  assert.deepEqual(one('B, L, D = x.shape\nreturn x.transpose(1, 2).reshape(B, D, L)'), [], 'the receiver is the transposed tensor');
  assert.deepEqual(one('B, L, D = y.shape\nreturn x.view(B, D, L)'), [], 'the sizes of another tensor');
  assert.deepEqual(one('B, L, D = x.shape\nL, D = D, L\nreturn x.view(B, L, D)'), [], 'the names rebound');
  assert.deepEqual(one('B, L, D = x.shape\nfor _ in range(3):\n    x = x.view(B, D, L)\nreturn x'), [], 'a loop that changes x: another iteration has another shape');
  assert.deepEqual(one('B, L, D = x.shape\nreturn x.view(torch.float16)'), [], 'a dtype view');
  assert.deepEqual(one('B, L, D = x.shape\nreturn rearrange(x, "b l d -> b d l")'), [], 'rearrange names its axes');
});

/** An attention module whose __init__ builds `self.q` (a Linear unless told) and whose forward is given. */
const attention = (forward: string, q = 'nn.Linear(d, d)') =>
  `${HEADER}\nclass Attention(nn.Module):\n    def __init__(self, d, n_heads):\n        super().__init__()\n        self.n_heads, self.head_dim = n_heads, d // n_heads\n        self.q = ${q}\n        self.qkv = nn.Linear(d, 3 * d)\n        self.conv = nn.Conv2d(d, d, 1)\n\n    def forward(self, x):\n${indent(forward, 8)}\n`;
const heads = (forward: string, q?: string) => ids(attention(forward, q), 'AR013');

test('AR013: heads split in front of the sequence from a Linear output, with the split to use', () => {
  const f = lint(attention('B, T, C = x.shape\nq = self.q(x).view(B, self.n_heads, T, self.head_dim)\nreturn q'), { select: ['AR013'] });
  assert.deepEqual(f.map((x) => x.rule), ['AR013']);
  assert.match(f[0]!.message, /puts the heads before the sequence axis/);
  assert.match(f[0]!.message, /\.view\(B, T, self\.n_heads, self\.head_dim\)\.transpose\(1, 2\)/);
  assert.deepEqual(heads('B = x.size(0)\nq = self.q(x)\nreturn q.view(B, self.n_heads, -1, self.head_dim)'), ['AR013'], 'through a name, -1 for the sequence');
  const merged = lint(attention('B = x.size(0)\nq = self.q(x)\nreturn q.view(B * self.n_heads, -1, self.head_dim)'), { select: ['AR013'] });
  assert.deepEqual(merged.map((x) => x.rule), ['AR013'], 'batch and heads merged in front');
  assert.match(merged[0]!.message, /\.view\(B, -1, self\.n_heads, self\.head_dim\)\.transpose\(1, 2\)\.reshape\(B \* self\.n_heads, -1, self\.head_dim\)/);
  assert.deepEqual(heads('B, T, C = x.shape\nH = self.n_heads\nreturn self.q(x).view(B, H, T, C // H)'), ['AR013'], 'H with C // H');
  assert.deepEqual(heads('B, T, C = x.shape\nq, k, v = self.qkv(x).chunk(3, dim=-1)\nreturn k.view(B, self.n_heads, T, C // self.n_heads)'), ['AR013'], 'a part of a fused projection');
  assert.deepEqual(heads('B, T, C = x.shape\nreturn self.q(x).contiguous().view(B, self.n_heads, T, self.head_dim)'), ['AR013'], 'through contiguous()');
});

test('AR013: correct head splits and other projections are not reported', () => {
  assert.deepEqual(heads('B, T, C = x.shape\nreturn self.q(x).view(B, T, self.n_heads, self.head_dim).transpose(1, 2)'), [], 'the right split');
  assert.deepEqual(heads('B = x.size(0)\nq = self.q(x).view(B, -1, self.n_heads, self.head_dim)\nreturn torch.einsum("bqhd,bkhd->bhqk", q, q)'), [], 'sequence first, einsum after');
  assert.deepEqual(heads('T, B, C = x.shape\nreturn self.q(x).view(T, B * self.n_heads, self.head_dim).transpose(0, 1)'), [], 'sequence-first, heads merged after the batch');
  assert.deepEqual(heads('B, C, H, W = x.shape\nreturn self.conv(x).view(B, self.n_heads, C // self.n_heads, H * W)'), [], 'a conv output split along the channels');
  assert.deepEqual(heads('T, B, C = x.shape\nq = self.q(x).view(T, B, self.n_heads, self.head_dim).permute(2, 1, 0, 3)\nreturn q.contiguous().view(-1, T, self.head_dim)'), [], 'permuted first (the Attention-is-all-you-need form)');
  assert.deepEqual(heads('B, T, C = x.shape\nq = self.q(x)\nq = q.transpose(1, 2)\nreturn q.view(B, self.n_heads, T, -1)'), [], 'transposed before the view');
  assert.deepEqual(heads('b, h, w, c = x.shape\nreturn self.q(x).view(b, h, w, c)'), [], 'h is a height, not heads');
  assert.deepEqual(heads('B = x.size(0)\nreturn self.q(x).view(B, self.n_heads, self.head_dim)'), [], 'no sequence axis');
  assert.deepEqual(heads('B = x.size(0)\nreturn self.q(x).view(B, self.n_heads, 16, self.head_dim)', 'nn.Linear(d, n_heads * 16 * d)'), [], 'a literal length is not a sequence');
  assert.deepEqual(heads('B = x.size(0)\nreturn self.q(x).view(B, self.n_heads, self.prefix_len, self.head_dim)', 'nn.Linear(d, n_heads * self.prefix_len * d)'), [], 'a projection that makes the sequence itself');
  assert.deepEqual(heads('B, T, C = x.shape\nreturn self.q(x).view(B, self.n_heads, T, self.head_dim)', 'nn.Conv1d(d, d, 1)'), [], 'not a Linear');
});

test('AR013: module-level script code: sizes read in one statement, reshape in another, and the editor agrees with a fresh lint', () => {
  const script = `${HEADER}\nseries = torch.randn(64, 20)\nn, steps = series.shape\nbatch = series.view(steps, n, 1)\nlstm = nn.LSTM(1, 8)\nout, _ = lstm(batch)\n`;
  assert.deepEqual(ids(script, 'AR013'), ['AR013'], 'a (n, steps) series read as (steps, n, 1)');
  assert.deepEqual(ids(script.replace('batch = series.view', 'series = series.t()\nbatch = series.view'), 'AR013'), [], 'rebound in a statement between');
  editSteps(script, [
    ['series.view(steps, n, 1)', 'series.view(n, steps, 1)'],
    ['series.view(n, steps, 1)', 'series.view(steps, n, 1)'],
  ]);
});

/** An attention module splitting `self.qkv(x)` (B, T, 3C) into heads; `split` and `rest` are forward's lines after `B, T, C = x.shape`. */
const merge = (rest: string, split = 'q, k, v = [t.view(B, T, self.n_heads, self.head_dim).transpose(1, 2) for t in self.qkv(x).chunk(3, dim=-1)]', extra = '') =>
  ids(
    `${HEADER}\nclass Attention(nn.Module):\n    def __init__(self, d, n_heads):\n        super().__init__()\n        self.n_heads, self.head_dim = n_heads, d // n_heads\n        self.qkv = nn.Linear(d, 3 * d)\n        self.q = nn.Linear(d, d)\n        self.k = nn.Linear(d, d)\n        self.v = nn.Linear(d, d)\n        self.drop = nn.Dropout(0.1)\n${indent(extra, 4)}\n\n    def forward(self, x):\n        B, T, C = x.shape\n${indent(split, 8)}\n${indent(rest, 8)}\n`,
    'AR013',
  );
/** q, k, v split right, one statement each. */
const SPLIT = ['q', 'k', 'v'].map((t) => `${t} = self.${t}(x).view(B, T, self.n_heads, self.head_dim).transpose(1, 2)`).join('\n');

test('AR013: a (B, H, T, D) attention output reshaped to (B, T, C) without moving the heads back', () => {
  const f = lint(
    `${HEADER}\nclass A(nn.Module):\n    def __init__(self, d, n_heads):\n        super().__init__()\n        self.n_heads, self.head_dim = n_heads, d // n_heads\n        self.v = nn.Linear(d, d)\n\n    def forward(self, x):\n        B, T, C = x.shape\n        v = self.v(x).view(B, T, self.n_heads, self.head_dim).transpose(1, 2)\n        att = (v @ v.transpose(-2, -1)).softmax(dim=-1)\n        return (att @ v).reshape(B, T, C)\n`,
    { select: ['AR013'] },
  );
  assert.deepEqual(f.map((x) => x.rule), ['AR013']);
  assert.match(f[0]!.message, /merges a \(batch, heads, seq, dim\) attention output/);
  assert.match(f[0]!.message, /\.transpose\(1, 2\)\.reshape\(B, T, C\)/);
  assert.deepEqual(merge('att = F.softmax(torch.matmul(q, k.transpose(-2, -1)) / self.head_dim ** 0.5, dim=-1)\natt = self.drop(att)\nout = torch.matmul(att, v)\nreturn out.view(B, T, C)', SPLIT), ['AR013'], 'matmul, softmax, dropout keep the layout');
  assert.deepEqual(merge('out = F.scaled_dot_product_attention(q, k, v)\nreturn out.contiguous().view(B, -1, self.n_heads * self.head_dim)', SPLIT), ['AR013'], 'scaled_dot_product_attention, -1 for the sequence');
  assert.deepEqual(merge('out = torch.matmul(torch.softmax(q @ k.transpose(2, 3), dim=-1), v)\nreturn out.reshape(B, T, -1)', SPLIT), ['AR013'], '-1 for the width');
  assert.deepEqual(
    merge('q, k, v = q.permute(0, 2, 1, 3), k.permute(0, 2, 1, 3), v.permute(0, 2, 1, 3)\nout, att = self.attend(q, k, v)\nreturn out.reshape(B, T, C)', 'q, k, v = self.project(x)', 'def project(self, x):\n    return self.q(x), self.k(x), self.v(x)\n\ndef attend(self, q, k, v):\n    att = torch.softmax(q @ k.transpose(-2, -1), dim=-1)\n    return att @ v, att'),
    ['AR013'],
    'permuted, then through a method returning (values, attention)',
  );
  const module = (merged: string) =>
    `${HEADER}\nclass Dot(nn.Module):\n    def forward(self, q, k, v):\n        att = F.softmax(torch.bmm(q, k.permute(0, 2, 1)), dim=-1)\n        return torch.bmm(att, v)\n\n` +
    `class Heads(nn.Module):\n    def __init__(self, d, num_head):\n        super().__init__()\n        self.num_head, self.dim_head = num_head, d // num_head\n        self.v = nn.Linear(d, d)\n        self.attention = Dot()\n\n` +
    `    def forward(self, x):\n        B, T, C = x.shape\n        v = self.v(x).view(B, T, self.num_head, self.dim_head).transpose(1, 2).reshape(B * self.num_head, T, self.dim_head)\n        ctx = self.attention(v, v, v)\n        return ${merged}\n`;
  assert.deepEqual(ids(module('ctx.view(B, -1, self.num_head * self.dim_head)'), 'AR013'), ['AR013'], '(B*H, T, D) through the forward of a module of the file');
  assert.deepEqual(ids(module('ctx.view(B, self.num_head, T, self.dim_head).transpose(1, 2).reshape(B, T, C)'), 'AR013'), [], 'the right merge of (B*H, T, D)');
});

test('AR013: attention outputs moved back before the merge, or whose layout is not known, are not reported', () => {
  const attend = 'att = torch.softmax(q @ k.transpose(-2, -1), dim=-1)\nout = att @ v\n';
  assert.deepEqual(merge(`${attend}return out.transpose(1, 2).contiguous().view(B, T, C)`, SPLIT), [], 'transposed back');
  assert.deepEqual(merge(`${attend}return out.permute(0, 2, 1, 3).reshape(B, T, C)`, SPLIT), [], 'permuted back');
  assert.deepEqual(merge(`${attend}out = out.transpose(1, 2)\nreturn out.reshape(B, T, C)`, SPLIT), [], 'transposed back in a statement before');
  assert.deepEqual(merge('out = torch.einsum("bhqk,bhkd->bqhd", torch.softmax(q @ k.transpose(-2, -1), dim=-1), v)\nreturn out.reshape(B, T, C)', SPLIT), [], 'an einsum that writes b q h d');
  assert.deepEqual(merge(`${attend}return rearrange(out, "b h t d -> b t (h d)")`, SPLIT), [], 'rearrange');
  assert.deepEqual(merge(`${attend}return out.reshape(B * self.n_heads, T, self.head_dim)`, SPLIT), [], 'heads merged into the batch, in order');
  assert.deepEqual(merge(`${attend}return out.reshape(B, -1)`, SPLIT), [], 'flattened whole');
  assert.deepEqual(merge('o = self.q(x).view(B, T, self.n_heads, self.head_dim)\nreturn (o @ o.transpose(-2, -1) @ o).reshape(B, T, C)'), [], 'sequence-first heads: the merge is right');
  assert.deepEqual(merge('o = self.attn_fn(x)\nreturn o.permute(0, 2, 1, 3).reshape(B, T, C)'), [], 'an output of unknown layout permuted back');
  assert.deepEqual(merge('o = self.attn_fn(x).permute(0, 2, 1, 3)\nreturn o.reshape(B, T, C)'), [], 'permuted, no attention product after');
  assert.deepEqual(merge(`${attend}if self.training:\n    out = out.transpose(1, 2)\nreturn out.reshape(B, T, C)`, SPLIT), [], 'the branches disagree');
});
