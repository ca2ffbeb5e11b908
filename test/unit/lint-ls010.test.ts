// LS010: the VAE KL term with its sign lost on the way to the loss.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, fix, ids, useParser } from './lint/helpers';

useParser();

const lossFn = (kld: string, ret = 'bce + kld', name = 'vae_loss') => `${HEADER}
def ${name}(recon, x, mu, logvar):
    bce = F.binary_cross_entropy(recon, x, reduction="sum")
    kld = ${kld}
    return ${ret}
`;

test('LS010: 0.5 * sum(1 + logvar - mu^2 - exp(logvar)) added to the loss; fix negates the factor', () => {
  const code = lossFn('0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())');
  assert.deepEqual(ids(code, 'LS010'), ['LS010']);
  const fixed = fix(code, 'LS010');
  assert.match(fixed, /kld = -0\.5 \* torch\.sum/);
  assert.deepEqual(ids(fixed, 'LS010'), []);
});

test('LS010: other spellings of the integrand and of the loss', () => {
  assert.deepEqual(ids(lossFn('0.5 * (1 + logvar - mu ** 2 - torch.exp(logvar)).sum()'), 'LS010'), ['LS010']);
  assert.deepEqual(ids(lossFn('torch.mean(0.5 * torch.sum(1 + log_var - mu * mu - log_var.exp(), dim=1))'), 'LS010'), ['LS010']);
  // A correct KL subtracted from the reconstruction loss.
  assert.deepEqual(ids(lossFn('-0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())', 'bce - kld'), 'LS010'), ['LS010']);
  // The positive form with a minus in front.
  assert.deepEqual(ids(lossFn('-0.5 * torch.sum(mu.pow(2) + logvar.exp() - 1 - logvar)'), 'LS010'), ['LS010']);
  // In a training loop, through loss.backward().
  const loop = `${HEADER}
for x in loader:
    recon, mu, logvar = model(x)
    kl = 0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    loss = F.mse_loss(recon, x) + beta * kl
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
`;
  assert.deepEqual(ids(loop, 'LS010'), ['LS010']);
});

test('LS010 look-alikes: correct signs, ELBO maximised by its negation, unknown weights, KL only logged', () => {
  assert.deepEqual(ids(lossFn('-0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())'), 'LS010'), []);
  assert.deepEqual(ids(lossFn('0.5 * torch.sum(mu.pow(2) + logvar.exp() - 1 - logvar)'), 'LS010'), []);
  assert.deepEqual(ids(lossFn('0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())', 'bce - kld'), 'LS010'), []);
  // A function named elbo returns a quantity to maximise: not followed.
  assert.deepEqual(ids(lossFn('0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())', '-bce + kld', 'elbo'), 'LS010'), []);
  // ... but a negative ELBO named as a loss is minimised.
  assert.deepEqual(ids(lossFn('0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())', 'bce + kld', 'elbo_loss'), 'LS010'), ['LS010']);
  assert.deepEqual(ids(lossFn('0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())', 'bce + kld', 'neg_elbo'), 'LS010'), ['LS010']);
  const elbo = `${HEADER}
for x in loader:
    recon, mu, logvar = model(x)
    kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    elbo = -F.mse_loss(recon, x, reduction="sum") - kl
    loss = -elbo
    loss.backward()
    print("kl", kl.item())
`;
  assert.deepEqual(ids(elbo, 'LS010'), []);
  // A weight of unknown sign ends the walk.
  assert.deepEqual(ids(lossFn('0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())', 'bce + w * kld'), 'LS010'), []);
  // Not the KL integrand (a term missing).
  assert.deepEqual(ids(lossFn('0.5 * torch.sum(1 + logvar - logvar.exp())'), 'LS010'), []);
  // Computed but only printed.
  const logged = `${HEADER}
kl = 0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
print(kl.item())
`;
  assert.deepEqual(ids(logged, 'LS010'), []);
});
