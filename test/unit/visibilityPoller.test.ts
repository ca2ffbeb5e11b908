import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VisibilityPoller, type Timers } from '../../src/common/visibilityPoller';

const flush = () => new Promise((r) => setImmediate(r));

function fakeTimers() {
  const active = new Map<number, () => void>();
  let next = 1;
  const timers: Timers = {
    setInterval: (fn) => {
      active.set(next, fn);
      return next++;
    },
    clearInterval: (h) => void active.delete(h as number),
  };
  return { timers, active, fire: () => [...active.values()].forEach((f) => f()) };
}

test('no polling until a consumer is visible; stops when all are hidden', async () => {
  const t = fakeTimers();
  let ticks = 0;
  const p = new VisibilityPoller(() => void ticks++, 3000, t.timers);
  assert.equal(p.polling, false);
  t.fire();
  assert.equal(ticks, 0);
  p.setVisible('view', true);
  assert.equal(p.polling, true);
  assert.equal(ticks, 1, 'becoming visible reads at once');
  await flush();
  t.fire();
  assert.equal(ticks, 2);
  p.setVisible('panel', true);
  assert.equal(t.active.size, 1, 'a second consumer shares the timer');
  p.setVisible('view', false);
  assert.equal(p.polling, true, 'still one visible');
  p.setVisible('panel', false);
  assert.equal(p.polling, false);
  assert.equal(t.active.size, 0);
  t.fire();
  assert.equal(ticks, 2);
});

test('hiding a consumer that was never visible does nothing', () => {
  const t = fakeTimers();
  const p = new VisibilityPoller(() => undefined, 1000, t.timers);
  p.setVisible('x', false);
  assert.equal(p.polling, false);
});

test('a slow tick is not overlapped by the next', async () => {
  const t = fakeTimers();
  let running = 0;
  let maxRunning = 0;
  let release!: () => void;
  const p = new VisibilityPoller(
    () =>
      new Promise<void>((resolve) => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        release = () => {
          running--;
          resolve();
        };
      }),
    1000,
    t.timers,
  );
  p.setVisible('v', true);
  t.fire();
  t.fire();
  assert.equal(maxRunning, 1);
  release();
  await new Promise((r) => setImmediate(r));
  t.fire();
  assert.equal(running, 1);
  p.dispose();
  assert.equal(p.polling, false);
});

test('changing the interval restarts a running timer only', () => {
  const t = fakeTimers();
  const p = new VisibilityPoller(() => undefined, 1000, t.timers);
  p.setInterval(5000);
  assert.equal(t.active.size, 0);
  p.setVisible('v', true);
  const before = [...t.active.keys()];
  p.setInterval(2000);
  assert.notDeepEqual([...t.active.keys()], before);
  assert.equal(t.active.size, 1);
});
