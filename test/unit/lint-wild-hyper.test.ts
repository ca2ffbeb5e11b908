// Hyperparameter rules on shapes from real code: the batch loop iterates a progress bar bound to a name.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, ids, useParser } from './lint/helpers';

useParser();

test('HP003: StepLR stepped every batch of a loop over a progress bar bound to a name', () => {
  const code = (bar: string) => `${HEADER}
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=30, gamma=0.1)
for epoch in range(100):
    progress = ${bar}
    for i, (x, y) in progress:
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
        scheduler.step()
`;
  assert.deepEqual(ids(code('tqdm(enumerate(train_loader), total=len(train_loader))'), 'HP003'), ['HP003']);
  // A progress bar over something that is not batches (its description says "batch": names only count).
  assert.deepEqual(ids(code('tqdm(enumerate(chunks), desc="batch")'), 'HP003'), []);
});
