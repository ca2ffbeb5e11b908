// Precision on public repositories (session 12): a call that builds a module from a class passed in is not a
// forward (EV003), and a `__main__` block that never reaches the training loop does not make a library a script (RP001).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ids, useParser } from './lint/helpers';

useParser();

const evaluate = (build: string, forward: string) => `import torch


def evaluate(model_path, make_env, episodes, Model, device="cpu"):
    envs = make_env()
    ${build}
    model.load_state_dict(torch.load(model_path, map_location=device, weights_only=True))
    model.eval()
    obs = envs.reset()
    returns = []
    for _ in range(episodes):
        ${forward}
        obs, reward, done, info = envs.step(q.argmax(dim=1).numpy())
        returns.append(reward)
    return returns
`;

test('EV003: building the model from a class parameter is not a forward with autograd on', () => {
  const nograd = 'with torch.no_grad():\n            q = model(torch.as_tensor(obs))';
  assert.deepEqual(ids(evaluate('model = Model(envs).to(device)', nograd), 'EV003'), []);
  assert.deepEqual(ids(evaluate('model = Model(envs)', nograd), 'EV003'), []);
  // The real forward without no_grad is still reported.
  assert.deepEqual(ids(evaluate('model = Model(envs).to(device)', 'q = model(torch.as_tensor(obs))'), 'EV003'), ['EV003']);
});

const library = (entry: string) => `import torch
from torch.utils.data import DataLoader


class Trainer:
    def __init__(self, model, ds):
        self.model = model
        self.dl = DataLoader(ds, batch_size=8, shuffle=True)
        self.opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def train(self):
        for x, y in self.dl:
            self.opt.zero_grad()
            loss = torch.nn.functional.mse_loss(self.model(x), y)
            loss.backward()
            self.opt.step()


def sample(model):
    return model(torch.randn(4, 3))


def main():
    Trainer(torch.nn.Linear(3, 1), None).train()


if __name__ == "__main__":
    ${entry}
`;

test('RP001: a __main__ block reports only when it reaches the training loop', () => {
  assert.deepEqual(ids(library('print(sample(torch.nn.Linear(3, 1)))'), 'RP001'), []);
  assert.deepEqual(ids(library('main()'), 'RP001'), ['RP001']);
  assert.deepEqual(ids(library('import fire\n    fire.Fire(main)'), 'RP001'), ['RP001']);
  // `fire.Fire()` exposes every function of the module as a command.
  assert.deepEqual(ids(library('import fire\n    fire.Fire()').replace('def main():\n    Trainer(torch.nn.Linear(3, 1), None).train()', 'def main():\n    pass'), 'RP001'), ['RP001']);
  assert.deepEqual(ids(library('import fire\n    fire.Fire(sample)').replace('def main():\n    Trainer(torch.nn.Linear(3, 1), None).train()', 'def main():\n    pass'), 'RP001'), []);
  assert.deepEqual(ids(library('Trainer(torch.nn.Linear(3, 1), None).train()'), 'RP001'), ['RP001']);
});
