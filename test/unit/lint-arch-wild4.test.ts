// Architecture and hyperparameter rules, extended from real bugs of the fourth recall round: a keep probability
// passed as a drop rate through names and comments (HP004), a Keras Conv2D/Dense feeding BatchNormalization (AR001),
// bias-free square linear maps stacked inside an expression (AR004), softmax over a named batch axis or in a model
// called through the file's helpers (AR006), and sequence-first layers fed convolution features or token embeddings
// (AR008).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fix, HEADER, ids, useParser } from './lint/helpers';

useParser();

const TF = 'import tensorflow as tf\n';

describe('HP004: a keep probability written as such, passed as a drop rate', () => {
  it('follows a module constant commented as a keep probability through a parameter', () => {
    const code = `${TF}
dropout = 0.75  # probability to keep units

def net(x, drop, training):
    h = tf.layers.dense(x, 128)
    return tf.layers.dropout(h, rate=drop, training=training)

out = net(tf.zeros([4, 8]), dropout, True)
`;
    assert.deepEqual(ids(code, 'HP004'), ['HP004']);
  });

  it('reports a value bound to a keep name and passed under another name', () => {
    const code = `${HEADER}
KEEP_PROB = 0.7

class Net(nn.Module):
    def __init__(self, p):
        super().__init__()
        self.drop = nn.Dropout(p)

net = Net(KEEP_PROB)
`;
    assert.deepEqual(ids(code, 'HP004'), ['HP004']);
  });

  it('reports a keep-named parameter default used as the rate', () => {
    const code = `${TF}
def block(x, keep_prob=0.6):
    rate = keep_prob
    return tf.keras.layers.Dropout(rate)(x)
`;
    assert.deepEqual(ids(code, 'HP004'), ['HP004']);
  });

  it('stays quiet on a drop rate commented as one, a complement, or a keep probability of one half or less', () => {
    for (const line of ['dropout = 0.75  # drop 75% of the units', 'dropout = 0.75  # rate = 1 - keep_prob', 'dropout = 0.5  # probability to keep units', 'dropout = 0.3  # keep prob is 0.7', 'dropout = 0.6']) {
      const code = `${TF}
${line}
y = tf.layers.dropout(tf.zeros([4, 8]), rate=dropout, training=True)
`;
      assert.deepEqual(ids(code, 'HP004'), [], line);
    }
  });

  it('stays quiet when the keep probability is converted before use', () => {
    const code = `${TF}
keep_prob = 0.75
y = tf.layers.dropout(tf.zeros([4, 8]), rate=1 - keep_prob, training=True)
`;
    assert.deepEqual(ids(code, 'HP004'), []);
  });
});

const KERAS = 'from tensorflow import keras\nfrom tensorflow.keras import layers\n';

describe('AR001: Keras / TF layers with a bias straight into BatchNormalization', () => {
  it('reports nested functional applications, names holding layers and Dense on a flattened map', () => {
    const code = `${KERAS}
inp = keras.Input(shape=(8, 8, 3))
h = layers.Activation('relu')(layers.BatchNormalization(axis=3)(layers.Conv2D(32, 3, padding='same')(inp)))
conv = layers.Conv2D(64, 3)
bn = layers.BatchNormalization()
h = bn(conv(h))
flat = layers.Flatten()(h)
d = layers.Dense(128)(flat)
d = layers.BatchNormalization(axis=1)(d)
model = keras.Model(inp, layers.Dense(10, activation='softmax')(d))
`;
    assert.deepEqual(ids(code, 'AR001'), ['AR001', 'AR001', 'AR001']);
  });

  it('reports Sequential lists, model.add sequences, subclassed models and tf.layers functions', () => {
    const seq = `${KERAS}
model = keras.Sequential([layers.Conv2D(16, 3, input_shape=(28, 28, 1)), layers.BatchNormalization(), layers.ReLU(), layers.Flatten(), layers.Dense(10)])
m2 = keras.Sequential()
m2.add(layers.Flatten(input_shape=(28, 28)))
m2.add(layers.Dense(64))
m2.add(layers.BatchNormalization(axis=1))
`;
    assert.deepEqual(ids(seq, 'AR001'), ['AR001', 'AR001']);
    const sub = `${KERAS}
class Block(keras.Model):
    def __init__(self):
        super().__init__()
        self.conv = layers.Conv2D(32, 3, padding='same')
        self.bn = layers.BatchNormalization()

    def call(self, x, training=False):
        return keras.activations.relu(self.bn(self.conv(x), training=training))
`;
    assert.deepEqual(ids(sub, 'AR001'), ['AR001']);
    const tf1 = `import tensorflow as tf
x = tf.placeholder(tf.float32, [None, 28, 28, 1])
h = tf.layers.conv2d(x, 32, 3, padding='same')
h = tf.layers.batch_normalization(h, training=True)
`;
    assert.deepEqual(ids(tf1, 'AR001'), ['AR001']);
  });

  it('offers use_bias=False for Keras layers', () => {
    const code = `${KERAS}
inp = keras.Input(shape=(8, 8, 3))
h = layers.BatchNormalization()(layers.Conv2D(32, 3)(inp))
`;
    assert.match(fix(code, 'AR001'), /Conv2D\(32, 3, use_bias=False\)/);
  });

  it('stays quiet without a bias, with an activation between, on another axis or with LayerNormalization', () => {
    const cases = [
      "h = layers.BatchNormalization()(layers.Conv2D(32, 3, use_bias=False)(inp))",
      "h = layers.BatchNormalization()(layers.Conv2D(32, 3, activation='relu')(inp))",
      "h = layers.BatchNormalization()(layers.ReLU()(layers.Conv2D(32, 3)(inp)))",
      "h = layers.BatchNormalization(axis=1)(layers.Conv2D(32, 3)(inp))",
      "h = layers.BatchNormalization(axis=-1)(layers.Conv2D(32, 3, data_format='channels_first')(inp))",
      "h = layers.LayerNormalization()(layers.Dense(32)(inp))",
      "h = layers.BatchNormalization(axis=1)(layers.Dense(32)(inp))",
    ];
    for (const line of cases) {
      const code = `${KERAS}
inp = keras.Input(shape=(8, 8, 3))
${line}
`;
      assert.deepEqual(ids(code, 'AR001'), [], line);
    }
    const seq = `${KERAS}
model = keras.Sequential([layers.Conv2D(16, 3, use_bias=False), layers.BatchNormalization(), layers.Dense(8, activation='relu'), layers.BatchNormalization()])
`;
    assert.deepEqual(ids(seq, 'AR001'), []);
  });
});

describe('AR004: linear layers stacked inside an expression, bias-free without a bottleneck', () => {
  const block = (init: string, fwd: string) => `${HEADER}
class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
${init
  .split('\n')
  .map((l) => `        ${l}`)
  .join('\n')}

    def forward(self, x):
${fwd
  .split('\n')
  .map((l) => `        ${l}`)
  .join('\n')}
`;

  it('reports square bias-free layers composed inside a residual sum', () => {
    const code = block('self.fc1 = nn.Linear(c, c, bias=False)\nself.fc2 = nn.Linear(c, c, bias=False)', 'x = self.fc2(self.fc1(x)) + x\nreturn x');
    assert.deepEqual(ids(code, 'AR004'), ['AR004']);
  });

  it('reports an expansion with no activation, by keyword widths, in a return or an argument', () => {
    assert.deepEqual(ids(block('self.up = nn.Linear(in_features=c, out_features=4 * c, bias=False)\nself.out = nn.Linear(4 * c, c, bias=False)', 'return x + self.out(self.up(x))'), 'AR004'), ['AR004']);
    assert.deepEqual(ids(block('self.a = nn.Linear(c, c)\nself.b = nn.Linear(c, c)', 'return torch.cat([self.b(self.a(x)), x], dim=-1)'), 'AR004'), ['AR004']);
  });

  it('stays quiet on bias-free bottlenecks, activations between, and named projections', () => {
    assert.deepEqual(ids(block('self.down = nn.Linear(c, c // 4, bias=False)\nself.up = nn.Linear(c // 4, c, bias=False)', 'return self.up(self.down(x)) + x'), 'AR004'), []);
    assert.deepEqual(ids(block('self.fc1 = nn.Linear(c, 8, bias=False)\nself.fc2 = nn.Linear(8, c, bias=False)', 'return self.fc2(self.fc1(x)) + x'), 'AR004'), []);
    assert.deepEqual(ids(block('self.fc1 = nn.Linear(c, c, bias=False)\nself.fc2 = nn.Linear(c, c, bias=False)', 'return self.fc2(F.gelu(self.fc1(x))) + x'), 'AR004'), []);
    assert.deepEqual(ids(block('self.q_proj = nn.Linear(c, c, bias=False)\nself.o_proj = nn.Linear(c, c, bias=False)', 'return self.o_proj(self.q_proj(x)) + x'), 'AR004'), []);
    assert.deepEqual(ids(block('self.fc1 = nn.Linear(c, c, bias=False)\nself.fc2 = nn.Linear(c, c, bias=False)', 'return self.fc2(x) + self.fc1(x)'), 'AR004'), []);
  });
});

describe('AR006: softmax over a named batch axis, or in a model the file hands to its helpers', () => {
  it('reports a log_softmax over the axis a view names after the batch size', () => {
    const code = `${HEADER}
class Head(nn.Module):
    def __init__(self, hidden, k):
        super().__init__()
        self.k = k
        self.rnn = nn.GRU(8, hidden)
        self.proj = nn.Linear(hidden, k)

    def forward(self, x):
        seq_len, bs = x.size(0), x.size(1)
        out, _ = self.rnn(x)
        logits = self.proj(out).view(seq_len, bs, self.k)
        return F.log_softmax(logits, dim=-2), logits.softmax(1), torch.log_softmax(logits.float(), dim=1)
`;
    assert.deepEqual(ids(code, 'AR006'), ['AR006', 'AR006', 'AR006']);
  });

  it('reports a factory sized with the batch size and a softmax layer applied to it', () => {
    const code = `${HEADER}
def mix(steps, batch_size, n):
    scores = torch.randn(steps, batch_size, n)
    return nn.Softmax(dim=1)(scores)
`;
    assert.deepEqual(ids(code, 'AR006'), ['AR006']);
  });

  it('stays quiet on the class axis of such views, and when two sizes or none name the batch', () => {
    const code = `${HEADER}
def heads(x, seq_len, bs, k, b):
    logits = x.view(seq_len, bs, k)
    a = F.log_softmax(logits, dim=-1)
    c = F.softmax(logits, dim=0)
    both = x.view(b, bs, k)
    d = F.softmax(both, dim=1)
    plain = x.view(seq_len, k, -1)
    e = F.softmax(plain, dim=1)
    return a, c, d, e
`;
    assert.deepEqual(ids(code, 'AR006'), []);
  });

  it('reports a Sequential ending in LogSoftmax(dim=0) trained through helper functions', () => {
    const code = `${HEADER}
def run_epoch(net, dataloader, opt):
    for features, labels in dataloader:
        opt.zero_grad()
        loss = F.nll_loss(net(features), labels)
        loss.backward()
        opt.step()

def fit(net, loader, epochs=3):
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    for _ in range(epochs):
        run_epoch(net, loader, opt)

model = nn.Sequential(nn.Flatten(), nn.Linear(784, 10), nn.LogSoftmax(dim=0))
fit(model, train_loader)
`;
    assert.deepEqual(ids(code, 'AR006'), ['AR006']);
  });

  it('reports log_softmax(dim=0) in the forward of a module class handed to a helper', () => {
    const code = `${HEADER}
def evaluate(model, loader):
    with torch.no_grad():
        for xb, yb in loader:
            pred = model(xb.to('cuda'))

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.flat = nn.Flatten()
        self.fc = nn.Linear(784, 10)

    def forward(self, x):
        x = self.flat(x)
        x = self.fc(x)
        return F.log_softmax(x, dim=0)

net = Net().to('cuda')
evaluate(net, test_loader)
`;
    assert.deepEqual(ids(code, 'AR006'), ['AR006']);
  });

  it('stays quiet when the helper never calls the model, or calls it on something that is not a batch', () => {
    const code = `${HEADER}
def describe(model, sample):
    print(model)
    return model(sample)

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(10, 10)

    def forward(self, x):
        return F.softmax(self.fc(x), dim=0)

net = Net()
describe(net, torch.randn(10))
`;
    assert.deepEqual(ids(code, 'AR006'), []);
  });
});

describe('AR008: sequence-first layers fed convolution features or token embeddings', () => {
  it('reports an LSTM fed a conv feature map reshaped with its own batch size', () => {
    const code = `${HEADER}
class ConvLSTM(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3)
        self.conv2 = nn.Conv2d(16, 32, 3)
        self.lstm = nn.LSTM(36, 64)
        self.head = nn.Linear(64, 4)

    def forward(self, frames):
        h = F.relu(F.max_pool2d(self.conv1(frames), 2))
        h = F.relu(F.avg_pool2d(self.conv2(h), 2))
        h = h.view(h.size(0), h.size(1), -1)
        out, _ = self.lstm(h)
        return self.head(out[-1])

def train(model, batch_size):
    x = torch.randn(batch_size, 3, 30, 30)
    return model(x)

net = ConvLSTM()
train(net, 32)
`;
    assert.deepEqual(ids(code, 'AR008'), ['AR008']);
  });

  it('reports a GRU fed a flattened map and a TransformerEncoder fed merged token embeddings', () => {
    const code = `${HEADER}
class Rows(nn.Module):
    def __init__(self, vocab, d):
        super().__init__()
        self.emb = nn.Embedding(vocab, d)
        layer = nn.TransformerEncoderLayer(d_model=d, nhead=4)
        self.enc = nn.TransformerEncoder(layer, num_layers=2)

    def forward(self, input_ids):
        e = self.emb(input_ids)
        shape = list(e.size())
        return self.enc(e.reshape(-1, *shape[-2:]))

class Pixels(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.gru = nn.GRU(8, 16)

    def forward(self, pixel_values):
        maps = self.conv(pixel_values)
        seq = maps.flatten(2)
        return self.gru(seq)
`;
    assert.deepEqual(ids(code, 'AR008'), ['AR008', 'AR008']);
  });

  it('stays quiet when the features are made sequence-first, batch_first is set, or one sequence is encoded per frame', () => {
    const code = `${HEADER}
class A(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.lstm = nn.LSTM(8, 16)
        self.lstm_bf = nn.LSTM(8, 16, batch_first=True)

    def forward(self, input_ids):
        maps = self.conv(input_ids)
        seq = maps.flatten(2).permute(2, 0, 1)
        out, _ = self.lstm(seq)
        out2, _ = self.lstm_bf(maps.flatten(2).transpose(1, 2))
        return out, out2

class B(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.lstm = nn.LSTM(288, 16)

    def forward(self, frames):
        feats = self.conv(frames)
        feats = feats.view(feats.size(0), 1, -1)
        out, _ = self.lstm(feats)
        return out
`;
    assert.deepEqual(ids(code, 'AR008'), []);
  });
});
