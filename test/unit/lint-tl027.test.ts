import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, fix, ids, lint, useParser } from './lint/helpers';

useParser();

const SETUP = 'model = nn.LSTM(10, 20)\noptimizer = torch.optim.Adam(model.parameters(), lr=1e-3)\ncriterion = nn.CrossEntropyLoss()\n';
const indent = (body: string, by = '    ') => body.split('\n').map((l) => (l ? by + l : l)).join('\n');
/** `for x, y in train_loader:` with `body`, after `pre`. */
const loop = (body: string, pre = '') => `${HEADER}\n${SETUP}${pre}for x, y in train_loader:\n${indent(body)}\n`;

const PLAIN = 'optimizer.zero_grad()\nloss = criterion(model(x), y)\nloss.backward(retain_graph=True)\noptimizer.step()';

test('TL027: plain loop with backward(retain_graph=True): warning, fix removes the argument and re-lints clean', () => {
  const code = loop(PLAIN);
  const f = lint(code);
  assert.deepEqual(f.map((x) => [x.rule, x.severity]), [['TL027', 'warning']]);
  assert.equal(
    f[0]!.message,
    'backward(retain_graph=True) runs every iteration but nothing backpropagates through this graph again: it only keeps the graph\'s buffers alive, and if any tensor is carried to the next batch, every step keeps all earlier graphs and memory and step time grow. Drop retain_graph=True; if a hidden state is carried across batches, detach it (hidden = hidden.detach()) before the next step.',
  );
  assert.equal(f[0]!.range.start.line, code.split('\n').findIndex((l) => l.includes('retain_graph')));
  const fixed = fix(code, 'TL027');
  assert.match(fixed, /\n {4}loss\.backward\(\)\n/);
  assert.deepEqual(lint(fixed), []);
});

test('TL027: RNN language model carrying hidden across batches: names the state, no fix', () => {
  const code = `${HEADER}
model = RNNModel(ntokens, 200, 200, 2)
optimizer = torch.optim.SGD(model.parameters(), lr=20)
criterion = nn.NLLLoss()
for epoch in range(epochs):
    hidden = model.init_hidden(batch_size)
    for batch, i in enumerate(range(0, train_data.size(0) - 1, bptt)):
        data, targets = get_batch(train_data, i)
        optimizer.zero_grad()
        output, hidden = model(data, hidden)
        loss = criterion(output, targets)
        loss.backward(retain_graph=True)
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.25)
        optimizer.step()
`;
  const f = lint(code, { select: ['TL027'] });
  assert.deepEqual(f.map((x) => x.rule), ['TL027']);
  assert.match(f[0]!.message, /hidden is carried from batch to batch without \.detach\(\)/);
  assert.match(f[0]!.message, /\(hidden = hidden\.detach\(\); for an LSTM's \(h, c\) tuple, each tensor\)/);
  assert.equal(f[0]!.fixes, undefined);
});

test('TL027: torch.autograd.backward(loss, retain_graph=True) and scaler.scale(loss).backward(retain_graph=True)', () => {
  const code = loop('optimizer.zero_grad()\nloss = criterion(model(x), y)\ntorch.autograd.backward(loss, retain_graph=True)\noptimizer.step()');
  assert.deepEqual(ids(code), ['TL027']);
  const fixed = fix(code, 'TL027');
  assert.match(fixed, /torch\.autograd\.backward\(loss\)\n/);
  assert.deepEqual(lint(fixed), []);
  const amp = loop(
    'optimizer.zero_grad()\nwith torch.autocast("cuda"):\n    loss = criterion(model(x), y)\nscaler.scale(loss).backward(retain_graph=True)\nscaler.step(optimizer)\nscaler.update()',
    'scaler = torch.cuda.amp.GradScaler()\n',
  );
  assert.deepEqual(ids(amp, 'TL027'), ['TL027']);
});

test('TL027: detached hidden state: still reported (retain_graph is useless), fix offered', () => {
  const code = loop(
    'hidden = repackage_hidden(hidden)\noptimizer.zero_grad()\nout, hidden = model(x, hidden)\nloss = criterion(out, y)\nloss.backward(retain_graph=True)\noptimizer.step()',
    'hidden = None\n',
  );
  const f = lint(code).filter((x) => x.rule === 'TL027');
  assert.equal(f.length, 1);
  assert.ok(f[0]!.fixes);
  assert.doesNotMatch(fix(code, 'TL027'), /retain_graph/);
});

test('TL027: GAN with a second backward through the shared graph is silent', () => {
  const code = `${HEADER}
opt_g = torch.optim.Adam(G.parameters(), lr=2e-4)
opt_d = torch.optim.Adam(D.parameters(), lr=2e-4)
for real, _ in dataloader:
    fake = G(torch.randn(real.size(0), 100))
    opt_d.zero_grad()
    d_loss = bce(D(real), ones) + bce(D(fake), zeros)
    d_loss.backward(retain_graph=True)
    opt_d.step()
    opt_g.zero_grad()
    g_loss = bce(D(fake), ones)
    g_loss.backward()
    opt_g.step()
`;
  assert.deepEqual(ids(code, 'TL027'), []);
  // multi-task: grad of a second loss through the shared trunk
  assert.deepEqual(
    ids(loop('optimizer.zero_grad()\nloss = criterion(model(x), y)\nloss.backward(retain_graph=True)\ng = torch.autograd.grad(loss2, model.parameters())\noptimizer.step()'), 'TL027'),
    [],
  );
  // a helper of the file that back-propagates again
  assert.deepEqual(
    ids(loop('optimizer.zero_grad()\nloss = criterion(model(x), y)\nloss.backward(retain_graph=True)\naux_step(loss)\noptimizer.step()', 'def aux_step(l):\n    (l * 2).backward()\n'), 'TL027'),
    [],
  );
});

test('TL027: create_graph=True, non-literal retain_graph, outside loops, no optimizer step: silent', () => {
  assert.deepEqual(ids(loop('optimizer.zero_grad()\nloss = criterion(model(x), y)\nloss.backward(retain_graph=True, create_graph=True)\noptimizer.step()'), 'TL027'), []);
  assert.deepEqual(ids(loop('optimizer.zero_grad()\nloss = criterion(model(x), y)\nloss.backward(retain_graph=retain)\noptimizer.step()'), 'TL027'), []);
  assert.deepEqual(ids(`${HEADER}\n${SETUP}loss = criterion(model(x), y)\nloss.backward(retain_graph=True)\noptimizer.step()\n`, 'TL027'), []);
  assert.deepEqual(ids(loop('loss = criterion(model(x), y)\nloss.backward(retain_graph=True)\ngrads.append(x.grad)'), 'TL027'), []);
  // backward in a function called from the loop (unknown structure)
  assert.deepEqual(
    ids(loop('train_step(x, y)', 'def train_step(x, y):\n    optimizer.zero_grad()\n    criterion(model(x), y).backward(retain_graph=True)\n    optimizer.step()\n'), 'TL027'),
    [],
  );
});

test('TL027: per-timestep backward in an inner loop and a graph built before the loop are silent', () => {
  // several backwards through the shared prefix, one step per batch
  assert.deepEqual(
    ids(loop('optimizer.zero_grad()\nouts = model(x)\nfor t in range(T):\n    criterion(outs[t], y[t]).backward(retain_graph=True)\noptimizer.step()'), 'TL027'),
    [],
  );
  // a loss built once before the loop and back-propagated every iteration needs the graph
  assert.deepEqual(
    ids(`${HEADER}\n${SETUP}feats = encoder(x)\nloss = feats.pow(2).mean()\nfor batch in batches:\n    optimizer.zero_grad()\n    loss.backward(retain_graph=True)\n    optimizer.step()\n`, 'TL027'),
    [],
  );
  // not a mini-batch loop (optimizing over a fixed input)
  assert.deepEqual(
    ids(`${HEADER}\n${SETUP}for it in range(300):\n    optimizer.zero_grad()\n    loss = criterion(model(x), y)\n    loss.backward(retain_graph=True)\n    optimizer.step()\n`, 'TL027'),
    [],
  );
});
