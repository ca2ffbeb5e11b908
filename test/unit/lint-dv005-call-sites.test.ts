import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, ids, useParser } from './lint/helpers';

useParser();

const trainer = (arg: string) => `${HEADER}
class Trainer:
    def __init__(self, model):
        self.model = model

    def save_checkpoint(self, model, epoch):
        torch.save(model, f"ckpt-{epoch}.pt")

    def run(self, epochs):
        for epoch in range(epochs):
            self.save_checkpoint(${arg}, epoch)
`;

test('DV005: a save helper whose model parameter every call site fills with a state_dict is quiet', () => {
  assert.deepEqual(ids(trainer('self.model.state_dict()'), 'DV005'), []);
  const named = trainer('weights').replace('            self.save_checkpoint(', '            weights = copy.deepcopy(self.model.state_dict())\n            self.save_checkpoint(');
  assert.deepEqual(ids(`import copy\n${named}`, 'DV005'), []);
});

test('DV005: the same helper given the module itself, or never called, is reported', () => {
  assert.deepEqual(ids(trainer('self.model'), 'DV005'), ['DV005']);
  const uncalled = trainer('self.model.state_dict()').replace('            self.save_checkpoint(self.model.state_dict(), epoch)\n', '            pass\n');
  assert.deepEqual(ids(uncalled, 'DV005'), ['DV005']);
});
