// Hand-written gradient descent on raw tensors (no optimizer object): `.grad` never reset (TL001) and
// `.grad.zero_()` between backward() and the update (TL003). Each positive has a look-alike that is correct.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dedent, fix, ids, lint, useParser } from './lint/helpers';

useParser();

const DATA = 'import torch\nX = torch.randn(100, 3)\ny = X @ torch.tensor([1., 2., 3.])\nw = torch.zeros(3, requires_grad=True)\nb = torch.zeros(1, requires_grad=True)\n';

const loop = (body: string) => DATA + dedent(body);

test('TL001: manual update under no_grad without a .grad reset', () => {
  const code = loop(`
    for epoch in range(100):
        loss = ((X @ w + b - y) ** 2).mean()
        loss.backward()
        with torch.no_grad():
            w -= 0.1 * w.grad
            b -= 0.1 * b.grad
  `);
  const f = lint(code, { select: ['TL001'] });
  assert.equal(f.length, 1);
  assert.match(f[0]!.message, /w\.grad and b\.grad are never reset/);
  assert.equal(f[0]!.range.start.line, 9); // 0-based: `w -= 0.1 * w.grad`
});

test('TL001 fix inserts w.grad.zero_() after each update', () => {
  const code = loop(`
    for epoch in range(100):
        loss = ((X @ w + b - y) ** 2).mean()
        loss.backward()
        with torch.no_grad():
            w -= 0.1 * w.grad
            b -= 0.1 * b.grad  # step
        print(loss.item())
  `);
  const fixed = fix(code, 'TL001');
  assert.ok(fixed.includes('        w -= 0.1 * w.grad\n        w.grad.zero_()\n        b -= 0.1 * b.grad  # step\n        b.grad.zero_()\n    print'));
  assert.deepEqual(ids(fixed, 'TL001'), []);
});

test('TL001: other spellings of the manual step (.data, sub_, for p in params, nested batch loop, in a function)', () => {
  assert.deepEqual(ids(loop(`
    def train(X, y, w, b, lr=0.1, epochs=100):
        for epoch in range(epochs):
            loss = ((X @ w + b - y) ** 2).mean()
            loss.backward()
            w.data -= lr * w.grad
            b.data -= lr * b.grad
        return w, b
  `), 'TL001'), ['TL001']);
  assert.deepEqual(ids(loop(`
    params = [w, b]
    for epoch in range(100):
        loss = ((X @ params[0] + params[1] - y) ** 2).mean()
        loss.backward()
        with torch.no_grad():
            for p in params:
                p -= 0.1 * p.grad
  `), 'TL001'), ['TL001']);
  assert.deepEqual(ids(loop(`
    for epoch in range(10):
        for i in range(0, 100, 10):
            loss = ((X[i:i + 10] @ w - y[i:i + 10]) ** 2).mean()
            loss.backward()
            with torch.no_grad():
                w.sub_(0.1 * w.grad)
  `), 'TL001'), ['TL001']);
  const fixed = fix(loop(`
    params = [w, b]
    for epoch in range(100):
        loss = ((X @ w + b - y) ** 2).mean()
        loss.backward()
        with torch.no_grad():
            for p in params:
                p.data.add_(p.grad, alpha=-0.1)
  `), 'TL001');
  assert.ok(fixed.includes('            p.data.add_(p.grad, alpha=-0.1)\n            p.grad.zero_()\n'));
});

test('TL001 silent: gradients reset in any form, by an optimizer, per window, or a fresh tensor each iteration', () => {
  const silent = [
    // zero_() inside no_grad, and .grad.data.zero_()
    `for epoch in range(100):
         loss = ((X @ w + b - y) ** 2).mean()
         loss.backward()
         with torch.no_grad():
             w -= 0.1 * w.grad
             b -= 0.1 * b.grad
             w.grad.zero_()
             b.grad.data.zero_()`,
    // set to None
    `for epoch in range(100):
         loss = ((X @ w - y) ** 2).mean()
         loss.backward()
         with torch.no_grad():
             w -= 0.1 * w.grad
         w.grad = None`,
    // a loop over the parameters
    `params = [w, b]
     for epoch in range(100):
         loss = ((X @ w + b - y) ** 2).mean()
         loss.backward()
         with torch.no_grad():
             for p in params:
                 p -= 0.1 * p.grad
         for p in params:
             p.grad.zero_()`,
    // model.zero_grad() with a manual update of its parameters
    `model = torch.nn.Linear(3, 1)
     for epoch in range(100):
         model.zero_grad()
         loss = ((model(X).squeeze(1) - y) ** 2).mean()
         loss.backward()
         for p in model.parameters():
             p.data -= 0.1 * p.grad.data`,
    // conditional reset before backward
    `for epoch in range(100):
         if w.grad is not None:
             w.grad.zero_()
         loss = ((X @ w - y) ** 2).mean()
         loss.backward()
         with torch.no_grad():
             w -= 0.1 * w.grad`,
    // accumulate over 4 iterations, then step and reset
    `for i in range(100):
         loss = ((X @ w - y) ** 2).mean() / 4
         loss.backward()
         if (i + 1) % 4 == 0:
             with torch.no_grad():
                 w -= 0.1 * w.grad
             w.grad.zero_()`,
    // an optimizer does the update
    `opt = torch.optim.SGD([w, b], lr=0.1)
     for epoch in range(100):
         opt.zero_grad()
         loss = ((X @ w + b - y) ** 2).mean()
         loss.backward()
         opt.step()`,
    // a fresh leaf every iteration
    `for it in range(100):
         loss = ((X @ w - y) ** 2).mean()
         loss.backward()
         with torch.no_grad():
             w -= 0.1 * w.grad
         w = w.detach().requires_grad_()`,
    // no backward in the loop: the update runs once per gradient
    `loss = ((X @ w - y) ** 2).mean()
     loss.backward()
     for p in [w]:
         with torch.no_grad():
             p -= 0.1 * p.grad`,
    // a reset through a helper of another module
    `from torch.autograd.gradcheck import zero_gradients
     for it in range(100):
         loss = ((X @ w - y) ** 2).mean()
         loss.backward()
         w.data -= 0.1 * w.grad.data
         zero_gradients(w)`,
  ];
  for (const s of silent) assert.deepEqual(ids(loop(s), 'TL001'), [], s);
});

test('TL001 silent on a hand-written autograd engine (its own backward method)', () => {
  const code = loop(`
    class Value:
        def __init__(self, data):
            self.data = data
            self.grad = 0.0
        def backward(self):
            self.grad = 1.0
    v = Value(1.0)
    for k in range(10):
        v.backward()
        v.data -= 0.1 * v.grad
  `);
  assert.deepEqual(ids(code, 'TL001'), []);
});

test('TL003: w.grad.zero_() between backward() and the manual update', () => {
  const code = loop(`
    for epoch in range(200):
        loss = ((X @ w + b - y) ** 2).mean()
        loss.backward()
        w.grad.zero_()
        b.grad.zero_()
        with torch.no_grad():
            w -= 0.5 * w.grad
            b -= 0.5 * b.grad
        print(loss.item())
  `);
  const f = lint(code, { select: ['TL003'] });
  assert.deepEqual(f.map((x) => x.range.start.line), [8, 9]);
  assert.match(f[0]!.message, /w\.grad\.zero_\(\) runs between backward\(\) and the update of w/);
  const fixed = fix(code, 'TL003');
  assert.ok(fixed.includes('    loss.backward()\n    b.grad.zero_()\n    with torch.no_grad():\n        w -= 0.5 * w.grad\n        b -= 0.5 * b.grad\n    w.grad.zero_()\n    print'));
  assert.deepEqual(ids(fixed, 'TL003').length, 1);
});

test('TL003: reset inside the no_grad block, and over a parameter list', () => {
  const inside = loop(`
    for epoch in range(100):
        loss = ((X @ w - y) ** 2).mean()
        loss.backward()
        with torch.no_grad():
            w.grad.zero_()
            w -= 0.1 * w.grad
  `);
  assert.deepEqual(ids(inside, 'TL003'), ['TL003']);
  assert.ok(fix(inside, 'TL003').endsWith('        w -= 0.1 * w.grad\n        w.grad.zero_()\n'));
  const params = loop(`
    params = [w, b]
    for epoch in range(100):
        loss = ((X @ w + b - y) ** 2).mean()
        loss.backward()
        for p in params:
            p.grad.zero_()
        with torch.no_grad():
            for p in params:
                p -= 0.1 * p.grad
  `);
  assert.deepEqual(ids(params, 'TL003'), ['TL003']);
  const fixed = fix(params, 'TL003');
  assert.ok(fixed.includes('            p -= 0.1 * p.grad\n    for p in params:\n        p.grad.zero_()\n'));
});

test('TL003 silent: reset after the update, before backward, or of another tensor', () => {
  const silent = [
    `for epoch in range(100):
         loss = ((X @ w - y) ** 2).mean()
         loss.backward()
         with torch.no_grad():
             w -= 0.1 * w.grad
         w.grad.zero_()`,
    `for epoch in range(100):
         if w.grad is not None:
             w.grad.zero_()
         loss = ((X @ w - y) ** 2).mean()
         loss.backward()
         with torch.no_grad():
             w -= 0.1 * w.grad`,
    `for epoch in range(100):
         loss = ((X @ w + b - y) ** 2).mean()
         loss.backward()
         with torch.no_grad():
             w -= 0.1 * w.grad
             w.grad.zero_()
             b -= 0.1 * b.grad
             b.grad.zero_()`,
    `for epoch in range(100):
         loss = ((X @ w + b - y) ** 2).mean()
         loss.backward()
         b.grad.zero_()
         with torch.no_grad():
             w -= 0.1 * w.grad
         w.grad.zero_()`,
  ];
  for (const s of silent) assert.deepEqual(ids(loop(s), 'TL003'), [], s);
});
