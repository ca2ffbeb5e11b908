// Architecture rules on shapes from real code: attention scores masked with a value next to zero.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, ids, useParser } from './lint/helpers';

useParser();

const attention = (signature: string, fill: string) => `${HEADER}
def ${signature}:
    scores = q @ k.transpose(-2, -1) / q.size(-1) ** 0.5
    scores = scores.masked_fill(mask == 0, ${fill})
    attn = F.softmax(scores, dim=-1)
    return attn @ v
`;

test('AR010: a fill next to zero (-1e-12, a parameter default) is as good as 0: masked keys keep weight', () => {
  assert.deepEqual(ids(attention('attend(q, k, v, mask)', '-1e-12'), 'AR010'), ['AR010']);
  assert.deepEqual(ids(attention('attend(q, k, v, mask, e=1e-12)', '-e'), 'AR010'), ['AR010']);
});

test('AR010 look-alikes: large negative fills, -inf, a parameter without a default', () => {
  assert.deepEqual(ids(attention('attend(q, k, v, mask)', '-1e9'), 'AR010'), []);
  assert.deepEqual(ids(attention('attend(q, k, v, mask)', "float('-inf')"), 'AR010'), []);
  assert.deepEqual(ids(attention('attend(q, k, v, mask, fill=-1e4)', 'fill'), 'AR010'), []);
  assert.deepEqual(ids(attention('attend(q, k, v, mask, fill)', 'fill'), 'AR010'), []);
});
