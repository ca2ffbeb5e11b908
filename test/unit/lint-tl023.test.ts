import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, fix, ids, lint, useParser } from './lint/helpers';

useParser();

const NET = 'q_net = nn.Sequential(nn.Linear(4, 64), nn.ReLU(), nn.Linear(64, 2))\ntgt_net = nn.Sequential(nn.Linear(4, 64), nn.ReLU(), nn.Linear(64, 2))\noptimizer = torch.optim.Adam(q_net.parameters(), lr=1e-3)\n';
const indent = (body: string, by = '    ') => body.split('\n').map((l) => (l ? by + l : l)).join('\n');
/** A replay-batch loop with `body` then the usual update. */
const dqn = (body: string, pre = NET) =>
  `${HEADER}${pre}for s, a, r, s2, d in replay_batches:\n${indent(body)}\n    optimizer.zero_grad()\n    loss.backward()\n    optimizer.step()\n`;

const Q = 'q = q_net(s).gather(1, a.unsqueeze(1)).squeeze(1)';

test('TL023: the online network on the next state, no no_grad / detach: error with a .detach() fix', () => {
  const code = dqn(`${Q}\nq_next = q_net(s2).max(1)[0]\ntarget = r + 0.99 * q_next * (1 - d)\nloss = nn.MSELoss()(q, target)`);
  const f = lint(code);
  assert.deepEqual(f.map((x) => [x.rule, x.severity]), [['TL023', 'error']]);
  assert.equal(
    f[0]!.message,
    'The TD target uses q_net(s2) with gradients on, and q_net is the network being optimized: the loss also pulls the target toward the prediction. Use q_net(s2).detach() or compute the target under torch.no_grad().',
  );
  assert.equal(f[0]!.range.start.line, code.split('\n').findIndex((l) => l.includes('q_next = q_net(s2)')));
  const fixed = fix(code, 'TL023');
  assert.match(fixed, /q_next = q_net\(s2\)\.detach\(\)\.max\(1\)\[0\]\n/);
  assert.deepEqual(lint(fixed), []);
});

test('TL023: spellings of the max: .max(dim=1).values, torch.max(..., 1)[0], .amax(1), tuple unpacking, inline in the loss', () => {
  for (const target of [
    'target = r + 0.99 * q_net(s2).max(dim=1).values * (1 - d)',
    'target = r + 0.99 * torch.max(q_net(s2), 1)[0] * (1 - d)',
    'target = r + 0.99 * torch.max(q_net(s2), dim=1).values',
    'target = r + 0.99 * q_net(s2).amax(1)',
    'target = (r + 0.99 * q_net(s2).max(1, keepdim=True)[0].squeeze(1) * (1 - d)).float()',
    'next_q, _ = q_net(s2).max(dim=1)\ntarget = r + 0.99 * next_q * (1 - d)',
    'q_all_next = q_net(s2)\ntarget = r + 0.99 * q_all_next.max(1)[0] * (1 - d)',
    'target = r if False else r + 0.99 * q_net(s2).max(1)[0]',
  ]) {
    const code = dqn(`${Q}\n${target}\nloss = F.smooth_l1_loss(q, target)`);
    assert.deepEqual(ids(code, 'TL023'), ['TL023'], target);
  }
  // inline in the loss call, arguments swapped, Huber module through a name
  const inline = dqn(`${Q}\ncriterion = nn.HuberLoss()\nloss = criterion(r + 0.99 * q_net(s2).max(1)[0] * (1 - d), q)`);
  assert.deepEqual(ids(inline, 'TL023'), ['TL023']);
  assert.match(fix(inline, 'TL023'), /criterion\(r \+ 0\.99 \* q_net\(s2\)\.detach\(\)\.max\(1\)\[0\]/);
  // q from a name bound to the network's output; keyword arguments
  const named = dqn(`q_all = q_net(s)\nq = q_all.gather(1, a.view(-1, 1))\ntarget = (r + 0.99 * q_net(s2).max(1)[0]).unsqueeze(1)\nloss = F.mse_loss(input=q, target=target)`);
  assert.deepEqual(ids(named, 'TL023'), ['TL023']);
});

test('TL023: an agent class (self.q_net, optimizer built in __init__, self.loss_fn)', () => {
  const code = `${HEADER}
class Agent:
    def __init__(self):
        self.q_net = nn.Sequential(nn.Linear(8, 128), nn.ReLU(), nn.Linear(128, 4))
        self.optimizer = torch.optim.Adam(self.q_net.parameters(), lr=1e-3)
        self.loss_fn = nn.SmoothL1Loss()
        self.gamma = 0.99

    def learn(self, states, actions, rewards, next_states, dones):
        q = self.q_net(states).gather(1, actions.unsqueeze(1)).squeeze(1)
        q_next = torch.max(self.q_net(next_states), dim=1)[0]
        target = rewards + self.gamma * q_next * (1 - dones)
        loss = self.loss_fn(q, target)
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
`;
  const f = lint(code, { select: ['TL023'] });
  assert.equal(f.length, 1);
  assert.match(f[0]!.message, /uses self\.q_net\(next_states\) with gradients on, and self\.q_net is the network being optimized/);
  assert.match(fix(code, 'TL023'), /torch\.max\(self\.q_net\(next_states\)\.detach\(\), dim=1\)\[0\]/);
});

test('TL023: a train-step function whose network parameter is the optimized one at every call site', () => {
  const code = `${HEADER}${NET}
def train_step(net, opt, s, a, r, s2, d):
    q = net(s).gather(1, a.unsqueeze(1)).squeeze(1)
    target = r + 0.99 * net(s2).max(1)[0] * (1 - d)
    loss = F.mse_loss(q, target)
    opt.zero_grad()
    loss.backward()
    opt.step()

for s, a, r, s2, d in replay_batches:
    train_step(q_net, optimizer, s, a, r, s2, d)
`;
  assert.deepEqual(ids(code, 'TL023'), ['TL023']);
  // called with the target network instead: not the optimized one, silent
  const other = code.replace('train_step(q_net, optimizer', 'train_step(tgt_net, optimizer');
  assert.deepEqual(ids(other, 'TL023'), []);
});

test('TL023: silent when the target is under no_grad, detached, or taken apart from the graph', () => {
  for (const target of [
    'with torch.no_grad():\n    target = r + 0.99 * q_net(s2).max(1)[0] * (1 - d)',
    'with torch.inference_mode():\n    q_next = q_net(s2).max(1)[0]\ntarget = r + 0.99 * q_next',
    'target = r + 0.99 * q_net(s2).detach().max(1)[0] * (1 - d)',
    'target = r + 0.99 * q_net(s2).max(1)[0].detach() * (1 - d)',
    'target = (r + 0.99 * q_net(s2).max(1)[0] * (1 - d)).detach()',
    'q_next = q_net(s2).max(1)[0]\nq_next = q_next.detach()\ntarget = r + 0.99 * q_next',
    'q_next = q_net(s2).max(1)[0]\nq_next.detach_()\ntarget = r + 0.99 * q_next',
    'target = r + 0.99 * q_net(s2).data.max(1)[0] * (1 - d)',
    'target = torch.tensor(r + 0.99 * q_net(s2).max(1)[0].cpu().numpy())',
    'target = r + 0.99 * compute_next(q_net, s2)',
    'target = r + 0.99 * q_net(s2).max(1)[1]',
  ]) {
    const code = dqn(`${Q}\n${target}\nloss = F.mse_loss(q, target)`);
    assert.deepEqual(ids(code, 'TL023'), [], target);
  }
  const detachedInLoss = dqn(`${Q}\ntarget = r + 0.99 * q_net(s2).max(1)[0]\nloss = F.mse_loss(q, target.detach())`);
  assert.deepEqual(ids(detachedInLoss, 'TL023'), []);
  const decorated = `${HEADER}${NET}
@torch.no_grad()
def td_target(r, s2, d):
    return r + 0.99 * q_net(s2).max(1)[0] * (1 - d)

for s, a, r, s2, d in replay_batches:
    q = q_net(s).gather(1, a.unsqueeze(1)).squeeze(1)
    loss = F.mse_loss(q, td_target(r, s2, d))
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
`;
  assert.deepEqual(ids(decorated, 'TL023'), []);
});

test('TL023: silent for a separate target network (not optimized), Double DQN, and a max on the current state', () => {
  // target network without no_grad: wasted memory, but no gradient reaches the trained weights
  assert.deepEqual(ids(dqn(`${Q}\ntarget = r + 0.99 * tgt_net(s2).max(1)[0] * (1 - d)\nloss = F.mse_loss(q, target)`), 'TL023'), []);
  // Double DQN: argmax from the online net, values from the target net
  for (const body of [
    'next_a = q_net(s2).argmax(1, keepdim=True)\nnext_q = tgt_net(s2).gather(1, next_a).squeeze(1)\ntarget = r + 0.99 * next_q * (1 - d)',
    'next_a = q_net(s2).max(1)[1].unsqueeze(1)\ntarget = r + 0.99 * tgt_net(s2).gather(1, next_a).squeeze(1) * (1 - d)',
  ]) {
    assert.deepEqual(ids(dqn(`${Q}\n${body}\nloss = F.smooth_l1_loss(q, target)`), 'TL023'), [], body);
  }
  // a margin term on the current state's Q-values (DQfD): the same forward, not a TD target
  assert.deepEqual(ids(dqn(`q_all = q_net(s)\nq = q_all.gather(1, a.unsqueeze(1)).squeeze(1)\nloss = F.mse_loss(q, q_all.max(1)[0])`), 'TL023'), []);
  // an optimizer over another model; no backward in the file
  assert.deepEqual(ids(dqn(`${Q}\nloss = F.mse_loss(q, r + 0.99 * q_net(s2).max(1)[0])`, NET.replace('Adam(q_net', 'Adam(tgt_net')), 'TL023'), []);
  const noBackward = `${HEADER}${NET}for s, a, r, s2, d in replay_batches:\n    ${Q}\n    print(F.mse_loss(q, r + 0.99 * q_net(s2).max(1)[0]))\n`;
  assert.deepEqual(ids(noBackward, 'TL023'), []);
});

test('TL023: silent for actor-critic, a value regression without gather, and a non-regression loss', () => {
  const critic = `${HEADER}
critic = nn.Linear(4, 1)
optimizer = torch.optim.Adam(critic.parameters(), lr=1e-3)
for s, r, s2, d in batches:
    v = critic(s).squeeze(1)
    target = r + 0.99 * critic(s2).squeeze(1) * (1 - d)
    loss = F.mse_loss(v, target)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
`;
  assert.deepEqual(ids(critic, 'TL023'), []);
  // cross-entropy between gathered logits and something with a max: not a TD regression
  assert.deepEqual(ids(dqn(`${Q}\nloss = F.cross_entropy(q_net(s), q_net(s2).max(1)[1])`), 'TL023'), []);
});
