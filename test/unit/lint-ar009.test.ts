import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, fix, ids, indent, lint, useParser } from './lint/helpers';

useParser();

/** A module class with the given __init__ lines and forward body. */
const net = (init: string, forward: string, header = HEADER, params = '') =>
  `${header}\nclass Net(nn.Module):\n    def __init__(self${params}):\n        super().__init__()\n${indent(init, 8)}\n\n    def forward(self, x):\n${indent(forward, 8)}\n`;

const LOOP = 'for layer in self.layers:\n    x = torch.relu(layer(x))\nreturn x';

/** The finding is AR009 (an error), on `self.<attr>`, and its fix gives `expected` and a clean file. */
function fixedTo(code: string, expected: RegExp): string {
  const f = lint(code);
  assert.deepEqual(f.map((x) => `${x.rule}:${x.severity}`), ['AR009:error']);
  assert.ok(f[0]!.fixes?.length, 'has a fix');
  const fixed = fix(code, 'AR009');
  assert.match(fixed, expected);
  assert.deepEqual(ids(fixed), [], 'the fixed code has no findings at all');
  return fixed;
}

test('AR009: list comprehension of nn.Linear: an error on self.layers, the message, the ModuleList fix', () => {
  const code = net('self.layers = [nn.Linear(a, b) for a, b in zip(sizes, sizes[1:])]', LOOP, HEADER, ', sizes');
  const f = lint(code);
  assert.deepEqual(f.map((x) => `${x.rule}:${x.severity}`), ['AR009:error']);
  const line = code.split('\n')[f[0]!.range.start.line]!;
  assert.equal(line.slice(f[0]!.range.start.column, f[0]!.range.end.column), 'self.layers');
  assert.equal(
    f[0]!.message,
    'self.layers is a plain list: its modules are not registered, so model.parameters() (and the optimizer), .to(device) and state_dict() skip them. Use nn.ModuleList(...).',
  );
  assert.equal(f[0]!.fixes![0]!.title, 'Use nn.ModuleList');
  fixedTo(code, /self\.layers = nn\.ModuleList\(\[nn\.Linear\(a, b\) for a, b in zip\(sizes, sizes\[1:\]\)\]\)/);
});

test('AR009: literal list of layers, indexed and called in forward', () => {
  const code = net('self.layers = [nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 4)]', 'for i in range(len(self.layers)):\n    x = self.layers[i](x)\nreturn x');
  fixedTo(code, /self\.layers = nn\.ModuleList\(\[nn\.Linear\(16, 32\), nn\.ReLU\(\), nn\.Linear\(32, 4\)\]\)/);
});

test('AR009: dict literal with string keys: plain dict message, ModuleDict fix', () => {
  const code = net('self.trunk = nn.Linear(16, 16)\nself.heads = {"cls": nn.Linear(16, 3), "box": nn.Linear(16, 4)}', 'h = torch.relu(self.trunk(x))\nreturn {k: head(h) for k, head in self.heads.items()}');
  const f = lint(code);
  assert.match(f[0]!.message, /^self\.heads is a plain dict: .* Use nn\.ModuleDict\(\.\.\.\)\.$/);
  fixedTo(code, /self\.heads = nn\.ModuleDict\(\{"cls": nn\.Linear\(16, 3\), "box": nn\.Linear\(16, 4\)\}\)/);
});

test('AR009: empty list filled with append in a loop: the fix makes it an empty ModuleList', () => {
  const code = net('self.layers = []\nfor _ in range(depth):\n    self.layers.append(nn.Linear(width, width))', LOOP, HEADER, ', width, depth');
  const fixed = fixedTo(code, /self\.layers = nn\.ModuleList\(\)\n/);
  assert.match(fixed, /self\.layers\.append\(nn\.Linear\(width, width\)\)/);
  assert.deepEqual(ids(net('self.layers = list()\nfor _ in range(3):\n    self.layers.append(nn.Linear(8, 8))', LOOP)), ['AR009'], 'list()');
  const local = net('self.layers = []\nfor _ in range(3):\n    layer = nn.Linear(8, 8)\n    self.layers.append(layer)', LOOP);
  assert.deepEqual(ids(local), ['AR009'], 'append of a local bound to a layer');
  assert.deepEqual(ids(net('self.layers = []\nself.layers += [nn.Linear(8, 8) for _ in range(3)]', LOOP)), ['AR009'], '+=');
  assert.deepEqual(ids(net('self.layers = []\nself.layers.extend([nn.Linear(8, 8), nn.Linear(8, 8)])', LOOP)), ['AR009'], 'extend');
  const build = `${HEADER}\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.layers = []\n        self.build()\n\n    def build(self):\n        for _ in range(3):\n            self.layers.append(nn.Linear(8, 8))\n\n    def forward(self, x):\n${indent(LOOP, 8)}\n`;
  assert.deepEqual(ids(build), ['AR009'], 'filled in another method');
});

test('AR009: a module class defined in the file, and copy.deepcopy of a layer', () => {
  const block = `${HEADER}\nclass Block(nn.Module):\n    def __init__(self, dim):\n        super().__init__()\n        self.fc = nn.Linear(dim, dim)\n\n    def forward(self, x):\n        return x + torch.relu(self.fc(x))\n`;
  const code = `${block}\n\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.blocks = [Block(32) for _ in range(4)]\n\n    def forward(self, x):\n        for block in self.blocks:\n            x = block(x)\n        return x\n`;
  fixedTo(code, /self\.blocks = nn\.ModuleList\(\[Block\(32\) for _ in range\(4\)\]\)/);
  const deep = `import copy\n${net('self.layers = [copy.deepcopy(nn.Linear(8, 8)) for _ in range(3)]', LOOP)}`;
  assert.deepEqual(ids(deep), ['AR009']);
});

test('AR009: torch.nn spelled in full with only `import torch`: the fix writes torch.nn.ModuleList', () => {
  const code = `import torch\n\n\nclass Net(torch.nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.layers = [torch.nn.Linear(8, 8) for _ in range(3)]\n\n    def forward(self, x):\n${indent(LOOP, 8)}\n`;
  fixedTo(code, /self\.layers = torch\.nn\.ModuleList\(\[torch\.nn\.Linear\(8, 8\) for _ in range\(3\)\]\)/);
  const fromImport = code.replace('import torch\n', 'import torch\nfrom torch import nn\n');
  assert.match(fix(fromImport, 'AR009'), /self\.layers = nn\.ModuleList\(/);
});

test('AR009: other forms: tuple, list(generator), dict comprehension, a local list assigned to self', () => {
  fixedTo(net('self.layers = (nn.Linear(8, 8), nn.Linear(8, 8))', LOOP), /self\.layers = nn\.ModuleList\(\[nn\.Linear\(8, 8\), nn\.Linear\(8, 8\)\]\)/);
  assert.match(lint(net('self.layers = (nn.Linear(8, 8), nn.Linear(8, 8))', LOOP))[0]!.message, /plain tuple/);
  fixedTo(net('self.layers = list(nn.Linear(8, 8) for _ in range(3))', LOOP), /self\.layers = nn\.ModuleList\(nn\.Linear\(8, 8\) for _ in range\(3\)\)/);
  const comp = net('self.heads = {f"head{i}": nn.Linear(8, 2) for i in range(3)}', 'return [head(x) for head in self.heads.values()]');
  fixedTo(comp, /self\.heads = nn\.ModuleDict\(\{f"head\{i\}": nn\.Linear\(8, 2\) for i in range\(3\)\}\)/);
  const local = net('layers = []\nfor _ in range(3):\n    layers.append(nn.Linear(8, 8))\nself.layers = layers', LOOP);
  fixedTo(local, /self\.layers = nn\.ModuleList\(layers\)/);
  assert.deepEqual(ids(net('layers = [nn.Linear(8, 8) for _ in range(3)]\nself.layers = layers', LOOP)), ['AR009']);
});

test('AR009: reported without a fix when the fix could break: unchecked dict keys, no torch import, before super().__init__()', () => {
  const noFix = (code: string) => {
    const f = lint(code, { select: ['AR009'] });
    assert.deepEqual(f.map((x) => x.rule), ['AR009']);
    assert.equal(f[0]!.fixes, undefined);
  };
  noFix(net('self.heads = {name: nn.Linear(8, 2) for name in names}', 'return [h(x) for h in self.heads.values()]', HEADER, ', names'));
  noFix(net('self.heads = {0: nn.Linear(8, 2), 1: nn.Linear(8, 3)}', 'return [h(x) for h in self.heads.values()]'));
  noFix(net('self.heads = {"a.b": nn.Linear(8, 2)}', 'return [h(x) for h in self.heads.values()]'));
  noFix(net('self.heads = {}\nfor name in names:\n    self.heads[name] = nn.Linear(8, 2)', 'return [h(x) for h in self.heads.values()]', HEADER, ', names'));
  noFix(`class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.layers = [nn.Linear(8, 8) for _ in range(3)]\n\n    def forward(self, x):\n${indent(LOOP, 8)}\n`);
  noFix(`${HEADER}\nclass Net(nn.Module):\n    def __init__(self):\n        self.layers = [nn.Linear(8, 8) for _ in range(3)]\n        super().__init__()\n\n    def forward(self, x):\n${indent(LOOP, 8)}\n`);
  const keyed = net('self.heads = {}\nfor name in ["cls", "box"]:\n    self.heads[str(name)] = nn.Linear(8, 2)', 'return [h(x) for h in self.heads.values()]');
  fixedTo(keyed, /self\.heads = nn\.ModuleDict\(\)\n/);
});

test('AR009: negatives: registered containers, Sequential from a local list, local lists passed to ModuleList', () => {
  assert.deepEqual(ids(net('self.layers = nn.ModuleList([nn.Linear(8, 8) for _ in range(3)])', LOOP)), []);
  assert.deepEqual(ids(net('self.heads = nn.ModuleDict({"a": nn.Linear(8, 2), "b": nn.Linear(8, 3)})', 'return [h(x) for h in self.heads.values()]')), []);
  assert.deepEqual(ids(net('layers = []\nfor _ in range(3):\n    layers += [nn.Linear(8, 8), nn.ReLU()]\nself.net = nn.Sequential(*layers)', 'return self.net(x)')), []);
  assert.deepEqual(ids(net('layers = [nn.Linear(8, 8) for _ in range(3)]\nself.layers = nn.ModuleList(layers)', LOOP)), []);
  assert.deepEqual(ids(net('layers = [nn.Linear(8, 8) for _ in range(3)]\nself.net = nn.Sequential(*layers)\nself.layers = layers', 'return self.net(x)')), [], 'the local list also went into a Sequential');
  assert.deepEqual(ids(net('self.layers = [nn.Linear(8, 8) for _ in range(3)]\nself.net = nn.Sequential(*self.layers)', 'return self.net(x)')), [], 'registered through self.net');
  assert.deepEqual(ids(net('self.layers = []\nfor _ in range(3):\n    self.layers.append(nn.Linear(8, 8))\nself.layers = nn.ModuleList(self.layers)', LOOP)), [], 'wrapped afterwards');
});

test('AR009: negatives: lists of non-modules (ints, tensors, parameters, functions), an empty list never given modules', () => {
  assert.deepEqual(ids(net('self.sizes = [8, 16, 8]\nself.fc = nn.Linear(8, 8)', 'return self.fc(x)')), []);
  assert.deepEqual(ids(net('self.scales = [torch.ones(8) for _ in range(3)]\nself.fc = nn.Linear(8, 8)', 'return self.fc(x) * self.scales[0]')), []);
  assert.deepEqual(ids(net('self.ws = [nn.Parameter(torch.randn(8, 8)) for _ in range(3)]', 'return x @ self.ws[0]')), [], 'parameters in a list: another bug');
  assert.deepEqual(ids(net('self.fc = nn.Linear(8, 8)\nself.acts = [torch.relu, F.gelu, torch.tanh]', 'return self.acts[0](self.fc(x))')), [], 'activation functions');
  assert.deepEqual(ids(net('self.fc = nn.Linear(8, 8)\nself.acts = [F.relu, F.silu]', 'return self.acts[1](self.fc(x))')), []);
  assert.deepEqual(ids(net('self.fc = nn.Linear(8, 8)\nself.history = []\nself.history.append(torch.zeros(1))', 'return self.fc(x)')), []);
  assert.deepEqual(ids(net('self.fc = nn.Linear(8, 8)\nself.cache = {}', 'return self.fc(x)')), []);
  assert.deepEqual(ids(net('self.fc = nn.Linear(8, 8)\nself.mixed = [nn.Linear(8, 8), 3]', 'return self.fc(x)')), [], 'not all modules');
});

test('AR009: negatives: not an nn.Module, registered with add_module/setattr too, references to registered attributes', () => {
  const plain = `${HEADER}\nclass Builder:\n    def __init__(self):\n        self.layers = [nn.Linear(8, 8) for _ in range(3)]\n\n    def build(self):\n        return nn.Sequential(*self.layers)\n`;
  assert.deepEqual(ids(plain), []);
  const addModule = net('self.layers = []\nfor i in range(3):\n    layer = nn.Linear(8, 8)\n    self.add_module(f"layer{i}", layer)\n    self.layers.append(layer)', LOOP);
  assert.deepEqual(ids(addModule), []);
  const set = net('self.layers = []\nfor i in range(3):\n    layer = nn.Linear(8, 8)\n    setattr(self, f"fc{i}", layer)\n    self.layers.append(layer)', LOOP);
  assert.deepEqual(ids(set), []);
  assert.deepEqual(ids(net('self.a = nn.Linear(8, 8)\nself.b = nn.Linear(8, 8)\nself.layers = [self.a, self.b]', LOOP)), []);
  const alias = net('self.layers = []\nfor i in range(3):\n    layer = nn.Linear(8, 8)\n    self.fc = layer\n    self.layers.append(layer)', LOOP);
  assert.deepEqual(ids(alias), [], 'the appended layer is also a registered attribute');
  const literalAlias = net('fc1 = nn.Linear(8, 8)\nfc2 = nn.Linear(8, 8)\nself.fc1 = fc1\nself.fc2 = fc2\nself.layers = [fc1, fc2]', LOOP);
  assert.deepEqual(ids(literalAlias), []);
});
