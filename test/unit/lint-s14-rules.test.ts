// Session 14: TL029 (accumulation that still steps every batch), TL030 (`loss.backward(loss)`), EV007 for TensorFlow 1
// dropouts given a fixed keep probability, EV010's mild finding on a mean of per-batch accuracies.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fix, HEADER, ids, lint, useParser } from './lint/helpers';

useParser();

const accumulation = (guard: string, extra = '') => `${HEADER}
model = nn.Linear(4, 2)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
criterion = nn.CrossEntropyLoss()
for i, (x, y) in enumerate(train_loader):
    loss = criterion(model(x), y) / accum_steps
    loss.backward()
    if ${guard}:
        optimizer.step()
        optimizer.zero_grad()
${extra}`;

// ---- TL029 ----
test('TL029: an inverted accumulation guard (bare modulo, != 0, > 0) steps on almost every batch', () => {
  assert.deepEqual(ids(accumulation('i % accum_steps'), 'TL029'), ['TL029']);
  assert.deepEqual(ids(accumulation('batches_done % opt.gradient_accumulations'), 'TL029'), ['TL029']);
  assert.deepEqual(ids(accumulation('(i + 1) % accum_steps != 0'), 'TL029'), ['TL029']);
  assert.deepEqual(ids(accumulation('i % accum_steps > 0'), 'TL029'), ['TL029']);
  const [f] = lint(accumulation('i % accum_steps'), { select: ['TL029'] });
  assert.match(f!.message, /not a multiple of accum_steps.*i % accum_steps == 0/);
  assert.match(fix(accumulation('i % accum_steps'), 'TL029'), /if i % accum_steps == 0:/);
  assert.match(fix(accumulation('(i + 1) % accum_steps != 0'), 'TL029'), /if \(i \+ 1\) % accum_steps == 0:/);
  assert.deepEqual(ids(fix(accumulation('i % accum_steps'), 'TL029'), 'TL029'), []);
});

test('TL029: right guards, skip-style guards and GAN alternation are quiet', () => {
  assert.deepEqual(ids(accumulation('(i + 1) % accum_steps == 0'), 'TL029'), []);
  assert.deepEqual(ids(accumulation('not i % accum_steps'), 'TL029'), []);
  // `if i % n: continue` skips the step: the step below it runs every n-th batch (correct)
  const skip = `${HEADER}
model = nn.Linear(4, 2)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for i, (x, y) in enumerate(train_loader):
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    if (i + 1) % accum_steps:
        continue
    optimizer.step()
    optimizer.zero_grad()
`;
  assert.deepEqual(ids(skip, 'TL029'), []);
  // the generator trained every other batch, with its own backward inside the if: not accumulation
  const gan = `${HEADER}
for i, (x, _) in enumerate(loader):
    opt_d.zero_grad()
    d_loss = disc_loss(x)
    d_loss.backward()
    opt_d.step()
    if i % n_critic:
        opt_g.zero_grad()
        g_loss = gen_loss()
        g_loss.backward()
        opt_g.step()
`;
  assert.deepEqual(ids(gan, 'TL029'), []);
  // an if/else alternation is a schedule, not an accumulation guard
  assert.deepEqual(ids(accumulation('i % 2').replace('        optimizer.zero_grad()\n', '        optimizer.zero_grad()\n    else:\n        other_optimizer.step()\n'), 'TL029'), []);
});

test('TL029: the same optimizer stepped again outside the accumulation guard', () => {
  const stray = accumulation('(i + 1) % accum_steps == 0').replace('        optimizer.zero_grad()\n', '        optimizer.zero_grad()\n    optimizer.step()\n');
  const f = lint(stray, { select: ['TL029'] });
  assert.deepEqual(f.map((x) => x.rule), ['TL029']);
  assert.match(f[0]!.message, /also runs on every batch/);
  assert.equal(f[0]!.range.start.line, 14);
  // a different optimizer (a lookahead's slow weights, a second model) is not the same step
  const other = accumulation('(i + 1) % accum_steps == 0').replace('        optimizer.zero_grad()\n', '        optimizer.zero_grad()\n    other_optimizer.step()\n');
  assert.deepEqual(ids(other, 'TL029'), []);
});

// ---- TL030 ----
test('TL030: loss.backward(loss) and its copies are errors with a fix; gradients for non-losses and runners are fine', () => {
  const code = (line: string) => `${HEADER}\nloss = criterion(model(x), y)\n${line}\noptimizer.step()\n`;
  assert.deepEqual(ids(code('loss.backward(loss)'), 'TL030'), ['TL030']);
  assert.deepEqual(ids(code('loss.backward(loss.detach())'), 'TL030'), ['TL030']);
  assert.deepEqual(ids(code('loss.backward(gradient=loss.data)'), 'TL030'), ['TL030']);
  assert.deepEqual(ids(code('(loss).backward(loss.clone())'), 'TL030'), ['TL030']);
  assert.match(fix(code('loss.backward(loss)'), 'TL030'), /\nloss\.backward\(\)\n/);
  assert.deepEqual(ids(code('loss.backward()'), 'TL030'), []);
  assert.deepEqual(ids(code('loss.backward(torch.ones_like(loss))'), 'TL030'), []);
  assert.deepEqual(ids(code('loss.backward(loss, retain_graph=True)'), 'TL030'), ['TL030']);
  // the vector-Jacobian demo on a model output, Accelerate / DeepSpeed runners
  assert.deepEqual(ids(code('out = model(x)\nout.backward(out)'), 'TL030'), []);
  assert.deepEqual(ids(code('accelerator.backward(loss)'), 'TL030'), []);
  assert.deepEqual(ids(code('model_engine.backward(loss)'), 'TL030'), []);
});

// ---- EV007, TensorFlow 1 ----
const TF1 = `import tensorflow as tf
X = tf.placeholder(tf.float32, [None, None, 10])
cell = tf.nn.rnn_cell.BasicLSTMCell(128)
`;
const session = `
sess = tf.Session()
for epoch in range(10):
    sess.run(train_op, feed_dict={X: x_train})
print(sess.run(accuracy, feed_dict={X: x_test}))
`;

test('EV007: a TF1 DropoutWrapper / tf.nn.dropout given a fixed keep probability stays on at test time', () => {
  assert.deepEqual(ids(`${TF1}cell = tf.nn.rnn_cell.DropoutWrapper(cell, output_keep_prob=0.5)\n${session}`, 'EV007'), ['EV007']);
  assert.deepEqual(ids(`${TF1}cell = tf.contrib.rnn.DropoutWrapper(cell, input_keep_prob=0.8)\n${session}`, 'EV007'), ['EV007']);
  assert.deepEqual(ids(`${TF1}h = tf.nn.dropout(X, keep_prob=0.75)\n${session}`, 'EV007'), ['EV007']);
  // through a constructor default held on self
  const model = `import tensorflow as tf
class Model(object):
    def __init__(self, sess, keep_prob=0.8):
        self.sess = sess
        self.keep_prob = keep_prob
        self.build()
    def build(self):
        cell = tf.nn.rnn_cell.LSTMCell(64)
        cell = tf.nn.rnn_cell.DropoutWrapper(cell, output_keep_prob=self.keep_prob)
    def test(self, x):
        return self.sess.run(self.pred, feed_dict={self.x: x})
`;
  const [f] = lint(model, { select: ['EV007'] });
  assert.equal(f?.rule, 'EV007');
  assert.match(f!.message, /keep_prob defaults to 0\.8/);
});

test('EV007: TF1 keep probabilities fed from a placeholder, 1.0, a graph never run here, or TF2 rates are quiet', () => {
  assert.deepEqual(ids(`${TF1}keep = tf.placeholder(tf.float32)\ncell = tf.nn.rnn_cell.DropoutWrapper(cell, output_keep_prob=keep)\n${session}`, 'EV007'), []);
  assert.deepEqual(ids(`${TF1}cell = tf.nn.rnn_cell.DropoutWrapper(cell, output_keep_prob=1.0)\n${session}`, 'EV007'), []);
  assert.deepEqual(ids(`${TF1}cell = tf.nn.rnn_cell.DropoutWrapper(cell, output_keep_prob=0.5 if is_training else 1.0)\n${session}`, 'EV007'), []);
  assert.deepEqual(ids(`${TF1}cell = tf.nn.rnn_cell.DropoutWrapper(cell, output_keep_prob=0.5)\n`, 'EV007'), []);
  assert.deepEqual(ids(`${TF1}h = tf.nn.dropout(X, rate=0.5)\n${session}`, 'EV007'), []);
  // the keep probability passed by the caller: 0.5 for training, 1.0 for the test graph
  const built = `${TF1}def build(keep):\n    return tf.nn.rnn_cell.DropoutWrapper(cell, output_keep_prob=keep)\ntrain_cell = build(0.5)\ntest_cell = build(1.0)\n${session}`;
  assert.deepEqual(ids(built, 'EV007'), []);
});

// ---- EV010, mean of per-batch accuracies ----
test('EV010: a held-out accuracy averaged over per-batch means is an info finding', () => {
  const summed = `${HEADER}
test_loader = DataLoader(test_set, batch_size=64)
accuracy = 0
with torch.no_grad():
    for images, labels in test_loader:
        ps = torch.exp(model(images))
        top_p, top_class = ps.topk(1, dim=1)
        equals = top_class == labels.view(*top_class.shape)
        accuracy += torch.mean(equals.type(torch.FloatTensor))
print(accuracy / len(test_loader))
`;
  const f = lint(summed, { select: ['EV010'] });
  assert.deepEqual(f.map((x) => `${x.rule}:${x.severity}`), ['EV010:info']);
  assert.match(f[0]!.message, /last, smaller batch/);
  const perTerm = `${HEADER}
epoch_val_accuracy = 0
for data, label in valid_loader:
    val_output = model(data)
    acc = (val_output.argmax(dim=1) == label).float().mean()
    epoch_val_accuracy += acc / len(valid_loader)
`;
  assert.deepEqual(lint(perTerm, { select: ['EV010'] }).map((x) => `${x.rule}:${x.severity}`), ['EV010:info']);
});

test('EV010: per-batch means over equal batches, training accuracies, losses and weighted sums are quiet', () => {
  const perTerm = (loader: string, sum = 'epoch_val_accuracy', setup = '') => `${HEADER}${setup}
${sum} = 0
for data, label in ${loader}:
    acc = (model(data).argmax(dim=1) == label).float().mean()
    ${sum} += acc / len(${loader})
`;
  assert.deepEqual(ids(perTerm('train_loader', 'epoch_accuracy'), 'EV010'), []);
  assert.deepEqual(ids(perTerm('valid_loader', 'train_acc'), 'EV010'), []);
  assert.deepEqual(ids(perTerm('valid_loader', 'epoch_val_loss'), 'EV010'), []);
  assert.deepEqual(ids(perTerm('valid_loader', 'val_acc', '\nvalid_loader = DataLoader(val_set, batch_size=32, drop_last=True)'), 'EV010'), []);
  // weighted by the batch size, divided by the samples: right
  const weighted = `${HEADER}
correct = 0
for x, y in test_loader:
    correct += (model(x).argmax(1) == y).float().mean().item() * y.size(0)
print(correct / len(test_loader.dataset))
`;
  assert.deepEqual(ids(weighted, 'EV010'), []);
});

// ---- TL028, a parameter group filled and dropped ----
test('TL028: a parameter group filled but never appended to the optimizer groups', () => {
  const groups = (last: string) => `${HEADER}
def build_optimizer(model, lr):
    groups = []
    params = {'lr': lr, 'weight_decay': 1e-2}
    params['params'] = []
    for name, p in model.named_parameters():
        if 'bert' in name:
            params['params'].append(p)
    groups.append(params)
    params = {'lr': 5e-2, 'weight_decay': 1e-2}
    params['params'] = []
    for name, p in model.named_parameters():
        if 'crf' in name:
            params['params'].append(p)
${last}
    return torch.optim.AdamW(groups)
`;
  const f = lint(groups(''), { select: ['TL028'] });
  assert.deepEqual(f.map((x) => x.rule), ['TL028']);
  assert.match(f[0]!.message, /parameter group `params` is filled but never given to the optimizer \(AdamW on line 20\)/);
  assert.equal(f[0]!.range.start.line, 13);
  assert.deepEqual(ids(groups('    groups.append(params)'), 'TL028'), []);
  assert.deepEqual(ids(groups('    groups += [params]'), 'TL028'), []);
  // module level, a literal group with its params, never used; a group passed on directly is fine
  const script = `${HEADER}
model = nn.Linear(4, 2)
head = nn.Linear(2, 2)
head_group = {'params': head.parameters(), 'lr': 1e-2}
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
`;
  assert.deepEqual(ids(script, 'TL028').length > 0, true);
  assert.deepEqual(ids(script.replace('optimizer = torch.optim.SGD(model.parameters(), lr=0.1)', 'optimizer = torch.optim.SGD([{"params": model.parameters()}, head_group], lr=0.1)'), 'TL028'), []);
  // no optimizer built after it (a helper returning groups), a dict of other keys, a group built in a loop
  assert.deepEqual(ids(`${HEADER}\ndef groups(m):\n    g = {'params': m.parameters(), 'lr': 1e-3}\n    g['lr'] = 2e-3\n`, 'TL028'), []);
  assert.deepEqual(ids(`${HEADER}\nconfig = {'lr': 1e-3, 'epochs': 10}\noptimizer = torch.optim.Adam(model.parameters(), lr=config['lr'])\n`, 'TL028'), []);
});
