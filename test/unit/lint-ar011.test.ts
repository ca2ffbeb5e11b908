// AR011: a tokenizer attention_mask (1 = keep) passed as a PyTorch key_padding_mask (True = ignore).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, fix, ids, useParser } from './lint/helpers';

useParser();

const model = (mask: string, call = '') => `${HEADER}
class TextClassifier(nn.Module):
    def __init__(self, vocab=30522, d=128):
        super().__init__()
        self.emb = nn.Embedding(vocab, d, padding_idx=0)
        layer = nn.TransformerEncoderLayer(d, 4, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, 2)
        self.head = nn.Linear(d, 2)

    def forward(self, input_ids, attention_mask):
        h = self.encoder(self.emb(input_ids), src_key_padding_mask=${mask})
        return self.head(h[:, 0])
${call}`;

test('AR011: forward passes its attention_mask parameter straight to src_key_padding_mask; the fix inverts it', () => {
  const code = model('attention_mask');
  assert.deepEqual(ids(code, 'AR011'), ['AR011']);
  const fixed = fix(code, 'AR011');
  assert.match(fixed, /src_key_padding_mask=attention_mask == 0\)/);
  assert.deepEqual(ids(fixed, 'AR011'), []);
  assert.deepEqual(ids(model('attention_mask.bool()'), 'AR011'), ['AR011']);
});

test('AR011: a tokenizer batch and MultiheadAttention key_padding_mask', () => {
  const code = `${HEADER}
mha = nn.MultiheadAttention(64, 4, batch_first=True)
for batch in loader:
    x = embed(batch["input_ids"])
    mask = batch["attention_mask"].to(device)
    out, _ = mha(x, x, x, key_padding_mask=mask)
`;
  assert.deepEqual(ids(code, 'AR011'), ['AR011']);
});

test('AR011 look-alikes: inverted masks, padding masks built from the ids, call sites passing a padding mask', () => {
  assert.deepEqual(ids(model('attention_mask == 0'), 'AR011'), []);
  assert.deepEqual(ids(model('~attention_mask.bool()'), 'AR011'), []);
  assert.deepEqual(ids(model('attention_mask.logical_not()'), 'AR011'), []);
  const padMask = `${HEADER}
for ids_batch in loader:
    pad_mask = ids_batch == PAD
    out = encoder(embed(ids_batch), src_key_padding_mask=pad_mask)
`;
  assert.deepEqual(ids(padMask, 'AR011'), []);
  // A function whose callers pass a mask that is already True on padding.
  const helper = `${HEADER}
def encode(x, attention_mask):
    return encoder(x, src_key_padding_mask=attention_mask)

h = encode(embed(ids), ids == 0)
`;
  assert.deepEqual(ids(helper, 'AR011'), []);
  // A name the file binds to a padding mask, whatever it is called.
  const named = `${HEADER}
attention_mask = tokens.eq(0)
out = encoder(x, src_key_padding_mask=attention_mask)
`;
  assert.deepEqual(ids(named, 'AR011'), []);
});
