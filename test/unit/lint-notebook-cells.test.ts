// Notebooks as Kaggle users write them: `%%time` training cells, a class redefined by a later cell, and messages
// that point at other lines.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lintNotebookCells } from '../../src/lint';
import { HEADER, useParser } from './lint/helpers';

useParser();

const SETUP = `${HEADER}model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
criterion = nn.CrossEntropyLoss()`;
const TRAIN = `for x, y in loader:
    loss = criterion(model(x), y)
    loss.backward()
    optimizer.step()`;

test('a %%time cell is still linted (its magic line only is blanked); %%bash cells are not Python', () => {
  const timed = lintNotebookCells([SETUP, `%%time\n${TRAIN}`]).filter((f) => f.rule === 'TL001');
  assert.deepEqual(timed.map((f) => [f.cell, f.range.start.line]), [[1, 4]]);
  assert.deepEqual(lintNotebookCells([SETUP, `%%bash\n${TRAIN}`]).filter((f) => f.rule === 'TL001'), []);
});

const netCell = (head: string) => `class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 1)
    def forward(self, x):
        return ${head}`;
const trainCell = `model = Net()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
criterion = nn.BCEWithLogitsLoss()
for x, y in loader:
    optimizer.zero_grad()
    loss = criterion(model(x), y)
    loss.backward()
    optimizer.step()`;

test('a class redefined by a later cell: each training cell sees the definition run before it', () => {
  const cells = [HEADER, netCell('torch.sigmoid(self.fc(x))'), trainCell, netCell('self.fc(x)'), trainCell];
  const f = lintNotebookCells(cells).filter((x) => x.rule === 'LS002');
  // The first training cell used the sigmoid model; the fixed class trains clean.
  assert.deepEqual(f.map((x) => x.cell), [2]);
});

test('messages name the cell and line a reference points at', () => {
  const f = lintNotebookCells([HEADER, netCell('torch.sigmoid(self.fc(x))'), trainCell]).find((x) => x.rule === 'LS002');
  assert.ok(f);
  assert.match(f.message, /\(line 6 of code cell 2\)/);
  const same = lintNotebookCells([`${HEADER}${netCell('torch.sigmoid(self.fc(x))')}\n${trainCell}`]).find((x) => x.rule === 'LS002');
  assert.match(same!.message, /\(line 10 of this cell\)/);
});
