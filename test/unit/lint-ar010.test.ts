import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, fix, ids, lint, useParser } from './lint/helpers';

useParser();

const only = (code: string) => ids(code, 'AR010');
const fn = (body: string, params = 'q, k, v, mask') =>
  `${HEADER}import math\n\ndef attention(${params}):\n${body
    .split('\n')
    .map((l) => (l ? `    ${l}` : l))
    .join('\n')}\n`;

test('AR010: masked_fill(mask == 0, 0) before F.softmax (tester G repro) is an error; the fix fills with finfo.min', () => {
  const code = fn(
    'd_k = q.size(-1)\nscores = torch.matmul(q, k.transpose(-2, -1)) / d_k\nif mask is not None:\n    scores = scores.masked_fill(mask == 0, 0)\nattn = F.softmax(scores, dim=-1)\nreturn attn @ v',
  );
  const f = lint(code);
  assert.deepEqual(f.map((x) => [x.rule, x.severity]), [['AR010', 'error']]);
  assert.equal(
    f[0]!.message,
    'scores.masked_fill(mask == 0, 0) fills the masked scores with 0 before the softmax: exp(0) still gives them weight, so masked positions are attended to. Fill with torch.finfo(scores.dtype).min instead.',
  );
  assert.equal(f[0]!.range.start.line, code.split('\n').findIndex((l) => l.includes('masked_fill')));
  const fixed = fix(code, 'AR010');
  assert.match(fixed, /scores = scores\.masked_fill\(mask == 0, torch\.finfo\(scores\.dtype\)\.min\)/);
  assert.deepEqual(lint(fixed), []);
});

test('AR010: real-world spellings of the scores, the fill, the softmax and the product with the values', () => {
  // Inline in the softmax, 0.0, a causal buffer, dropout on the weights, `@`.
  assert.deepEqual(
    only(`${HEADER}
class CausalSelfAttention(nn.Module):
    def __init__(self, d, n_ctx):
        super().__init__()
        self.qkv = nn.Linear(d, 3 * d)
        self.attn_drop = nn.Dropout(0.1)
        self.register_buffer("bias", torch.tril(torch.ones(n_ctx, n_ctx)).view(1, 1, n_ctx, n_ctx))

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        att = torch.softmax(att.masked_fill(self.bias[:, :, :T, :T] == 0, 0.0), dim=-1)
        att = self.attn_drop(att)
        return att @ v
`.replace(HEADER, `${HEADER}import math\n`)),
    ['AR010'],
  );
  // The tensor method .softmax(dim=-1), einsum scores and einsum with the values, keyword value=0.
  assert.deepEqual(
    only(fn("s = torch.einsum('bhqd,bhkd->bhqk', q, k) / math.sqrt(q.shape[-1])\ns = s.masked_fill(~mask, value=0.)\nw = s.softmax(dim=-1)\nreturn torch.einsum('bhqk,bhkd->bhqd', w, v)")),
    ['AR010'],
  );
  // In place, then an nn.Softmax layer of the class and torch.bmm.
  assert.deepEqual(
    only(`${HEADER}
class Attn(nn.Module):
    def __init__(self):
        super().__init__()
        self.softmax = nn.Softmax(dim=-1)

    def forward(self, q, k, v, pad_mask):
        energy = torch.bmm(q, k.transpose(1, 2))
        energy.masked_fill_(pad_mask, 0)
        alpha = self.softmax(energy)
        return torch.bmm(alpha, v), alpha
`),
    ['AR010'],
  );
  // Through a division and .float() after the fill; the weights unsqueezed for torch.matmul.
  assert.deepEqual(
    only(fn('scores = q @ k.transpose(-2, -1)\nmasked = scores.masked_fill(mask == 0, 0)\nlogits = masked.float() / math.sqrt(q.size(-1))\np = F.softmax(logits, dim=-1)\nreturn torch.matmul(p.unsqueeze(1), v)')),
    ['AR010'],
  );
  // A module-level notebook cell.
  assert.deepEqual(
    only(`${HEADER}q = k = v = torch.randn(2, 5, 8)\nmask = torch.tril(torch.ones(5, 5)).bool()\nscores = q @ k.transpose(-2, -1) / 8 ** 0.5\nscores = scores.masked_fill(~mask, 0)\nweights = F.softmax(scores, dim=-1)\nout = weights @ v\n`),
    ['AR010'],
  );
});

test('AR010: the fill is float(\'-inf\') when the masked tensor is not a plain name, and the fix re-lints clean', () => {
  const code = fn('attn = F.softmax((q @ k.transpose(-2, -1)).masked_fill(mask == 0, 0), dim=-1)\nreturn attn @ v');
  const f = lint(code);
  assert.deepEqual(f.map((x) => x.rule), ['AR010']);
  assert.match(f[0]!.message, /Fill with float\('-inf'\) instead\.$/);
  const fixed = fix(code, 'AR010');
  assert.match(fixed, /masked_fill\(mask == 0, float\('-inf'\)\)/);
  assert.deepEqual(lint(fixed), []);
});

test('AR010: scores * mask fed to the softmax is reported (no fix)', () => {
  const code = fn('scores = torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(q.size(-1))\nattn = F.softmax(scores * mask, dim=-1)\nreturn torch.matmul(attn, v)');
  const f = lint(code);
  assert.deepEqual(f.map((x) => x.rule), ['AR010']);
  assert.equal(
    f[0]!.message,
    "scores * mask zeroes the masked scores before the softmax: exp(0) still gives them weight, so masked positions are attended to. Use .masked_fill(mask == 0, float('-inf')) instead of the product.",
  );
  assert.equal(f[0]!.fixes, undefined);
  assert.deepEqual(only(fn('scores = q @ k.transpose(-2, -1)\nattn = (scores * self_mask.unsqueeze(1)).softmax(-1)\nreturn attn @ v', 'q, k, v, self_mask')), ['AR010']);
});

test('AR010: a real masking value is fine', () => {
  for (const value of ["float('-inf')", '-1e9', 'torch.finfo(scores.dtype).min', '-math.inf', 'float("-inf")', '-10000.0', 'NEG_INF', 'fill_value']) {
    assert.deepEqual(only(fn(`NEG_INF = -1e4\nfill_value = 0\nscores = q @ k.transpose(-2, -1)\nscores = scores.masked_fill(mask == 0, ${value})\nattn = F.softmax(scores, dim=-1)\nreturn attn @ v`)), [], value);
  }
  assert.deepEqual(only(fn('scores = q @ k.transpose(-2, -1)\nattn = F.softmax(scores * mask + (1 - mask) * -1e9, dim=-1)\nreturn attn @ v')), []);
  assert.deepEqual(only(fn('scores = q @ k.transpose(-2, -1)\nattn = F.softmax(scores + mask * -1e9, dim=-1)\nreturn attn @ v')), []);
});

test('AR010: zeroing the weights after the softmax, or masking that does not reach a softmax, is fine', () => {
  // The weights of padded rows set to 0 after the softmax (the correct use of a 0 fill).
  assert.deepEqual(
    only(fn('scores = q @ k.transpose(-2, -1)\nscores = scores.masked_fill(mask == 0, -1e9)\nattn = F.softmax(scores, dim=-1)\nattn = attn.masked_fill(mask == 0, 0)\nreturn attn @ v')),
    [],
  );
  // Mean pooling of padded features, and a zero fill used for something else than a softmax.
  assert.deepEqual(only(fn('h = q.masked_fill(mask.unsqueeze(-1) == 0, 0)\npooled = h.sum(1) / mask.sum(1, keepdim=True)\nreturn pooled')), []);
  assert.deepEqual(only(fn('x = q.masked_fill(mask == 0, 0)\ny = torch.relu(x)\nreturn F.softmax(k, dim=-1) @ v')), []);
  // NaN clean-up before the softmax.
  assert.deepEqual(only(fn('scores = q @ k.transpose(-2, -1)\nscores = scores.masked_fill(torch.isnan(scores), 0)\nattn = F.softmax(scores, dim=-1)\nreturn attn @ v')), []);
});

test('AR010: a masked softmax renormalised by hand (AllenNLP style), or weights that never weight values, are fine', () => {
  assert.deepEqual(
    only(fn('scores = q @ k.transpose(-2, -1)\nresult = F.softmax(scores * mask, dim=-1)\nresult = result * mask\nresult = result / (result.sum(dim=-1, keepdim=True) + 1e-13)\nreturn result @ v')),
    [],
  );
  assert.deepEqual(only(fn('p = torch.softmax(q.masked_fill(mask, 0), dim=-1)\np *= mask\nreturn p @ v')), []);
  assert.deepEqual(only(fn('return F.softmax(q.masked_fill(mask == 0, 0), dim=-1)', 'q, mask')), []);
  // The soft target of a distillation loss, not attention.
  assert.deepEqual(only(fn('target = F.softmax(k * mask, dim=1)\nreturn F.kl_div(F.log_softmax(q * mask, dim=-1), target)', 'q, k, mask')), []);
});

test('AR010: flows that cannot be followed stay silent', () => {
  // The fill in one branch, the softmax in the other.
  assert.deepEqual(
    only(fn('scores = q @ k.transpose(-2, -1)\nif mask is not None:\n    scores = scores.masked_fill(mask == 0, 0)\nelse:\n    attn = F.softmax(scores, dim=-1)\n    return attn @ v\nreturn scores')),
    [],
  );
  // The branch that fills returns before the softmax.
  assert.deepEqual(
    only(fn('scores = q @ k.transpose(-2, -1)\nif mask is None:\n    scores = scores.masked_fill(k == 0, 0)\n    return scores\nattn = F.softmax(scores, dim=-1)\nreturn attn @ v')),
    [],
  );
  // An additive bias or an in-place -inf after the zero fill.
  assert.deepEqual(only(fn('scores = q @ k.transpose(-2, -1)\nscores = scores.masked_fill(mask, 0)\nscores = scores + bias\nattn = F.softmax(scores, dim=-1)\nreturn attn @ v', 'q, k, v, mask, bias')), []);
  assert.deepEqual(only(fn('scores = q @ k.transpose(-2, -1)\nscores = scores.masked_fill(mask, 0)\nscores += bias\nattn = F.softmax(scores, dim=-1)\nreturn attn @ v', 'q, k, v, mask, bias')), []);
  assert.deepEqual(only(fn("scores = q @ k.transpose(-2, -1)\nscores = scores.masked_fill(mask, 0)\nscores[mask] = float('-inf')\nattn = F.softmax(scores, dim=-1)\nreturn attn @ v")), []);
  // The scores are a parameter filled elsewhere; a tuple unpacking; a masking done in another function.
  assert.deepEqual(only(fn('attn = F.softmax(scores, dim=-1)\nreturn attn @ v', 'scores, v')), []);
  assert.deepEqual(only(fn('scores, _ = q.masked_fill(mask, 0), None\nattn = F.softmax(scores, dim=-1)\nreturn attn @ v')), []);
  // Not torch's softmax / masked_fill.
  assert.deepEqual(only(fn('scores = np.ma.masked_fill(q, mask, 0)\nattn = scipy.special.softmax(scores)\nreturn attn @ v')), []);
});
