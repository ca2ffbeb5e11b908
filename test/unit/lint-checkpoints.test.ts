// Checkpoints: TL024 (the epoch restored from a checkpoint is never used) and TL012 on `state_dict` stored without `()`.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, fix, ids, useParser } from './lint/helpers';

useParser();

const main = (restore: string, loop: string, extra = '') => `${HEADER}
def main(args):
    model = nn.Linear(10, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    start_epoch = 0
    if args.resume:
        ckpt = torch.load(args.resume, map_location="cpu", weights_only=True)
        model.load_state_dict(ckpt["model"])
        ${restore}
${extra}    for epoch in ${loop}:
        train_one_epoch(model, loader, optimizer)
`;

test('TL024: start_epoch = ckpt["epoch"] + 1 and a loop over range(args.epochs); the fix starts the range there', () => {
  const code = main('start_epoch = ckpt["epoch"] + 1', 'range(args.epochs)');
  assert.deepEqual(ids(code, 'TL024'), ['TL024']);
  const fixed = fix(code, 'TL024');
  assert.match(fixed, /for epoch in range\(start_epoch, args\.epochs\):/);
  assert.deepEqual(ids(fixed, 'TL024'), []);
  assert.deepEqual(ids(main('start_epoch = checkpoint.get("epoch", 0) + 1'.replace('checkpoint', 'ckpt'), 'range(EPOCHS)'), 'TL024'), ['TL024']);
});

test('TL024 look-alikes: the loop uses it, it is read elsewhere, no checkpoint, no epoch loop', () => {
  assert.deepEqual(ids(main('start_epoch = ckpt["epoch"] + 1', 'range(start_epoch, args.epochs)'), 'TL024'), []);
  assert.deepEqual(ids(main('start_epoch = ckpt["epoch"] + 1', 'range(args.epochs)', '    scheduler.last_epoch = start_epoch\n'), 'TL024'), []);
  assert.deepEqual(ids(main('start_epoch = args.start_epoch', 'range(args.epochs)'), 'TL024'), []);
  assert.deepEqual(ids(main('start_epoch = meta["epoch"] + 1', 'range(args.epochs)'), 'TL024'), []);
  assert.deepEqual(ids(main('start_epoch = ckpt["epoch"] + 1', 'loader'), 'TL024'), []);
});

test('TL012: `optimizer.state_dict` stored in a checkpoint without calling it; fix adds ()', () => {
  const code = `${HEADER}torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict, "epoch": epoch}, "ckpt.pt")\n`;
  assert.deepEqual(ids(code, 'TL012'), ['TL012']);
  assert.deepEqual(ids(fix(code, 'TL012'), 'TL012'), []);
  assert.deepEqual(ids(`${HEADER}torch.save(model.state_dict, "m.pt")\nbest_state = net.state_dict\n`, 'TL012'), ['TL012', 'TL012']);
  // A property of another object, a method passed as a callback, a dict of other things.
  assert.deepEqual(ids(`${HEADER}sd = ep.state_dict\nhooks = {"sd": model.state_dict}\nregister(model.state_dict)\n`, 'TL012'), []);
});
