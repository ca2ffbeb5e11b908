import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, ids, indent, lint, useParser } from './lint/helpers';

useParser();

/** A torch module class with the given __init__ lines, forward body and extra methods. */
const net = (init: string, forward: string, extra = '') =>
  `${HEADER}\nclass Net(nn.Module):\n    def __init__(self, c_in=3, c_out=8):\n        super().__init__()\n${indent(init, 8)}\n\n    def forward(self, x):\n${indent(forward, 8)}\n${extra ? `\n${indent(extra, 4)}\n` : ''}`;

// ---- AR012 layer-created-in-forward ----

test('AR012: a parametric layer built and called in forward is an error naming it', () => {
  const code = net('self.c_in, self.c_out = c_in, c_out\nself.body = nn.Conv2d(c_in, c_out, 3, padding=1)', 'skip = nn.Conv2d(self.c_in, self.c_out, 1)(x)\nreturn self.body(x) + skip');
  const f = lint(code, { select: ['AR012'] });
  assert.deepEqual(f.map((x) => `${x.rule}:${x.severity}`), ['AR012:error']);
  assert.equal(
    f[0]!.message,
    'nn.Conv2d(...) is built inside forward(): every call makes a new randomly initialised layer and the optimizer never sees it; build it once in __init__ (self.layer = ...) and call self.layer(x) here.',
  );
});

test('AR012: the shapes of the same mistake: a local name, .to(device), a container, norms, RNNs, unconditional self.x, a module class of the file', () => {
  const one = (forward: string, init = 'self.fc = nn.Linear(8, 8)', extra = '') => ids(net(init, forward, extra), 'AR012');
  assert.deepEqual(one('proj = nn.Linear(x.size(-1), 16)\nreturn proj(x)'), ['AR012'], 'local name, then called');
  assert.deepEqual(one('proj = nn.Linear(x.size(-1), 16).to(x.device)\nreturn proj(x)'), ['AR012'], '.to(device) on the way');
  assert.deepEqual(one('return nn.Linear(8, 4).cuda()(x)'), ['AR012'], 'called in place after .cuda()');
  assert.deepEqual(one('head = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 2))\nreturn head(x)'), ['AR012'], 'a container: one finding');
  assert.deepEqual(one('return nn.LayerNorm(8)(x + self.fc(x))'), ['AR012'], 'LayerNorm');
  assert.deepEqual(one('x = nn.BatchNorm1d(8)(x)\nreturn self.fc(x)'), ['AR012'], 'BatchNorm');
  assert.deepEqual(one('out, _ = nn.LSTM(8, 8, batch_first=True)(x)\nreturn out'), ['AR012'], 'LSTM');
  assert.deepEqual(one('e = nn.Embedding(100, 8)\nreturn e(x)'), ['AR012'], 'Embedding');
  assert.deepEqual(one('self.out = nn.Linear(8, 2)\nreturn self.out(self.fc(x))'), ['AR012'], 'self.x rebuilt unconditionally on every call');
  const block = `${HEADER}\nclass Block(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.fc = nn.Linear(8, 8)\n\n    def forward(self, x):\n        return self.fc(x)\n\n\nclass Net(nn.Module):\n    def forward(self, x):\n        return Block()(x)\n`;
  assert.deepEqual(ids(block, 'AR012'), ['AR012'], 'a module class of the file that holds parameters');
});

test('AR012: a helper method that only forward calls', () => {
  const helper = 'def _shortcut(self, x):\n    return nn.Conv2d(x.size(1), 8, 1)(x)';
  const f = lint(net('self.body = nn.Conv2d(3, 8, 3)', 'return self.body(x) + self._shortcut(x)', helper), { select: ['AR012'] });
  assert.deepEqual(f.map((x) => x.rule), ['AR012']);
  assert.match(f[0]!.message, /^nn\.Conv2d\(\.\.\.\) is built inside _shortcut\(\) \(run from forward\(\)\): /);
  // called from __init__ too (a builder): quiet
  const builder = 'def make(self, c):\n    return nn.Sequential(nn.Conv2d(c, c, 1), nn.ReLU())';
  assert.deepEqual(ids(net('self.body = self.make(3)', 'return self.body(x)', builder), 'AR012'), []);
  // a helper that returns a layer, called by forward but not run there: quiet (nothing runs it in place)
  assert.deepEqual(ids(net('self.fc = nn.Linear(8, 8)', 'return self.fc(x)', 'def spare(self):\n    return nn.Linear(8, 8)'), 'AR012'), []);
});

test('AR012: Keras layers with weights built in call() of a Model or Layer subclass', () => {
  const TF = 'import tensorflow as tf\nfrom tensorflow import keras\nfrom tensorflow.keras import layers\n';
  const model = (body: string, base = 'keras.Model') =>
    `${TF}\nclass Net(${base}):\n    def __init__(self):\n        super().__init__()\n        self.hidden = layers.Dense(64, activation="relu")\n\n    def call(self, x):\n${indent(body, 8)}\n`;
  const f = lint(model('x = self.hidden(x)\nreturn layers.Dense(10)(x)'), { select: ['AR012'] });
  assert.deepEqual(f.map((x) => x.rule), ['AR012']);
  assert.match(f[0]!.message, /^layers\.Dense\(\.\.\.\) is built inside call\(\): .*it is never trained; build it once in __init__ or build\(\)/);
  assert.deepEqual(ids(model('conv = tf.keras.layers.Conv2D(8, 3)\nreturn conv(x)', 'tf.keras.layers.Layer'), 'AR012'), ['AR012'], 'a Layer subclass, a local name');
  // parameter-free Keras layers, and layers built in build(): quiet
  assert.deepEqual(ids(model('x = layers.Flatten()(x)\nx = layers.Dropout(0.2)(x)\nreturn self.hidden(x)'), 'AR012'), []);
  const built = `${TF}\nclass Net(keras.layers.Layer):\n    def build(self, shape):\n        self.proj = layers.Dense(shape[-1])\n\n    def call(self, x):\n        return self.proj(x)\n`;
  assert.deepEqual(ids(built, 'AR012'), []);
});

test('AR012 negatives: parameter-free modules, lazy builds, __init__, functional calls, layers whose weights are set, non-modules', () => {
  const quiet = (forward: string, init = 'self.fc = nn.Linear(8, 8)\nself.lazy = None') => assert.deepEqual(ids(net(init, forward), 'AR012'), [], forward);
  quiet('x = nn.ReLU()(self.fc(x))\nx = nn.Dropout(0.1)(x)\nx = nn.Flatten()(x)\nreturn nn.Softmax(dim=-1)(x)');
  quiet('x = nn.MaxPool2d(2)(x)\nx = nn.AdaptiveAvgPool2d(1)(x)\nreturn nn.Identity()(x)');
  quiet('if self.lazy is None:\n    self.lazy = nn.Linear(x.size(-1), 8)\nreturn self.lazy(x)');
  quiet('if not hasattr(self, "proj"):\n    self.proj = nn.Linear(x.size(-1), 8)\nreturn self.proj(x)');
  quiet('return F.conv2d(x, self.weight, self.bias)', 'self.weight = nn.Parameter(torch.randn(8, 3, 3, 3))\nself.bias = nn.Parameter(torch.zeros(8))');
  quiet('conv = nn.Conv2d(3, 3, 3, bias=False)\nconv.weight.data = self.kernel\nreturn conv(x)', 'self.kernel = torch.ones(3, 3, 3, 3)');
  quiet('layer = nn.Linear(8, 8)\nnn.init.eye_(layer.weight)\nreturn layer(x)');
  quiet('self.add_module("extra", nn.Linear(8, 8))\nreturn self.fc(x)');
  quiet('emb = nn.Embedding.from_pretrained(self.table)\nreturn emb(x)', 'self.table = torch.randn(10, 4)');
  // a plain class with a forward method, and a layer built in a plain function: not module code
  assert.deepEqual(ids(`${HEADER}\nclass Runner:\n    def forward(self, x):\n        return nn.Linear(8, 8)(x)\n\ndef probe(x):\n    return nn.Linear(8, 2)(x)\n`, 'AR012'), []);
  // a parameter-free module class of the file built in forward (an attention helper): quiet
  const helper = `${HEADER}\nclass Attend(nn.Module):\n    def forward(self, q, k):\n        return torch.softmax(q @ k.transpose(-1, -2), dim=-1)\n\n\nclass Net(nn.Module):\n    def forward(self, x):\n        return Attend()(x, x)\n`;
  assert.deepEqual(ids(helper, 'AR012'), []);
});

// ---- HP007 batchnorm-momentum-convention ----

const TF = 'import tensorflow as tf\nfrom tensorflow import keras\nfrom tensorflow.keras import layers\n';

test('HP007: PyTorch BatchNorm with TensorFlow\'s momentum, message with the convention and the value', () => {
  const f = lint(`${HEADER}\nbn = nn.BatchNorm1d(256, momentum=0.99, eps=1e-3)\n`);
  assert.deepEqual(f.map((x) => `${x.rule}:${x.severity}`), ['HP007:warning']);
  assert.equal(
    f[0]!.message,
    "nn.BatchNorm1d(..., momentum=0.99) uses TensorFlow's convention: PyTorch's momentum weighs the NEW batch, so the running statistics are 99 % the last batch; use momentum=0.01.",
  );
  assert.deepEqual(ids(`${HEADER}\na = nn.BatchNorm2d(64, 1e-5, 0.9)\nb = torch.nn.BatchNorm3d(8, momentum=0.997)\nc = nn.SyncBatchNorm(8, momentum=0.95)\n`, 'HP007'), ['HP007', 'HP007', 'HP007']);
  assert.deepEqual(ids(`${HEADER}\ny = F.batch_norm(x, rm, rv, training=True, momentum=0.99)\n`, 'HP007'), ['HP007'], 'functional');
});

test('HP007: Keras/TF BatchNormalization with PyTorch\'s momentum', () => {
  const f = lint(`${TF}\nx = layers.BatchNormalization(axis=-1, momentum=0.1, epsilon=1e-5)(x)\n`, { select: ['HP007'] });
  assert.equal(
    f[0]?.message,
    "layers.BatchNormalization(..., momentum=0.1) uses PyTorch's convention: here momentum weighs the running history, so the moving statistics are 90 % the last batch; use momentum=0.9.",
  );
  assert.deepEqual(ids(`from keras.layers.normalization import BatchNormalization\nx = BatchNormalization(-1, 0.01)(x)\n`, 'HP007'), ['HP007'], 'positional, old module path');
  assert.deepEqual(ids(`${TF}\ny = tf.layers.batch_normalization(x, momentum=0.1, training=True)\n`, 'HP007'), ['HP007'], 'tf.layers function');
  assert.deepEqual(ids(`${TF}\ny = tf.contrib.layers.batch_norm(x, decay=0.1)\n`, 'HP007'), ['HP007'], 'contrib decay');
});

test('HP007: the value through a named constant, a parameter default, every call site', () => {
  const msg = (code: string) => lint(code, { select: ['HP007'] }).map((x) => x.message);
  assert.match(msg(`${HEADER}\nBN_MOMENTUM = 0.9\nbn = nn.BatchNorm2d(64, momentum=BN_MOMENTUM)\n`)[0]!, /^nn\.BatchNorm2d\(\.\.\., momentum=BN_MOMENTUM\) \(BN_MOMENTUM = 0\.9\) uses TensorFlow's convention: .* 90 % the last batch; use momentum=0\.1\.$/);
  const block = `${HEADER}\nclass Block(nn.Module):\n    def __init__(self, c, bn_momentum=0.99):\n        super().__init__()\n        self.bn = nn.BatchNorm2d(c, momentum=bn_momentum)\n`;
  assert.match(msg(block)[0]!, /\(bn_momentum defaults to 0\.99\)/);
  assert.deepEqual(ids(`${block}\nb1 = Block(8, bn_momentum=0.1)\nb2 = Block(16, bn_momentum=0.1)\n`, 'HP007'), [], 'every call passes the PyTorch value');
  assert.deepEqual(ids(`${TF}\ndef block(x, m=0.1):\n    return layers.BatchNormalization(momentum=m)(x)\n`, 'HP007'), ['HP007'], 'Keras default parameter');
});

test('HP007 negatives: each library\'s own values, one half, 1.0, expressions, unknown values', () => {
  assert.deepEqual(ids(`${HEADER}\na = nn.BatchNorm2d(64, momentum=0.1)\nb = nn.BatchNorm1d(8, momentum=0.01)\nc = nn.BatchNorm2d(8)\nd = nn.BatchNorm2d(8, momentum=None)\n`, 'HP007'), []);
  assert.deepEqual(ids(`${HEADER}\na = nn.BatchNorm1d(8, momentum=0.5)\nb = nn.BatchNorm2d(8, momentum=1.0, track_running_stats=True)\nc = nn.BatchNorm2d(8, momentum=1 - 0.99)\nd = nn.BatchNorm2d(8, momentum=args.bn_m)\n`, 'HP007'), []);
  assert.deepEqual(ids(`${TF}\na = layers.BatchNormalization(momentum=0.99)\nb = layers.BatchNormalization(momentum=0.9)\nc = layers.BatchNormalization(momentum=0.5)\nd = layers.BatchNormalization()\n`, 'HP007'), []);
  // momentum of an optimizer, not of a batch norm
  assert.deepEqual(ids(`${HEADER}\nopt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)\n`, 'HP007'), []);
  assert.deepEqual(ids(`class BatchNorm2d:\n    pass\n\nbn = BatchNorm2d(8, 1e-5, 0.9)\n`, 'HP007'), [], 'a local class of the same name');
});

// ---- TL031 target-network-not-separate ----

const AGENT = (init: string, update: string) =>
  `${HEADER}import copy\nfrom nets import QNet\n\nclass Agent:\n    def __init__(self, n_obs, n_act):\n${indent(init, 8)}\n        self.optimizer = torch.optim.Adam(self.policy_net.parameters(), lr=1e-3)\n\n    def update_target(self):\n${indent(update, 8)}\n`;

test('TL031: the target network assigned the online one is an error', () => {
  const code = AGENT('self.policy_net = QNet(n_obs, n_act)\nself.target_net = self.policy_net', 'self.target_net.load_state_dict(self.policy_net.state_dict())');
  const f = lint(code, { select: ['TL031'] });
  assert.deepEqual(f.map((x) => `${x.rule}:${x.severity}`), ['TL031:error']);
  assert.equal(
    f[0]!.message,
    'self.target_net = self.policy_net makes the target network the same object as self.policy_net: it moves with every step and syncing it copies nothing; use copy.deepcopy(self.policy_net) or build a new network and load its state_dict.',
  );
  // the alias made after a sync, in the update method (the target is built separately in __init__)
  assert.deepEqual(ids(AGENT('self.policy_net = QNet(n_obs, n_act)\nself.target_net = QNet(n_obs, n_act)', 'self.target_net.load_state_dict(self.policy_net.state_dict())\nself.target_net = self.policy_net'), 'TL031'), ['TL031']);
  // through .to(device), and with no name but a sync between the two
  assert.deepEqual(ids(AGENT('self.policy_net = QNet(n_obs, n_act).to("cuda")\nself.shadow = self.policy_net.to("cuda")', 'self.shadow.load_state_dict(self.policy_net.state_dict())'), 'TL031'), ['TL031']);
});

test('TL031: both names bound to the same object; PPO old policy; EMA through a soft update', () => {
  const shared = `${HEADER}\nclass DQN:\n    def __init__(self, models):\n        self.policy_net = models["q"].to("cuda")\n        self.target_net = models["q"].to("cuda")\n        self.optimizer = torch.optim.Adam(self.policy_net.parameters())\n`;
  const f = lint(shared, { select: ['TL031'] });
  assert.deepEqual(f.map((x) => x.rule), ['TL031']);
  assert.match(f[0]!.message, /^self\.target_net is the same object as self\.policy_net \(both are models\["q"\]\): /);
  const ppo = `${HEADER}\nfrom nets import ActorCritic\n\nclass PPO:\n    def __init__(self):\n        self.policy = ActorCritic()\n        self.policy_old = self.policy\n        self.opt = torch.optim.Adam(self.policy.parameters(), lr=3e-4)\n`;
  assert.deepEqual(ids(ppo, 'TL031'), ['TL031'], 'PPO');
  const ema = `${HEADER}\nmodel = Net()\nema_model = model\nopt = torch.optim.SGD(model.parameters(), lr=0.1)\nfor x, y in loader:\n    with torch.no_grad():\n        for e, p in zip(ema_model.parameters(), model.parameters()):\n            e.mul_(0.999).add_(p, alpha=0.001)\n`;
  assert.deepEqual(ids(ema, 'TL031'), ['TL031'], 'EMA');
});

test('TL031: a network copied into itself: load_state_dict, zip, update functions, a loop that never reads the source', () => {
  const msg = (code: string) => lint(code, { select: ['TL031'] }).map((x) => x.message);
  assert.deepEqual(msg(`${HEADER}\nself.target_q.load_state_dict(self.target_q.state_dict())\n`), [
    'self.target_q.load_state_dict(self.target_q.state_dict()) copies self.target_q into itself: nothing is updated, so a target copy keeps its old weights; copy from the online network instead.',
  ]);
  assert.deepEqual(ids(`${HEADER}\ntarget.load_state_dict(copy.deepcopy(target.state_dict()))\n`, 'TL031'), ['TL031'], 'under deepcopy');
  assert.deepEqual(ids(`${HEADER}\nfor tp, p in zip(target.parameters(), target.parameters()):\n    tp.data.copy_(p.data)\n`, 'TL031'), ['TL031'], 'zip of the same parameters');
  assert.deepEqual(ids(`${HEADER}\nsoft_update(self.critic_target, self.critic_target, 0.005)\n`, 'TL031'), ['TL031'], 'an update function');
  const loop = msg(`${HEADER}\nfor tp, p in zip(target.parameters(), online.parameters()):\n    tp.data.copy_(tau * tp.data + (1 - tau) * tp.data)\n`);
  assert.deepEqual(loop, ['The loop updates tp (of target) without reading p: target is copied from itself, not from online; use p as the source.']);
  // not named as a target, but synced with another network elsewhere
  assert.deepEqual(ids(`${HEADER}\nshadow.load_state_dict(net.state_dict())\nshadow.load_state_dict(shadow.state_dict())\n`, 'TL031'), ['TL031']);
});

test('TL031: a self-copy of a network that is no target (a checkpoint test) is left alone', () => {
  assert.deepEqual(ids(`${HEADER}\nmodel = Net()\nmodel.load_state_dict(model.state_dict(), strict=True)\n`, 'TL031'), []);
  assert.deepEqual(ids(`${HEADER}\nfor a, b in zip(model.parameters(), model.parameters()):\n    print(a.shape)\n`, 'TL031'), []);
});

test('TL031 negatives: real copies, an optional target, stored teachers, rebinding, correct syncs', () => {
  const none = (code: string, why: string) => assert.deepEqual(ids(code, 'TL031'), [], why);
  none(AGENT('self.policy_net = QNet(n_obs, n_act)\nself.target_net = copy.deepcopy(self.policy_net)', 'self.target_net.load_state_dict(self.policy_net.state_dict())'), 'deepcopy');
  none(AGENT('self.policy_net = QNet(n_obs, n_act)\nself.target_net = QNet(n_obs, n_act)', 'self.target_net.load_state_dict(self.policy_net.state_dict())'), 'built separately');
  none(AGENT('self.policy_net = QNet(n_obs, n_act)\nif use_target:\n    self.target_net = copy.deepcopy(self.policy_net)\nelse:\n    self.target_net = self.policy_net', 'pass'), 'a "no target network" option');
  none(AGENT('self.policy_net = QNet(n_obs, n_act)\nself.target_net = self.policy_net\nself.target_net = copy.deepcopy(self.policy_net)', 'pass'), 'replaced by a copy later');
  none(`${HEADER}\nclass Distill:\n    def __init__(self, student, teacher_model):\n        teacher = Wrapper(teacher_model)\n        self.student = student\n        self.teacher = teacher\n        self.opt = torch.optim.Adam(student.parameters())\n`, 'storing a teacher');
  none(`${HEADER}\nold_model = model\nmodel = Net()\nmodel.load_state_dict(old_model.state_dict())\n`, 'the old object is kept, the name gets a new model');
  none(`${HEADER}\nfor tp, p in zip(target.parameters(), online.parameters()):\n    tp.data.copy_(tau * p.data + (1 - tau) * tp.data)\ntarget.load_state_dict(online.state_dict())\nsoft_update(target, online, 0.01)\n`, 'correct syncs');
  const meta = `${HEADER}\nclass Wrapper:\n    def __init__(self, model):\n        self.model = model\n\n    def copy_params_from(self, model):\n        for a, b in zip(self.model.parameters(), model.parameters()):\n            a.data.copy_(b.data)\n`;
  none(meta, 'a parameter named like the attribute, synced in another method: not the same variable');
  none(`${HEADER}\nself.target_net = self.target_net.to(device)\nmodel.load_state_dict(torch.load("m.pt"))\n`, 'moving the target itself');
  none(`${HEADER}\nnet = QNet()\ntarget_net = net\nnet = QNet()\nopt = torch.optim.Adam(net.parameters())\ntarget_net.load_state_dict(net.state_dict())\n`, 'the source name gets a new network afterwards');
});
