// TL025: a LightningModule's training_step that computes the loss and returns nothing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, fix, ids, useParser } from './lint/helpers';

useParser();

const lit = (step: string, extra = '', base = 'pl.LightningModule') => `${HEADER}import pytorch_lightning as pl

class LitClassifier(${base}):
    def __init__(self):
        super().__init__()
        self.net = nn.Linear(10, 2)
${extra}
    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = F.cross_entropy(self.net(x), y)
${step}

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=1e-3)
`;

test('TL025: training_step logs the loss but does not return it; the fix returns it', () => {
  const code = lit('        self.log("train_loss", loss)');
  assert.deepEqual(ids(code, 'TL025'), ['TL025']);
  const fixed = fix(code, 'TL025');
  assert.match(fixed, /self\.log\("train_loss", loss\)\n {8}return loss\n/);
  assert.deepEqual(ids(fixed, 'TL025'), []);
  assert.deepEqual(ids(lit('        self.log("train_loss", loss)', '', 'L.LightningModule').replace('import pytorch_lightning as pl', 'import lightning as L'), 'TL025'), ['TL025']);
});

test('TL025 look-alikes: returns the loss or a dict, manual optimization, plain nn.Module', () => {
  assert.deepEqual(ids(lit('        return loss'), 'TL025'), []);
  assert.deepEqual(ids(lit('        return {"loss": loss}'), 'TL025'), []);
  assert.deepEqual(ids(lit('        self.manual_backward(loss)', '        self.automatic_optimization = False\n'), 'TL025'), []);
  assert.deepEqual(ids(lit('        self.log("train_loss", loss)', '', 'nn.Module'), 'TL025'), []);
});
