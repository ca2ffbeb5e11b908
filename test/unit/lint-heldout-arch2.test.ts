// Held-out shapes for AR006: an explicit softmax `dim=0` (or `dim=-2` on a 2-D tensor) over a tensor known to be
// batch-first: a `.view(batch_size * n, m)` of attention scores, a matmul of a model output on loader batches, the
// last `nn.Softmax(dim=0)` of a model later called on a batch. Look-alikes stay quiet: 1-D vectors, seq-first RNN
// code, single samples, tensors of unknown rank.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fix, HEADER, ids, lint, useParser } from './lint/helpers';

useParser();

const only = (code: string) => ids(code, 'AR006');

test('AR006: nn.Softmax(dim=0) applied to a .view(batch_size * len, n) of bmm scores', () => {
  const code = `${HEADER}
class Attend(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.proj = nn.Linear(d, d)
        self.norm = nn.Softmax(dim=0)

    def forward(self, q, keys):
        bsz, n_out, d = q.size()
        n_in = keys.size(1)
        s = torch.bmm(self.proj(q), keys.transpose(1, 2))
        s = s.view(bsz * n_out, n_in)
        w = self.norm(s).view(bsz, n_out, n_in)
        return torch.bmm(w, keys)
`;
  assert.deepEqual(only(code), ['AR006']);
  assert.match(lint(code, { select: ['AR006'] })[0]!.message, /dim=0 of a tensor reshaped with the batch size first/);
  const fixed = fix(code, 'AR006');
  assert.match(fixed, /nn\.Softmax\(dim=-1\)/);
  assert.deepEqual(only(fixed), []);
  // The same through F.softmax and torch.softmax, and dim=-2 on the 2-D view.
  assert.deepEqual(only(code.replace('self.norm(s)', 'F.softmax(s, dim=0)')), ['AR006']);
  assert.deepEqual(only(code.replace('self.norm(s)', 'torch.softmax(s, 0)').replace('nn.Softmax(dim=0)', 'nn.Softmax(dim=1)')), ['AR006']);
  assert.deepEqual(only(code.replace('self.norm(s)', 's.softmax(dim=-2)').replace('nn.Softmax(dim=0)', 'nn.Softmax(dim=1)')), ['AR006']);
  // Look-alikes: the first size is not the batch (one image's positions), the view squeezed to 1-D, dim=-2 on 3-D.
  assert.deepEqual(only(code.replace('s.view(bsz * n_out, n_in)', 's.view(height * width, n_in)')), []);
  assert.deepEqual(only(code.replace('self.norm(s)', 'self.norm(s.squeeze())')), []);
  assert.deepEqual(only(code.replace('s = s.view(bsz * n_out, n_in)\n', '').replace('self.norm(s)', 'F.softmax(s, dim=-2)').replace('nn.Softmax(dim=0)', 'nn.Softmax(dim=1)')), []);
});

test('AR006: F.softmax(dim=0) on a matmul of a model output on loader batches', () => {
  const code = `${HEADER}
def train(encoder, protos, train_loader, opt, tau):
    for ids_, mask, y in train_loader:
        feats = encoder(ids_, mask)
        sim = torch.matmul(feats, protos.T) / tau
        assign = F.softmax(sim, dim=0)
        loss = (assign * torch.cdist(feats, protos)).sum(1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
`;
  assert.deepEqual(only(code), ['AR006']);
  assert.match(lint(code, { select: ['AR006'] })[0]!.message, /matmul of a batched tensor/);
  // A batch unpacked from the loop target, moved to the device first; an einsum with the batch index first.
  const unpacked = code.replace('for ids_, mask, y in train_loader:', 'for batch in train_loader:\n        batch = tuple(t.to("cuda") for t in batch)\n        ids_, mask, y = batch');
  assert.deepEqual(only(unpacked), ['AR006']);
  assert.deepEqual(only(code.replace('torch.matmul(feats, protos.T)', "torch.einsum('bd,kd->bk', feats, protos)")), ['AR006']);
  // Quiet: over the other axis, a product with a vector (a 1-D batch of scores), prototypes first (rows are prototypes).
  assert.deepEqual(only(code.replace('dim=0', 'dim=1')), []);
  assert.deepEqual(only(code.replace('torch.matmul(feats, protos.T)', 'torch.matmul(feats, query)')), []);
  assert.deepEqual(only(code.replace('torch.matmul(feats, protos.T)', 'torch.matmul(protos, feats.T)')), []);
  assert.deepEqual(only(code.replace("torch.matmul(feats, protos.T)", "torch.einsum('kd,bd->kb', protos, feats)")), []);
  // Quiet: a loop over the samples of one batch, and a loop over something that is not a loader.
  assert.deepEqual(only(code.replace('for ids_, mask, y in train_loader:', 'for ids_, mask, y in batch:')), []);
  assert.deepEqual(only(code.replace('for ids_, mask, y in train_loader:', 'for ids_, mask, y in pairs:')), []);
});

test('AR006: the last nn.Softmax(dim=0) of a Sequential later called on a batch', () => {
  const code = `${HEADER}
policy = nn.Sequential(nn.Linear(4, 64), nn.ReLU(), nn.Linear(64, 2), nn.Softmax(dim=0))
probs = policy(torch.from_numpy(state).float())
states = torch.Tensor([s for (s, a, r) in episode])
obs_batch = states
pred = policy(obs_batch)
`;
  assert.deepEqual(only(code), ['AR006']);
  assert.match(lint(code, { select: ['AR006'] })[0]!.message, /model output on the batch `obs_batch`/);
  // Called on single states only: quiet (a 1-D output, dim 0 is the actions).
  assert.deepEqual(only(code.replace('pred = policy(obs_batch)', 'pred = policy(states[0])')), []);
  // Not the last layer, or no Linear / convolution before it.
  assert.deepEqual(only(code.replace('nn.Softmax(dim=0))', 'nn.Softmax(dim=0), nn.Linear(2, 2))')), []);
  assert.deepEqual(only(code.replace('nn.Linear(4, 64), nn.ReLU(), nn.Linear(64, 2), ', '')), []);
});

test('AR006: forward receives loader batches: softmax(dim=0) of a Linear output in forward', () => {
  const code = `${HEADER}
class Head(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(16, 5)

    def forward(self, x):
        return F.softmax(self.fc(x), dim=0)

head = Head()
for x, y in DataLoader(ds, batch_size=32):
    p = head(x)
`;
  assert.deepEqual(only(code), ['AR006']);
  // Only ever called on one sample: quiet.
  assert.deepEqual(only(code.replace("for x, y in DataLoader(ds, batch_size=32):\n    p = head(x)", 'p = head(torch.randn(16))')), []);
});

test('AR006: seq-first RNN code and vectors stay quiet', () => {
  // Attention over time steps, (T, B) energies, in a file whose GRU is seq-first.
  const seq = `${HEADER}
class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(100, 8)
        self.rnn = nn.GRU(8, 8)
        self.score = nn.Linear(8, 1)

    def forward(self, src):
        h, _ = self.rnn(self.emb(src))
        e = self.score(self.emb(src))
        a = F.softmax(e, dim=0)
        return (a * h).sum(0)

enc = Encoder()
for src, trg in train_loader:
    out = enc(src)
`;
  assert.deepEqual(only(seq), []);
  // The same with batch_first=True: the embedding of the loader batch is batch-first.
  assert.deepEqual(only(seq.replace('nn.GRU(8, 8)', 'nn.GRU(8, 8, batch_first=True)')), ['AR006']);
  // Attention weights of one sample, a learned mixing vector, a stacked list, unknown tensors.
  const vec = `${HEADER}
w = F.softmax(scores.squeeze(), dim=0)
mix = torch.softmax(self_weights, dim=0)
alpha = F.softmax(torch.stack([a, b, c]), dim=0)
p = F.softmax(x, dim=0)
`;
  assert.deepEqual(only(vec), []);
});
