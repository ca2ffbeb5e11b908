// Architecture, data and training-loop families from the session-13 development set (wild5): batch-first tensors
// through `torch.reshape` / transposes (AR008), layer classes bound to a name (AR001), modules handed to a class as a
// parameter (AR009), drop_last set in a held-out branch (DT009), a seed reset under a periodic test (RP003) and the
// Keras torch-backend train_step (TL001).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HEADER, ids, useParser } from './lint/helpers';

useParser();

describe('AR008: batch-first inputs built by torch.reshape and transposes', () => {
  const net = (body: string, gru = 'nn.GRU(64, 32, bidirectional=True)') => `${HEADER}
class Enhancer(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 8, 1)
        self.rnn = ${gru}
        self.fc = nn.Linear(64, 8)

    def forward(self, spec):
        spec = self.conv(spec)
${body}
        out = self.rnn(x)[0]
        return self.fc(out)
`;
  it('reports torch.reshape(x, [B, T, -1]) with B unpacked from size()', () => {
    assert.deepEqual(ids(net('        spec = torch.transpose(spec, 1, 3)\n        B, T, D, C = spec.size()\n        x = torch.reshape(spec, [B, T, D * C])'), 'AR008'), ['AR008']);
  });
  it('reports a transpose / permute after a batch-first view', () => {
    assert.deepEqual(ids(net('        B = spec.size(0)\n        x = spec.view(B, 64, -1).transpose(1, 2)'), 'AR008'), ['AR008']);
    assert.deepEqual(ids(net('        B = spec.size(0)\n        x = spec.reshape(B, 64, -1).permute(0, 2, 1)'), 'AR008'), ['AR008']);
  });
  it('stays quiet when the reshape or transpose puts time first', () => {
    assert.deepEqual(ids(net('        T, B = spec.size(3), spec.size(0)\n        x = torch.reshape(spec, [T, B, -1])'), 'AR008'), []);
    assert.deepEqual(ids(net('        B = spec.size(0)\n        x = spec.view(B, 64, -1).transpose(0, 2)'), 'AR008'), []);
    assert.deepEqual(ids(net('        B = spec.size(0)\n        x = spec.view(B, 64, -1).permute(2, 0, 1)'), 'AR008'), []);
  });
  it('stays quiet with batch_first=True', () => {
    assert.deepEqual(ids(net('        B, C, D, T = spec.size()\n        x = torch.reshape(spec, [B, T, -1])', 'nn.GRU(64, 32, batch_first=True)'), 'AR008'), []);
  });
});

describe('AR001: a layer class bound to a name', () => {
  const block = (aliases: string, extra = '') => `${HEADER}
class Block(nn.Module):
    def __init__(self, c, dimension=2):
        super().__init__()
${aliases}
        self.W = nn.Sequential(conv_nd(c, c, kernel_size=1${extra}), bn(c))

    def forward(self, x):
        return self.W(x)
`;
  const branches = '        if dimension == 3:\n            conv_nd = nn.Conv3d\n            bn = nn.BatchNorm3d\n        else:\n            conv_nd = nn.Conv2d\n            bn = nn.BatchNorm2d';
  it('reports conv_nd / bn chosen in if/else branches', () => {
    assert.deepEqual(ids(block(branches), 'AR001'), ['AR001']);
  });
  it('reports a conditional expression alias', () => {
    assert.deepEqual(ids(block('        conv_nd = nn.Conv3d if dimension == 3 else nn.Conv2d\n        bn = nn.BatchNorm3d if dimension == 3 else nn.BatchNorm2d'), 'AR001'), ['AR001']);
  });
  it('stays quiet with bias=False, or when a branch binds another kind of layer', () => {
    assert.deepEqual(ids(block(branches, ', bias=False'), 'AR001'), []);
    assert.deepEqual(ids(block('        conv_nd = nn.Conv2d if dimension == 2 else nn.Linear\n        bn = nn.BatchNorm2d'), 'AR001'), []);
    assert.deepEqual(ids(block('        conv_nd = nn.Conv2d\n        bn = nn.Identity'), 'AR001'), []);
  });
  it('stays quiet for a name that is a parameter (unknown class)', () => {
    const code = `${HEADER}
def make(conv_nd, bn, c):
    return nn.Sequential(conv_nd(c, c, 1), bn(c))
`;
    assert.deepEqual(ids(code, 'AR001'), []);
  });
});

describe('AR009: a list of modules handed to the class as a parameter', () => {
  const model = (site: string, store = 'self.nets = nets') => `${HEADER}
class Chain(nn.Module):
    def __init__(self, nets, head):
        super().__init__()
        ${store}
        self.head = head

    def forward(self, x):
        for i in range(len(self.nets)):
            x = self.nets[i](x)
        return self.head(x)

${site}
`;
  it('reports a list comprehension of modules passed by name', () => {
    assert.deepEqual(ids(model('nets = [nn.Sequential(nn.Linear(8, 8), nn.ReLU()) for _ in range(3)]\nmodel = Chain(nets, nn.Linear(8, 1))'), 'AR009'), ['AR009']);
  });
  it('reports a literal list passed at the call site', () => {
    assert.deepEqual(ids(model('model = Chain([nn.Linear(8, 8), nn.Linear(8, 8)], head=nn.Linear(8, 1))'), 'AR009'), ['AR009']);
  });
  it('stays quiet when the class wraps it or the caller registers the list elsewhere', () => {
    assert.deepEqual(ids(model('model = Chain([nn.Linear(8, 8)], nn.Linear(8, 1))', 'self.nets = nn.ModuleList(nets)'), 'AR009'), []);
    assert.deepEqual(ids(model('nets = [nn.Linear(8, 8) for _ in range(3)]\nmodel = Chain(nets, nn.Linear(8, 1))\nextra = nn.ModuleList(nets)'), 'AR009'), []);
  });
  it('stays quiet when a call site passes something else, or there is no call site', () => {
    assert.deepEqual(ids(model('model = Chain(nn.ModuleList([nn.Linear(8, 8)]), nn.Linear(8, 1))'), 'AR009'), []);
    assert.deepEqual(ids(model('model = Chain([nn.Linear(8, 8)], nn.Linear(8, 1))\nother = Chain(build_nets(), nn.Linear(8, 1))'), 'AR009'), []);
    assert.deepEqual(ids(model(''), 'AR009'), []);
  });
});

describe('DT009: drop_last set True in a held-out branch', () => {
  const provider = (branches: string) => `${HEADER}
def data_provider(args, flag):
${branches}
    data_set = make_dataset(args, flag)
    return DataLoader(data_set, batch_size=args.batch_size, shuffle=shuffle_flag, drop_last=drop_last)
`;
  it("reports drop_last = True under `if flag == 'test':`", () => {
    assert.deepEqual(ids(provider("    if flag == 'test':\n        shuffle_flag = False\n        drop_last = True\n    else:\n        shuffle_flag = True\n        drop_last = True"), 'DT009'), ['DT009']);
    assert.deepEqual(ids(provider("    if flag in ('val', 'test'):\n        shuffle_flag = False\n        drop_last = True\n    else:\n        shuffle_flag = True\n        drop_last = False"), 'DT009'), ['DT009']);
  });
  it("reports the else of `if flag == 'train':`", () => {
    assert.deepEqual(ids(provider("    if flag == 'train':\n        shuffle_flag = True\n        drop_last = False\n    else:\n        shuffle_flag = False\n        drop_last = True"), 'DT009'), ['DT009']);
  });
  it('stays quiet when only the training branch drops', () => {
    assert.deepEqual(ids(provider("    if flag == 'train':\n        shuffle_flag = True\n        drop_last = True\n    else:\n        shuffle_flag = False\n        drop_last = False"), 'DT009'), []);
    assert.deepEqual(ids(provider("    if flag == 'test':\n        shuffle_flag = False\n        drop_last = False\n    else:\n        shuffle_flag = True\n        drop_last = True"), 'DT009'), []);
    assert.deepEqual(ids(provider("    if args.small:\n        shuffle_flag = False\n        drop_last = True\n    else:\n        shuffle_flag = True\n        drop_last = False"), 'DT009'), []);
  });
});

describe('RP003: a seed reset under a periodic test in the training loop', () => {
  const loop = (block: string) => `${HEADER}
model = nn.Linear(4, 1)
opt = torch.optim.Adam(model.parameters())
for epoch in range(100):
    for x, y in train_loader:
        opt.zero_grad()
        F.mse_loss(model(x), y).backward()
        opt.step()
${block}
`;
  it('reports torch.manual_seed under `if epoch % k == 0`', () => {
    assert.deepEqual(ids(loop('    if epoch % 10 == 0 or epoch == 99:\n        generator = torch.manual_seed(0)\n        sample(model, generator=generator)'), 'RP003'), ['RP003']);
    assert.deepEqual(ids(loop('    if (epoch + 1) % 5 == 0:\n        np_seed = torch.manual_seed(123)\n        evaluate(model)'), 'RP003'), ['RP003']);
  });
  it('stays quiet for a one-off test or a generator of its own', () => {
    assert.deepEqual(ids(loop('    if epoch == 0:\n        torch.manual_seed(0)'), 'RP003'), []);
    assert.deepEqual(ids(loop('    if epoch % 10 == 0:\n        g = torch.Generator()\n        g.manual_seed(0)\n        sample(model, generator=g)'), 'RP003'), []);
    assert.deepEqual(ids(loop('    if epoch % 10 == 0:\n        torch.manual_seed(epoch)'), 'RP003'), []);
  });
});

describe('TL001: Keras train_step on the torch backend', () => {
  const model = (reset: string, base = 'keras.Model') => `import torch
import keras

class CustomModel(${base}):
    def train_step(self, data):
        inputs, targets = data
${reset}        predictions = self(inputs, training=True)
        loss = self.compute_loss(y=targets, y_pred=predictions)
        loss.backward()
        weights = [v for v in self.trainable_weights]
        gradients = [v.value.grad for v in weights]
        with torch.no_grad():
            self.optimizer.apply(gradients, weights)
        return {"loss": loss}
`;
  it('reports a train_step without self.zero_grad()', () => {
    assert.deepEqual(ids(model(''), 'TL001'), ['TL001']);
  });
  it('stays quiet with self.zero_grad(), or on a class that is not a Keras model', () => {
    assert.deepEqual(ids(model('        self.zero_grad()\n'), 'TL001'), []);
    assert.deepEqual(ids(model('', 'object'), 'TL001'), []);
  });
  it('stays quiet for a TensorFlow train_step (GradientTape, no backward)', () => {
    const code = `import tensorflow as tf
from tensorflow import keras

class CustomModel(keras.Model):
    def train_step(self, data):
        x, y = data
        with tf.GradientTape() as tape:
            loss = self.compute_loss(y=y, y_pred=self(x, training=True))
        grads = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.trainable_variables))
        return {"loss": loss}
`;
    assert.deepEqual(ids(code, 'TL001'), []);
  });
});
