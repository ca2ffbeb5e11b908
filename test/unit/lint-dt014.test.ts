// DT014: a shuffled prediction loader whose predictions are written to a submission file in loader order.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, fix, ids, useParser } from './lint/helpers';

useParser();

const script = (loader: string, write = 'submission.to_csv("submission.csv", index=False)') => `${HEADER}import pandas as pd
${loader}
preds = []
model.eval()
with torch.no_grad():
    for x in test_loader:
        preds.extend(model(x).argmax(1).tolist())
submission = pd.DataFrame({"ImageId": range(1, len(preds) + 1), "Label": preds})
${write}
`;

test('DT014: test_loader with shuffle=True before a submission.to_csv; fix turns shuffling off', () => {
  const code = script('test_loader = DataLoader(test_ds, batch_size=128, shuffle=True)');
  assert.deepEqual(ids(code, 'DT014'), ['DT014']);
  const fixed = fix(code, 'DT014');
  assert.match(fixed, /shuffle=False/);
  assert.deepEqual(ids(fixed, 'DT014'), []);
  assert.deepEqual(ids(script('test_loader = DataLoader(submission_ds, shuffle=True)', 'pd.DataFrame(preds).to_csv("preds.csv")'), 'DT014'), ['DT014']);
});

test('DT014 look-alikes: no shuffle, validation loaders, a CSV of metrics, no CSV at all', () => {
  assert.deepEqual(ids(script('test_loader = DataLoader(test_ds, batch_size=128)'), 'DT014'), []);
  assert.deepEqual(ids(script('val_loader = DataLoader(val_ds, shuffle=True)\ntest_loader = DataLoader(test_ds)'), 'DT014'), []);
  assert.deepEqual(ids(script('test_loader = DataLoader(test_ds, shuffle=True)', 'history.to_csv("metrics.csv")'), 'DT014'), []);
  assert.deepEqual(ids(script('test_loader = DataLoader(test_ds, shuffle=True)', 'print(submission.head())'), 'DT014'), []);
});
