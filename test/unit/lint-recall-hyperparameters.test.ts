// Hyperparameters read from the script's own configuration (argparse defaults, dataclass / class attributes, dict
// literals: analysis/config.ts) in HP001 and HP003; HP001's linear-model exemption (RMSprop, Keras `Dense(1)`, a module
// of one linear layer) and broken parses; HP004 on PyG feature dropout; HP005's score words and Lightning's monitor.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, ids, lint, useParser } from './lint/helpers';

useParser();

const LOOP = `
for x, y in loader:
    optimizer.zero_grad()
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    optimizer.step()
`;

const ARGPARSE = (option: string, after = '', lr = 'args.lr') => `import argparse
${HEADER}
parser = argparse.ArgumentParser()
parser.add_argument('--epochs', type=int, default=100)
${option}
args = parser.parse_args()
${after}
model = nn.Sequential(nn.Linear(10, 64), nn.ReLU(), nn.Linear(64, 2))
optimizer = torch.optim.Adam(model.parameters(), lr=${lr})
${LOOP}`;

test('HP001 reads the argparse default of args.lr and says where it comes from', () => {
  const f = lint(ARGPARSE("parser.add_argument('--lr', type=float, default=0.1)"), { select: ['HP001'] });
  assert.deepEqual(f.map((x) => x.rule), ['HP001']);
  assert.match(f[0]!.message, /args\.lr \(--lr default 0\.1\) is too high for Adam/);
  // The value is changed where it is defined: no fix in the call.
  assert.equal(f[0]!.fixes, undefined);
  assert.deepEqual(ids(ARGPARSE("parser.add_argument('--learning-rate', '-l', type=float, default=0.5)", '', 'args.learning_rate'), 'HP001'), ['HP001']);
  assert.deepEqual(ids(ARGPARSE("parser.add_argument('--base-lr', dest='lr', type=float, default=0.5)"), 'HP001'), ['HP001']);
  // Through `lr = args.lr`.
  assert.deepEqual(ids(ARGPARSE("parser.add_argument('--lr', type=float, default=0.1)", 'lr = args.lr', 'lr'), 'HP001'), ['HP001']);
});

test('HP001 follows args into main(args) and out of a get_args() helper', () => {
  const code = `import argparse
${HEADER}
def get_args():
    parser = argparse.ArgumentParser()
    group = parser.add_argument_group('optim')
    group.add_argument('--lr', type=float, default=0.1)
    return parser.parse_args()

def main(args):
    model = nn.Sequential(nn.Linear(10, 64), nn.ReLU(), nn.Linear(64, 2))
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr)
    for x, y in loader:
        optimizer.zero_grad()
        F.cross_entropy(model(x), y).backward()
        optimizer.step()

if __name__ == '__main__':
    main(get_args())
`;
  assert.deepEqual(ids(code, 'HP001'), ['HP001']);
  assert.deepEqual(ids(code.replace('default=0.1', 'default=1e-3'), 'HP001'), []);
});

test('no HP001 when the argparse default may be replaced or is plausible', () => {
  const option = "parser.add_argument('--lr', type=float, default=0.1)";
  assert.deepEqual(ids(ARGPARSE("parser.add_argument('--lr', type=float, default=1e-3)"), 'HP001'), []);
  // The linear scaling rule, a YAML config merged into args, set_defaults, a required option, an explicit argv.
  assert.deepEqual(ids(ARGPARSE(option, 'args.lr = args.lr * 8 / 256'), 'HP001'), []);
  assert.deepEqual(ids(ARGPARSE(option, 'args.lr *= 0.01'), 'HP001'), []);
  assert.deepEqual(ids(ARGPARSE(option, 'import yaml\nvars(args).update(yaml.safe_load(open("cfg.yaml")))'), 'HP001'), []);
  assert.deepEqual(ids(ARGPARSE(option, 'import yaml\nargs.__dict__.update(yaml.safe_load(open("cfg.yaml")))'), 'HP001'), []);
  assert.deepEqual(ids(ARGPARSE(option, 'import yaml\nfor k, v in yaml.safe_load(open("cfg.yaml")).items():\n    setattr(args, k, v)'), 'HP001'), []);
  assert.deepEqual(ids(ARGPARSE(`${option}\nparser.set_defaults(lr=1e-3)`), 'HP001'), []);
  assert.deepEqual(ids(ARGPARSE("parser.add_argument('--lr', type=float, default=0.1, required=True)"), 'HP001'), []);
  assert.deepEqual(ids(ARGPARSE(option).replace('parser.parse_args()', "parser.parse_args(['--lr', '1e-3'])"), 'HP001'), []);
  // A name the file rebinds from a config file.
  assert.deepEqual(ids(ARGPARSE(option, 'import yaml\nargs = yaml.safe_load(open("cfg.yaml"))'), 'HP001'), []);
  // Another option of that name on another parser.
  assert.deepEqual(ids(ARGPARSE("other = argparse.ArgumentParser()\nother.add_argument('--lr', type=float, default=0.1)\nparser.add_argument('--lr', type=float, default=3e-4)"), 'HP001'), []);
});

const DATACLASS = (body: string, build = 'TrainConfig()', after = '') => `from dataclasses import dataclass, field
${HEADER}
@dataclass
class TrainConfig:
    epochs: int = 100
${body}

def main(cfg: TrainConfig):
    ${after}
    model = nn.Sequential(nn.Linear(10, 64), nn.ReLU(), nn.Linear(64, 2))
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    for x, y in loader:
        optimizer.zero_grad()
        F.cross_entropy(model(x), y).backward()
        optimizer.step()

main(${build})
`;

test('HP001 reads a dataclass field default, a constructor keyword, a class attribute and a dict literal', () => {
  const f = lint(DATACLASS('    lr: float = 0.1'), { select: ['HP001'] });
  assert.deepEqual(f.map((x) => x.rule), ['HP001']);
  assert.match(f[0]!.message, /cfg\.lr \(TrainConfig\.lr default 0\.1\)/);
  assert.deepEqual(ids(DATACLASS('    lr: float = field(default=0.5)'), 'HP001'), ['HP001']);
  assert.deepEqual(ids(DATACLASS('    lr: float = 1e-3', 'TrainConfig(lr=0.1)'), 'HP001'), ['HP001']);
  const plain = `${HEADER}
class CFG:
    lr = 0.1
    epochs = 10

model = nn.Sequential(nn.Linear(10, 64), nn.ReLU(), nn.Linear(64, 2))
optimizer = torch.optim.Adam(model.parameters(), lr=CFG.lr)
${LOOP}`;
  assert.deepEqual(ids(plain, 'HP001'), ['HP001']);
  const dict = `${HEADER}
config = {'lr': 0.1, 'epochs': 10}
model = nn.Sequential(nn.Linear(10, 64), nn.ReLU(), nn.Linear(64, 2))
optimizer = torch.optim.Adam(model.parameters(), lr=config['lr'])
${LOOP}`;
  const d = lint(dict, { select: ['HP001'] });
  assert.deepEqual(d.map((x) => x.rule), ['HP001']);
  assert.match(d[0]!.message, /config\['lr'\] \('lr': 0\.1 in config\)/);
});

test('no HP001 when a config object or dict may be changed, or its value is plausible', () => {
  assert.deepEqual(ids(DATACLASS('    lr: float = 1e-3'), 'HP001'), []);
  assert.deepEqual(ids(DATACLASS('    lr: float = 1e-3', 'TrainConfig(lr=3e-4)'), 'HP001'), []);
  assert.deepEqual(ids(DATACLASS('    lr: float = 0.1', 'TrainConfig()', 'cfg.lr = 1e-3'), 'HP001'), []);
  assert.deepEqual(ids(DATACLASS('    lr: float = 0.1', 'TrainConfig(**yaml.safe_load(open("c.yaml")))'), 'HP001'), []);
  assert.deepEqual(ids(DATACLASS('    lr: float = 0.1\n\n    def __post_init__(self):\n        self.lr = self.lr / 100'), 'HP001'), []);
  // Built elsewhere (tyro, hydra): no call site in the file.
  assert.deepEqual(ids(DATACLASS('    lr: float = 0.1', 'TrainConfig()').replace('main(TrainConfig())', 'import tyro\ntyro.cli(main)'), 'HP001'), []);
  const dict = (after: string) => `${HEADER}
import yaml
config = {'lr': 0.1, 'epochs': 10}
${after}
model = nn.Sequential(nn.Linear(10, 64), nn.ReLU(), nn.Linear(64, 2))
optimizer = torch.optim.Adam(model.parameters(), lr=config['lr'])
${LOOP}`;
  assert.deepEqual(ids(dict('config.update(yaml.safe_load(open("c.yaml")))'), 'HP001'), []);
  assert.deepEqual(ids(dict("config['lr'] = 1e-3"), 'HP001'), []);
  assert.deepEqual(ids(dict('config = yaml.safe_load(open("c.yaml"))'), 'HP001'), []);
});

test('HP001 linear-model exemption: a module of one linear layer, RMSprop, Keras Sequential([Dense(1)])', () => {
  const module = (layers: string, lr = '0.2') => `${HEADER}
class LogReg(nn.Module):
    def __init__(self):
        super().__init__()
${layers}

    def forward(self, x):
        return F.log_softmax(self.lin(x), dim=1)

model = LogReg()
optimizer = torch.optim.Adam(model.parameters(), lr=${lr}, weight_decay=0.005)
${LOOP}`;
  assert.deepEqual(ids(module('        self.lin = nn.Linear(16, 3)\n        self.drop = nn.Dropout(0.5)'), 'HP001'), []);
  assert.deepEqual(ids(module('        self.hidden = nn.Linear(16, 64)\n        self.lin = nn.Linear(64, 3)'), 'HP001'), ['HP001']);
  assert.deepEqual(ids(module('        self.emb = nn.Embedding(100, 16)\n        self.lin = nn.Linear(16, 3)'), 'HP001'), ['HP001']);
  // PyG's SGC: one SGConv, built in a tuple assignment.
  const sgc = `${HEADER}
from torch_geometric.nn import SGConv

class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = SGConv(in_channels=1433, out_channels=7, K=2, cached=True)

    def forward(self, x, edge_index):
        return F.log_softmax(self.conv1(x, edge_index), dim=1)

model, data = Net().to(device), data.to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=0.2, weight_decay=0.005)
`;
  assert.deepEqual(ids(sgc, 'HP001'), []);
  assert.deepEqual(ids(sgc.replace('lr=0.2', 'lr=0.5'), 'HP001'), ['HP001']);
  assert.deepEqual(ids(sgc.replace('SGConv(in_channels', 'GATConv(in_channels').replace('import SGConv', 'import GATConv'), 'HP001'), ['HP001']);
  assert.deepEqual(ids(`${HEADER}\nmodel = nn.Linear(10, 1)\noptimizer = torch.optim.RMSprop(model.parameters(), lr=0.5)\n`, 'HP001'), []);
  const keras = (layers: string, lr: string) => `from tensorflow import keras
model = keras.Sequential([${layers}])
model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=${lr}), loss='mse')
model.fit(x, y, epochs=5)
`;
  assert.deepEqual(ids(keras('keras.layers.Dense(1)', '0.1'), 'HP001'), []);
  assert.deepEqual(ids(keras('keras.layers.Dense(512, activation="relu"), keras.layers.Dense(10, activation="softmax")', '1.0'), 'HP001'), ['HP001']);
});

test('no HP001 on an assignment tree-sitter chained across a blank exercise line; a real chain is still read', () => {
  const template = (vars: string) => `${HEADER}
${vars}
model = nn.LSTM(10, 20)
optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
`;
  assert.deepEqual(ids(template('learning_rate = \n\nhidden_dim = \nshow_every_n_batches = 500'), 'HP001'), []);
  assert.deepEqual(ids(template('learning_rate = base_lr = 0.5'), 'HP001'), ['HP001']);
});

const STEPLR = (config: string, build: string) => `${HEADER}
${config}

def train_one_epoch(model, loader, optimizer, scheduler):
    for x, y in loader:
        optimizer.zero_grad()
        F.cross_entropy(model(x), y).backward()
        optimizer.step()
        scheduler.step()

def main(cfg):
    model = nn.Linear(10, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scheduler = ${build}
    for epoch in range(100):
        train_one_epoch(model, loader, optimizer, scheduler)
`;

test('HP003 resolves step_size=cfg.step_size and milestones=args.lr_steps despite the word "step"', () => {
  const dc = 'from dataclasses import dataclass\n\n@dataclass\nclass TrainConfig:\n    step_size: int = 20\n    gamma: float = 0.7\n';
  const f = lint(`${STEPLR(dc, 'torch.optim.lr_scheduler.StepLR(optimizer, step_size=cfg.step_size, gamma=cfg.gamma)')}\nmain(TrainConfig())\n`, { select: ['HP003'] });
  assert.deepEqual(f.map((x) => x.rule), ['HP003']);
  assert.match(f[0]!.message, /StepLR\(step_size=cfg\.step_size, TrainConfig\.step_size default 20\)/);
  const ap = (opt: string) => `import argparse\nparser = argparse.ArgumentParser()\n${opt}\n`;
  const main = '\nmain(parser.parse_args())\n';
  assert.deepEqual(ids(STEPLR(ap("parser.add_argument('--lr-steps', nargs='+', type=int, default=[30, 60])"), 'torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=cfg.lr_steps)') + main, 'HP003'), ['HP003']);
  assert.deepEqual(ids(STEPLR(ap("parser.add_argument('--lr_decay_step', type=int, default=30)"), 'torch.optim.lr_scheduler.StepLR(optimizer, cfg.lr_decay_step)') + main, 'HP003'), ['HP003']);
});

test('no HP003 when the step count is in iterations or unknown', () => {
  const ap = (opt: string) => `import argparse\nparser = argparse.ArgumentParser()\n${opt}\n`;
  const main = '\nmain(parser.parse_args())\n';
  // Iteration-based schedule: 5000 batches.
  assert.deepEqual(ids(STEPLR(ap("parser.add_argument('--step_size', type=int, default=5000)"), 'torch.optim.lr_scheduler.StepLR(optimizer, step_size=cfg.step_size)') + main, 'HP003'), []);
  // No call site: the value is not known.
  assert.deepEqual(ids(STEPLR('', 'torch.optim.lr_scheduler.StepLR(optimizer, step_size=cfg.step_size)'), 'HP003'), []);
  // The name says iterations, whatever its default.
  assert.deepEqual(ids(STEPLR(ap("parser.add_argument('--steps_per_epoch', type=int, default=100)"), 'torch.optim.lr_scheduler.StepLR(optimizer, step_size=cfg.steps_per_epoch)') + main, 'HP003'), []);
  assert.deepEqual(ids(STEPLR(ap("parser.add_argument('--max_steps', type=int, default=100)"), 'torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=cfg.max_steps)') + main, 'HP003'), []);
});

test('HP004 leaves functional feature dropout in PyG files alone, not a dropout layer', () => {
  const code = (imp: string, drop: string) => `${HEADER}
${imp}

class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(1433, 7)

    def forward(self, x, edge_index):
        x = ${drop}
        return self.lin(x)
`;
  assert.deepEqual(ids(code('from torch_geometric.nn import GCNConv', 'F.dropout(x, p=0.92, training=self.training)'), 'HP004'), []);
  assert.deepEqual(ids(code('import torch_geometric.transforms as T', 'F.dropout(x, p=0.9, training=self.training)'), 'HP004'), []);
  assert.deepEqual(ids(code('', 'F.dropout(x, p=0.92, training=self.training)'), 'HP004'), ['HP004']);
  assert.deepEqual(ids(code('from torch_geometric.nn import GCNConv', 'nn.Dropout(0.9)(x)'), 'HP004'), ['HP004']);
});

test('HP005 knows regression and ranking scores', () => {
  const code = (value: string, mode = '') => `${HEADER}
scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer${mode}, patience=3)
for epoch in range(50):
    train(model, loader, optimizer)
    ${value} = evaluate(model, val_loader)
    scheduler.step(${value})
`;
  for (const v of ['val_r2', 'ndcg10', 'hr_at_10', 'val_hits', 'mrr', 'kappa', 'val_mcc', 'pearson_corr', 'spearman']) assert.deepEqual(ids(code(v), 'HP005'), ['HP005'], v);
  assert.deepEqual(ids(code('val_r2', ", mode='max'"), 'HP005'), []);
  assert.deepEqual(ids(code('val_rmse'), 'HP005'), []);
});

test("HP005 reads Lightning's monitor in the configure_optimizers dict", () => {
  const code = (mode: string, monitor: string, flat = false) => `${HEADER}
import lightning as L

class Net(L.LightningModule):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(10, 2)

    def configure_optimizers(self):
        opt = torch.optim.Adam(self.parameters(), lr=1e-3)
        sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode='${mode}', factor=0.5, patience=3)
        ${flat ? `return {'optimizer': opt, 'lr_scheduler': sched, 'monitor': '${monitor}'}` : `return {'optimizer': opt, 'lr_scheduler': {'scheduler': sched, 'monitor': '${monitor}'}}`}
`;
  const f = lint(code('max', 'val/loss'), { select: ['HP005'] });
  assert.deepEqual(f.map((x) => x.rule), ['HP005']);
  assert.match(f[0]!.message, /The monitored 'val\/loss' should fall/);
  assert.deepEqual(ids(code('min', 'val_acc', true), 'HP005'), ['HP005']);
  assert.deepEqual(ids(code('min', 'val/loss'), 'HP005'), []);
  assert.deepEqual(ids(code('max', 'val_acc', true), 'HP005'), []);
});
