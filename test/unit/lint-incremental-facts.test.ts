// Incremental re-lint after edits of file-level facts: an import alias, a name bound over a conventional one
// (`F = ...`), a model class whose forward another function's loss reads, a suppression comment. Findings of scopes
// that were not edited depend on these facts, so a cache that keeps them per scope must notice; each step is
// compared with a lint from scratch and must really change the findings (otherwise the case proves nothing).
import { test } from 'node:test';
import { editSteps, useParser } from './lint/helpers';

useParser();

const MODEL = `class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(10, 3)

    def forward(self, x):
        return self.fc(x)
`;

const TRAIN = `def train(loader):
    model = Net()
    criterion = nn.CrossEntropyLoss(size_average=False)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.5)
    for x, y in loader:
        optimizer.zero_grad(set_to_none=False)
        out = model(x)
        p = F.softmax(out)
        q = F.sigmoid(out)
        loss = criterion(out, y)
        loss.backward()
        optimizer.step()
    return p
`;

const FILE = `import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n\n\n${MODEL}\n\n${TRAIN}`;


test('editing an import alias re-resolves the names of unchanged functions', () => {
  editSteps(FILE, [
    ['import torch.nn as nn', 'import numpy as nn'],
    ['import numpy as nn', 'import torch.nn as nn'],
    ['import torch\n', 'import numpy as torch\n'],
    ['import numpy as torch\n', 'import torch\n'],
  ]);
});

test('binding a conventional name elsewhere changes how unchanged functions resolve it', () => {
  // Without an import, `F` resolves to torch.nn.functional by convention only while the file binds it nowhere.
  const text = FILE.replace('import torch.nn.functional as F\n', '');
  editSteps(text, [
    ['    return p\n', '    return p\n\n\nF = 1\n'],
    ['F = 1\n', 'G = 1\n'],
  ]);
});

test('editing a model class changes findings in the function that uses its output', () => {
  editSteps(FILE, [
    ['return self.fc(x)', 'return torch.softmax(self.fc(x), dim=1)'],
    ['class Net(', 'class Other('],
    ['class Other(', 'class Net('],
    ['return torch.softmax(self.fc(x), dim=1)', 'return self.fc(x)'],
  ]);
});

test('a suppression comment added elsewhere in the file drops findings of unchanged functions', () => {
  editSteps(FILE, [
    ['import torch\n', 'import torch  # descent: ignore-file[HP001]\n'],
    ['  # descent: ignore-file[HP001]', ''],
  ]);
});

test('layers kept per class between lints follow an edit of the module-level binding they read', () => {
  // The class and its Sequential keep their nodes; what `self.act` and the Sequential's element are comes from
  // another statement, so their kept layer steps must be recomputed when that binding changes.
  const text = `import torch\nimport torch.nn as nn\n\nACT = nn.Sigmoid()\n\n\nclass Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(10, 1)
        self.act = ACT
        self.head = nn.Sequential(nn.Linear(10, 10), ACT, nn.Linear(10, 10), nn.BatchNorm1d(10))

    def forward(self, x):
        return self.act(self.fc(x))


def train(loader):
    model = Net()
    criterion = nn.BCEWithLogitsLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for x, y in loader:
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
`;
  editSteps(text, [
    ['ACT = nn.Sigmoid()', 'ACT = nn.Identity()'],
    ['ACT = nn.Identity()', 'ACT = nn.Sigmoid()'],
    ['ACT = nn.Sigmoid()', 'ACT = nn.Sigmoid()\nACT = nn.Tanh()'],
  ]);
});
