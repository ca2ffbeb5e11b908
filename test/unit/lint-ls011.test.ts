// LS011: targets padded with pad_sequence's value scored by a loss that does not ignore it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, fix, ids, useParser } from './lint/helpers';

useParser();

const PAD = `${HEADER}from torch.nn.utils.rnn import pad_sequence\n`;
const ner = (padding: string, crit: string) => `${PAD}
def collate(batch):
    tokens = pad_sequence([b[0] for b in batch], batch_first=True)
    tags = pad_sequence([b[1] for b in batch], batch_first=True${padding})
    return tokens, tags

loader = DataLoader(train_ds, batch_size=32, shuffle=True, collate_fn=collate)
criterion = ${crit}
for tokens, tags in loader:
    optimizer.zero_grad()
    logits = model(tokens)
    loss = criterion(logits.view(-1, n_tags), tags.view(-1))
    loss.backward()
    optimizer.step()
`;

test('LS011: NER tags padded with 0 in collate_fn, CrossEntropyLoss without ignore_index; fix adds it', () => {
  const code = ner('', 'nn.CrossEntropyLoss()');
  assert.deepEqual(ids(code, 'LS011'), ['LS011']);
  const fixed = fix(code, 'LS011');
  assert.match(fixed, /nn\.CrossEntropyLoss\(ignore_index=0\)/);
  assert.deepEqual(ids(fixed, 'LS011'), []);
  assert.deepEqual(ids(ner(', padding_value=PAD_IDX', 'nn.CrossEntropyLoss(ignore_index=-100)').replace(PAD, `${PAD}PAD_IDX = 1\n`), 'LS011'), ['LS011']);
});

test('LS011: a language model with a lambda collate and shifted targets batch[:, 1:]', () => {
  const code = `${PAD}PAD_ID = 0
loader = DataLoader(sents, batch_size=20, shuffle=True, collate_fn=lambda b: pad_sequence(b, batch_first=True, padding_value=PAD_ID))
criterion = nn.CrossEntropyLoss()
for i, batch in enumerate(loader):
    batch = batch.to(device)
    output = model(batch[:, :-1])
    loss = criterion(output.reshape(-1, ntokens), batch[:, 1:].reshape(-1))
    loss.backward()
`;
  assert.deepEqual(ids(code, 'LS011'), ['LS011']);
});

test('LS011 look-alikes: ignore_index matching the padding, labels padded with -100, masked targets, reduction none', () => {
  assert.deepEqual(ids(ner('', 'nn.CrossEntropyLoss(ignore_index=0)'), 'LS011'), []);
  assert.deepEqual(ids(ner(', padding_value=-100', 'nn.CrossEntropyLoss()'), 'LS011'), []);
  assert.deepEqual(ids(ner('', "nn.CrossEntropyLoss(reduction='none')"), 'LS011'), []);
  const masked = ner('', 'nn.CrossEntropyLoss()').replace('tags.view(-1))', 'tags.view(-1)[keep])').replace('logits.view(-1, n_tags)', 'logits.view(-1, n_tags)[keep]');
  assert.deepEqual(ids(masked, 'LS011'), []);
  // Sequence-level labels (one per sentence) are not padded: only the inputs are.
  const cls = ner('', 'nn.CrossEntropyLoss()').replace('tags = pad_sequence([b[1] for b in batch], batch_first=True)', 'tags = torch.tensor([b[1] for b in batch])');
  assert.deepEqual(ids(cls, 'LS011'), []);
});

test('LS011: a loss passed to a train function; call sites that configure it differently are left alone', () => {
  const body = ner('', 'None').replace(/criterion = None\nfor tokens, tags in loader:\n((?: {4}.*\n)+)/, (_m, loop: string) => `def train(model, criterion):\n    for tokens, tags in loader:\n${loop.replace(/^/gm, '    ').replace(/^ {4}$/gm, '')}`);
  const one = `${body}\ntrain(model, nn.CrossEntropyLoss())\n`;
  assert.deepEqual(ids(one, 'LS011'), ['LS011']);
  const fixed = fix(one, 'LS011');
  assert.match(fixed, /train\(model, nn\.CrossEntropyLoss\(ignore_index=0\)\)/);
  assert.deepEqual(ids(fixed, 'LS011'), []);
  // One call site ignores the padding: which configuration applies depends on the call.
  assert.deepEqual(ids(`${one}train(model, nn.CrossEntropyLoss(ignore_index=0))\n`, 'LS011'), []);
});
