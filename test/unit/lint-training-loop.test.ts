import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, fix, ids, lint, useParser } from './lint/helpers';

useParser();

const loop = (body: string, pre = '') => `${HEADER}\n${pre}for x, y in loader:\n${body.split('\n').map((l) => '    ' + l).join('\n')}\n`;

test('TL001: no zero_grad in the loop; fix inserts it at the body start; clean after', () => {
  const code = loop('out = model(x)\nloss = criterion(out, y)\nloss.backward()\noptimizer.step()');
  assert.deepEqual(ids(code), ['TL001']);
  const fixed = fix(code, 'TL001');
  assert.match(fixed, /for x, y in loader:\n {4}optimizer\.zero_grad\(\)\n {4}out = model/);
  assert.deepEqual(ids(fixed), []);
});

test('TL001: zero_grad after step at the end of the body is fine; model.zero_grad and set_to_none count', () => {
  assert.deepEqual(ids(loop('loss = criterion(model(x), y)\nloss.backward()\noptimizer.step()\noptimizer.zero_grad()')), []);
  assert.deepEqual(ids(loop('model.zero_grad()\nloss = criterion(model(x), y)\nloss.backward()\noptimizer.step()')), []);
  assert.deepEqual(ids(loop('optimizer.zero_grad(set_to_none=True)\nloss = criterion(model(x), y)\nloss.backward()\noptimizer.step()')), []);
  assert.deepEqual(ids(loop('for p in model.parameters():\n    p.grad = None\nloss = criterion(model(x), y)\nloss.backward()\noptimizer.step()')), []);
});

test('TL001: zero_grad only on one branch of an if is reported (path-sensitive)', () => {
  const code = loop('if i % 10 == 0:\n    optimizer.zero_grad()\nloss = criterion(model(x), y)\nloss.backward()\noptimizer.step()');
  const f = lint(code);
  assert.deepEqual(f.map((x) => x.rule), ['TL001']);
  assert.match(f[0]!.message, /on some path/);
  // both branches reset: fine
  assert.deepEqual(ids(loop('if fast:\n    optimizer.zero_grad()\nelse:\n    model.zero_grad()\nloss = criterion(model(x), y)\nloss.backward()\noptimizer.step()')), []);
});

test('TL001: a continue that skips the trailing zero_grad is reported', () => {
  const code = loop('loss = criterion(model(x), y)\nloss.backward()\noptimizer.step()\nif bad:\n    continue\noptimizer.zero_grad()');
  assert.deepEqual(ids(code), ['TL001']);
});

test('TL001: gradient accumulation with step and zero_grad together under the if is fine', () => {
  const code = `${HEADER}\nfor i, (x, y) in enumerate(loader):\n    loss = criterion(model(x), y) / accum\n    loss.backward()\n    if (i + 1) % accum == 0:\n        optimizer.step()\n        optimizer.zero_grad()\n`;
  assert.deepEqual(ids(code), []);
});

test('TL001: LBFGS closure pattern is fine', () => {
  const code = `${HEADER}\noptimizer = torch.optim.LBFGS(model.parameters())\nfor epoch in range(20):\n    def closure():\n        optimizer.zero_grad()\n        loss = criterion(model(x), y)\n        loss.backward()\n        return loss\n    optimizer.step(closure)\n`;
  assert.deepEqual(ids(code), []);
});

test('TL001: AMP scaler.step(optimizer) without zero_grad is reported; schedulers and env.step are not steps', () => {
  assert.deepEqual(ids(loop('with torch.autocast("cuda"):\n    loss = criterion(model(x), y)\nscaler.scale(loss).backward()\nscaler.step(optimizer)\nscaler.update()')), ['TL001']);
  assert.deepEqual(ids(loop('optimizer.zero_grad()\nloss = criterion(model(x), y)\nloss.backward()\noptimizer.step()\nscheduler.step()')), []);
  assert.deepEqual(ids(loop('obs, r, done, info = env.step(action)\nloss = compute(obs)\nloss.backward()')), []);
});

test('TL001: a helper of the file that calls zero_grad counts', () => {
  const code = `${HEADER}\ndef reset(opt):\n    opt.zero_grad()\n\nfor x, y in loader:\n    reset(optimizer)\n    loss = criterion(model(x), y)\n    loss.backward()\n    optimizer.step()\n`;
  assert.deepEqual(ids(code), []);
});

test('TL002: zero_grad once before the loop; epoch-level zero_grad before the batch loop', () => {
  const code = loop('loss = criterion(model(x), y)\nloss.backward()\noptimizer.step()', 'optimizer.zero_grad()\n');
  const f = lint(code);
  assert.deepEqual(f.map((x) => x.rule), ['TL002']);
  assert.equal(f[0]!.range.start.line, 5);
  const fixed = fix(code, 'TL002');
  assert.deepEqual(ids(fixed), []);
  const nested = `${HEADER}\nfor epoch in range(3):\n    optimizer.zero_grad()\n    for x, y in loader:\n        loss = criterion(model(x), y)\n        loss.backward()\n        optimizer.step()\n`;
  assert.deepEqual(ids(nested), ['TL002']);
});

test('TL003: zero_grad between backward and step; fix moves it before backward', () => {
  const code = loop('loss = criterion(model(x), y)\nloss.backward()\noptimizer.zero_grad()\noptimizer.step()');
  assert.deepEqual(ids(code), ['TL003']);
  const fixed = fix(code, 'TL003');
  assert.match(fixed, /optimizer\.zero_grad\(\)\n {4}loss\.backward\(\)\n {4}optimizer\.step\(\)/);
  assert.deepEqual(ids(fixed), []);
  // zero_grad before backward, or after step: fine
  assert.deepEqual(ids(loop('optimizer.zero_grad()\nloss = criterion(model(x), y)\nloss.backward()\noptimizer.step()')), []);
});

test('training loops inside functions and methods; while loops', () => {
  const code = `${HEADER}\nclass Trainer:\n    def fit(self):\n        step = 0\n        while step < 100:\n            loss = self.criterion(self.model(x), y)\n            loss.backward()\n            self.optimizer.step()\n            step += 1\n`;
  const f = lint(code);
  assert.deepEqual(f.map((x) => x.rule), ['TL001']);
  assert.match(fix(code, 'TL001'), /while step < 100:\n {12}self\.optimizer\.zero_grad\(\)\n/);
});

// ---- TL004: clipping after the step ----
const step3 = 'optimizer.zero_grad()\nloss = criterion(model(x), y)\nloss.backward()';

test('TL004: clip_grad_norm_ after optimizer.step(); fix moves it before the step; clean after', () => {
  const code = loop(`${step3}\noptimizer.step()\ntorch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)`);
  assert.deepEqual(ids(code), ['TL004']);
  const fixed = fix(code, 'TL004');
  assert.match(fixed, /loss\.backward\(\)\n {4}torch\.nn\.utils\.clip_grad_norm_\(model\.parameters\(\), 1\.0\)\n {4}optimizer\.step\(\)\n$/);
  assert.deepEqual(ids(fixed), []);
  // clip_grad_value_ via an import alias, and after step under a gradient-accumulation if
  const aliased = `${HEADER}from torch.nn.utils import clip_grad_value_\nfor i, (x, y) in enumerate(loader):\n    loss = criterion(model(x), y)\n    loss.backward()\n    if i % 4 == 0:\n        optimizer.step()\n        clip_grad_value_(model.parameters(), 0.5)\n        optimizer.zero_grad()\n`;
  assert.deepEqual(ids(aliased), ['TL004']);
});

test('TL004: clipping between backward and step is fine; a clip after step followed by a new backward is the next step\'s', () => {
  assert.deepEqual(ids(loop(`${step3}\nnn.utils.clip_grad_norm_(model.parameters(), 1.0)\noptimizer.step()`)), []);
  // AMP: unscale_, clip, scaler.step
  assert.deepEqual(ids(loop('optimizer.zero_grad()\nscaler.scale(criterion(model(x), y)).backward()\nscaler.unscale_(optimizer)\nnn.utils.clip_grad_norm_(model.parameters(), 1.0)\nscaler.step(optimizer)\nscaler.update()')), []);
  // two optimizers: step of one, then backward + clip for the other
  assert.deepEqual(ids(loop('opt_d.zero_grad()\nd_loss.backward()\nopt_d.step()\nopt_g.zero_grad()\ng_loss.backward()\nnn.utils.clip_grad_norm_(G.parameters(), 1.0)\nopt_g.step()')), []);
  // a second (redundant) clip after the step when one already ran before it: not reported
  assert.deepEqual(ids(loop(`${step3}\nnn.utils.clip_grad_norm_(model.parameters(), 1.0)\noptimizer.step()\nnn.utils.clip_grad_norm_(model.parameters(), 1.0)`), 'TL004'), []);
});

test('TL004: AMP scaler.step then clip is reported without a fix (needs unscale_)', () => {
  const code = loop('optimizer.zero_grad()\nscaler.scale(criterion(model(x), y)).backward()\nscaler.step(optimizer)\nscaler.update()\nnn.utils.clip_grad_norm_(model.parameters(), 1.0)');
  const f = lint(code, { select: ['TL004'] });
  assert.equal(f.length, 1);
  assert.equal(f[0]!.fixes, undefined);
});

// ---- TL005: scheduler before optimizer ----
test('TL005: scheduler.step() at the top of the epoch loop (pre-1.1 idiom); fix moves it to the end', () => {
  const code = `${HEADER}scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 10)\nfor epoch in range(10):\n    scheduler.step()\n    for x, y in loader:\n        optimizer.zero_grad()\n        criterion(model(x), y).backward()\n        optimizer.step()\n    print(epoch)\n`;
  assert.deepEqual(ids(code), ['TL005']);
  const fixed = fix(code, 'TL005');
  assert.match(fixed, /print\(epoch\)\n {4}scheduler\.step\(\)\n$/);
  assert.deepEqual(ids(fixed), []);
});

test('TL005: per-iteration scheduler before optimizer.step(); training in a function called after it', () => {
  assert.deepEqual(ids(loop('optimizer.zero_grad()\nloss = criterion(model(x), y)\nloss.backward()\nscheduler.step()\noptimizer.step()')), ['TL005']);
  const viaFn = `${HEADER}def train(model, loader, optimizer):\n    for x, y in loader:\n        optimizer.zero_grad()\n        criterion(model(x), y).backward()\n        optimizer.step()\n\nfor epoch in range(1, 11):\n    lr_scheduler.step()\n    train(model, loader, optimizer)\n    test(model)\n`;
  assert.deepEqual(ids(viaFn), ['TL005']);
});

test('TL005: scheduler after the batch loop, after step, ReduceLROnPlateau(metric), OneCycle after step: fine', () => {
  const good = `${HEADER}for epoch in range(10):\n    for x, y in loader:\n        optimizer.zero_grad()\n        criterion(model(x), y).backward()\n        optimizer.step()\n    scheduler.step()\n`;
  assert.deepEqual(ids(good), []);
  assert.deepEqual(ids(loop('optimizer.zero_grad()\ncriterion(model(x), y).backward()\noptimizer.step()\nscheduler.step()')), []);
  const plateau = `${HEADER}scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer)\nfor epoch in range(10):\n    scheduler.step(val_loss)\n    for x, y in loader:\n        optimizer.zero_grad()\n        criterion(model(x), y).backward()\n        optimizer.step()\n`;
  assert.deepEqual(ids(plateau), []);
  // a scheduler built by an unknown factory: unknown, silent
  const factory = `${HEADER}sched = make_scheduler(optimizer)\nfor epoch in range(10):\n    sched.step()\n    train_one_epoch(model, loader)\n`;
  assert.deepEqual(ids(factory), []);
});

// ---- TL006: backward inside no_grad ----
test('TL006: loss computed and back-propagated under no_grad / inference_mode / decorator', () => {
  assert.deepEqual(ids(loop('optimizer.zero_grad()\nwith torch.no_grad():\n    loss = criterion(model(x), y)\n    loss.backward()\noptimizer.step()')), ['TL006']);
  assert.deepEqual(ids(`${HEADER}with torch.inference_mode():\n    criterion(model(x), y).backward()\n`), ['TL006']);
  assert.deepEqual(ids(`${HEADER}@torch.no_grad()\ndef step(model, x, y):\n    loss = criterion(model(x), y)\n    loss.backward()\n`), ['TL006']);
});

test('TL006: backward of a loss built outside no_grad, enable_grad inside no_grad, eval loops: fine', () => {
  assert.deepEqual(ids(`${HEADER}loss = criterion(model(x), y)\nwith torch.no_grad():\n    loss.backward()\n`), []);
  assert.deepEqual(ids(`${HEADER}with torch.no_grad():\n    with torch.enable_grad():\n        loss = criterion(model(x), y)\n        loss.backward()\n`), []);
  assert.deepEqual(ids(`${HEADER}@torch.no_grad()\ndef evaluate(model, loader):\n    model.eval()\n    for x, y in loader:\n        loss = criterion(model(x), y)\n`), []);
});

// ---- TL007: loss from non-differentiable ops ----
test('TL007: argmax / round / detach / item / threshold feeding the back-propagated loss', () => {
  assert.deepEqual(ids(loop(`optimizer.zero_grad()\nout = model(x)\npred = out.argmax(dim=1)\nloss = criterion(pred.float(), y)\nloss.backward()\noptimizer.step()`, 'criterion = nn.MSELoss()\n')), ['TL007']);
  assert.deepEqual(ids(`${HEADER}loss = F.mse_loss(torch.round(model(x)), y)\nloss.backward()\n`), ['TL007']);
  assert.deepEqual(ids(`${HEADER}loss = F.binary_cross_entropy((model(x) > 0.5).float(), y)\nloss.backward()\n`), ['TL007']);
  assert.deepEqual(ids(`${HEADER}out = model(x).detach()\nloss = nn.L1Loss()(out, y)\nloss.backward()\n`), ['TL007']);
  assert.deepEqual(ids(`${HEADER}crit = nn.CrossEntropyLoss()\ncrit(torch.tensor(model(x).argmax(1).tolist()), y).backward()\n`), ['TL007']);
});

test('TL007: metrics from argmax, detached targets, losses never back-propagated: fine', () => {
  assert.deepEqual(ids(`${HEADER}out = model(x)\nloss = F.cross_entropy(out, y)\nloss.backward()\nacc = (out.argmax(1) == y).float().mean()\n`), []);
  assert.deepEqual(ids(`${HEADER}loss = F.kl_div(F.log_softmax(s(x), 1), F.softmax(t(x), 1).detach(), reduction="batchmean")\nloss.backward()\n`), []);
  assert.deepEqual(ids(`${HEADER}val = F.mse_loss(model(x).detach(), y)\nprint(val.item())\n`), []);
  // DQN: max(1)[0] values are differentiable
  assert.deepEqual(ids(`${HEADER}loss = F.smooth_l1_loss(q(s).max(1)[0], target)\nloss.backward()\n`), []);
});

// ---- TL008: loss accumulated as a tensor ----
const accum = (line: string) => `${HEADER}total_loss = 0\nfor x, y in loader:\n    optimizer.zero_grad()\n    loss = criterion(model(x), y)\n    loss.backward()\n    optimizer.step()\n    ${line}\n`;

test('TL008: total += loss; fix appends .item(); clean after', () => {
  const code = accum('total_loss += loss');
  assert.deepEqual(ids(code), ['TL008']);
  const fixed = fix(code, 'TL008');
  assert.match(fixed, /total_loss \+= loss\.item\(\)/);
  assert.deepEqual(ids(fixed), []);
  assert.deepEqual(ids(accum('self.running += loss * x.size(0)')), ['TL008']);
});

test('TL008: .item(), .detach(), float(), summing to back-propagate once: fine', () => {
  assert.deepEqual(ids(accum('total_loss += loss.item()')), []);
  assert.deepEqual(ids(accum('total_loss += loss.detach()')), []);
  assert.deepEqual(ids(accum('total_loss += float(loss)')), []);
  assert.deepEqual(ids(accum('total_loss += loss.item() * x.size(0)')), []);
  const sumThenBackward = `${HEADER}for x, y in loader:\n    optimizer.zero_grad()\n    total = 0\n    for head in heads:\n        loss = criterion(head(x), y)\n        total += loss\n    total.backward()\n    optimizer.step()\n`;
  assert.deepEqual(ids(sumThenBackward), []);
  // eval loop without backward: not this rule
  assert.deepEqual(ids(`${HEADER}model.eval()\nwith torch.no_grad():\n    for x, y in val_loader:\n        loss = criterion(model(x), y)\n        total += loss\n`, 'TL008'), []);
});

// ---- TL009: in-place update of a parameter with autograd on ----
test('TL009: w -= lr * w.grad outside no_grad; fix wraps it; clean after', () => {
  const code = `${HEADER}w = torch.randn(3, requires_grad=True)\nfor x, y in data:\n    loss = ((x @ w - y) ** 2).mean()\n    loss.backward()\n    w -= lr * w.grad\n    w.grad.zero_()\n`;
  assert.deepEqual(ids(code), ['TL009']);
  const fixed = fix(code, 'TL009');
  assert.match(fixed, /\n {4}with torch\.no_grad\(\):\n {8}w -= lr \* w\.grad\n/);
  assert.deepEqual(ids(fixed), []);
  assert.deepEqual(ids(`${HEADER}for p in model.parameters():\n    p -= 0.01 * p.grad\n`), ['TL009']);
});

test('TL009: under no_grad, .data, decorated helpers, helpers called under no_grad, optimizer step methods: fine', () => {
  assert.deepEqual(ids(`${HEADER}with torch.no_grad():\n    for p in model.parameters():\n        p -= 0.01 * p.grad\n`), []);
  assert.deepEqual(ids(`${HEADER}for p in model.parameters():\n    p.data -= 0.01 * p.grad\n`), []);
  assert.deepEqual(ids(`${HEADER}def sgd(params, lr):\n    for p in params:\n        p -= lr * p.grad\n\nwith torch.no_grad():\n    sgd(model.parameters(), 0.1)\n`), []);
  assert.deepEqual(ids(`${HEADER}class MySGD(torch.optim.Optimizer):\n    def step(self):\n        for p in self.params:\n            p -= self.lr * p.grad\n`), []);
  assert.deepEqual(ids(`${HEADER}x -= lr * y.grad\n`), []);
});

// ---- TL010: updates on held-out data ----
test('TL010: backward + step in a loop over val_loader / enumerate(test_loader) / self.valid_loader', () => {
  assert.deepEqual(ids(`${HEADER}for x, y in val_loader:\n    optimizer.zero_grad()\n    loss = criterion(model(x), y)\n    loss.backward()\n    optimizer.step()\n`), ['TL010']);
  assert.deepEqual(ids(`${HEADER}def evaluate(self):\n    for i, (x, y) in enumerate(tqdm(self.test_loader)):\n        self.optimizer.zero_grad()\n        self.criterion(self.model(x), y).backward()\n        self.optimizer.step()\n`), ['TL010']);
});

test('TL010: training loaders, evaluation without updates, "test" inside a longer name: fine', () => {
  assert.deepEqual(ids(`${HEADER}for x, y in train_loader:\n    optimizer.zero_grad()\n    criterion(model(x), y).backward()\n    optimizer.step()\n`), []);
  assert.deepEqual(ids(`${HEADER}model.eval()\nwith torch.no_grad():\n    for x, y in val_loader:\n        loss = criterion(model(x), y)\n`), []);
  assert.deepEqual(ids(`${HEADER}for x, y in train_val_loader:\n    optimizer.zero_grad()\n    criterion(model(x), y).backward()\n    optimizer.step()\n`), []);
  assert.deepEqual(ids(`${HEADER}for x, y in tqdm(loader, desc="val"):\n    optimizer.zero_grad()\n    criterion(model(x), y).backward()\n    optimizer.step()\n`), []);
});

// ---- TL011 ----
test('TL011: zero_grad(set_to_none=False) is info; fix flips it; default and True are fine', () => {
  const code = loop('optimizer.zero_grad(set_to_none=False)\ncriterion(model(x), y).backward()\noptimizer.step()');
  const f = lint(code);
  assert.deepEqual(f.map((x) => `${x.rule}:${x.severity}`), ['TL011:info']);
  const fixed = fix(code, 'TL011');
  assert.match(fixed, /set_to_none=True/);
  assert.deepEqual(ids(fixed), []);
  assert.deepEqual(ids(loop('optimizer.zero_grad()\ncriterion(model(x), y).backward()\noptimizer.step()')), []);
});

test('TL004: clip under `if args.clip:` after the step is reported (no fix)', () => {
  const f = lint(loop(`${step3}\noptimizer.step()\nif args.clip:\n    nn.utils.clip_grad_norm_(model.parameters(), args.clip)`), { select: ['TL004'] });
  assert.equal(f.length, 1);
  assert.equal(f[0]!.fixes, undefined);
});

test('TL005: the phase loop of the classic transfer-learning script (scheduler.step() under phase == "train")', () => {
  const code = `${HEADER}from torch.optim import lr_scheduler\nscheduler = lr_scheduler.StepLR(optimizer, step_size=7, gamma=0.1)\nfor epoch in range(25):\n    for phase in ["train", "val"]:\n        if phase == "train":\n            scheduler.step()\n            model.train()\n        else:\n            model.eval()\n        for inputs, labels in loaders[phase]:\n            optimizer.zero_grad()\n            with torch.set_grad_enabled(phase == "train"):\n                loss = criterion(model(inputs), labels)\n                if phase == "train":\n                    loss.backward()\n                    optimizer.step()\n`;
  assert.deepEqual(ids(code, 'TL005'), ['TL005']);
  // `if epoch > 0:` makes the top-of-loop step the previous epoch's end: fine
  const guarded = `${HEADER}for epoch in range(10):\n    if epoch > 0:\n        scheduler.step()\n    for x, y in loader:\n        optimizer.zero_grad()\n        criterion(model(x), y).backward()\n        optimizer.step()\n`;
  assert.deepEqual(ids(guarded), []);
});

test('TL007: `_, preds = torch.max(outputs, 1)` then criterion(preds, labels)', () => {
  const code = `${HEADER}criterion = nn.CrossEntropyLoss()\noutputs = model(x)\n_, preds = torch.max(outputs, 1)\nloss = criterion(preds.float(), labels)\nloss.backward()\n`;
  assert.deepEqual(ids(code, 'TL007'), ['TL007']);
  // the values (first element) are differentiable
  const values = `${HEADER}crit = nn.MSELoss()\nbest, idx = q(s).max(1)\nloss = crit(best, target)\nloss.backward()\n`;
  assert.deepEqual(ids(values, 'TL007'), []);
});

test('TL008: losses.append(loss) and total = total + loss; appended losses summed for backward are fine', () => {
  assert.deepEqual(ids(accum('history.append(loss)')), ['TL008']);
  assert.deepEqual(ids(accum('total_loss = total_loss + loss')), ['TL008']);
  assert.deepEqual(ids(fix(accum('history.append(loss)'), 'TL008')), []);
  assert.deepEqual(ids(accum('history.append(loss.item())')), []);
  const stacked = `${HEADER}for x, y in loader:\n    optimizer.zero_grad()\n    losses = []\n    for head in heads:\n        loss = criterion(head(x), y)\n        losses.append(loss)\n    torch.stack(losses).sum().backward()\n    optimizer.step()\n`;
  assert.deepEqual(ids(stacked), []);
});

test('TL009: p.sub_(lr * p.grad) outside no_grad is reported; p.data.sub_ is fine', () => {
  assert.deepEqual(ids(`${HEADER}for p in model.parameters():\n    p.sub_(lr * p.grad)\n`), ['TL009']);
  assert.deepEqual(ids(`${HEADER}for p in model.parameters():\n    p.data.sub_(lr * p.grad.data)\n`), []);
  assert.deepEqual(ids(`${HEADER}with torch.no_grad():\n    for p in model.parameters():\n        p.add_(p.grad, alpha=-lr)\n`), []);
});

test('TL010: loaders["val"] with an update; loaders[phase] and loaders["train"] are not reported', () => {
  const body = ':\n    optimizer.zero_grad()\n    criterion(model(x), y).backward()\n    optimizer.step()\n';
  assert.deepEqual(ids(`${HEADER}for x, y in dataloaders["val"]${body}`), ['TL010']);
  assert.deepEqual(ids(`${HEADER}for x, y in dataloaders[phase]${body}`), []);
  assert.deepEqual(ids(`${HEADER}for x, y in dataloaders["train"]${body}`), []);
});

test('TL006: a training function only ever called under torch.no_grad()', () => {
  const code = `${HEADER}def train_step(model, x, y):\n    optimizer.zero_grad()\n    loss = criterion(model(x), y)\n    loss.backward()\n    optimizer.step()\n\nwith torch.no_grad():\n    for x, y in loader:\n        train_step(model, x, y)\n`;
  assert.deepEqual(ids(code, 'TL006'), ['TL006']);
  // called once outside no_grad too: unknown, silent
  assert.deepEqual(ids(`${code}train_step(model, x, y)\n`, 'TL006'), []);
  // the function re-enables grad itself
  assert.deepEqual(ids(code.replace('    loss = criterion', '    torch.set_grad_enabled(True)\n    loss = criterion'), 'TL006'), []);
});

test('TL007: forcing requires_grad on the back-propagated loss', () => {
  const code = `${HEADER}preds = model(x).argmax(1)\nloss = (preds != y).float().mean()\nloss.requires_grad = True\nloss.backward()\n`;
  assert.deepEqual(ids(code, 'TL007'), ['TL007']);
  const variable = `${HEADER}from torch.autograd import Variable\nloss = Variable(loss, requires_grad=True)\nloss.backward()\n`;
  assert.deepEqual(ids(variable, 'TL007'), ['TL007']);
  // a leaf accumulator initialised with requires_grad is not this
  assert.deepEqual(ids(`${HEADER}loss = torch.tensor(0.0, requires_grad=True)\nfor h in heads:\n    loss = loss + criterion(h(x), y)\nloss.backward()\n`, 'TL007'), []);
  // parameters marked trainable
  assert.deepEqual(ids(`${HEADER}w.requires_grad = True\nloss = (w * x).sum()\nloss.backward()\n`, 'TL007'), []);
});

// ---- TL012 ----
test('TL012: optimizer.zero_grad / loss.backward / optimizer.step without () are errors; the fix calls them; re-lint clean', () => {
  const code = loop('optimizer.zero_grad\nloss = criterion(model(x), y)\nloss.backward()\noptimizer.step');
  const f = lint(code);
  assert.deepEqual(
    f.filter((x) => x.rule === 'TL012').map((x) => `${x.rule}:${x.severity}:${x.range.start.line}`),
    ['TL012:error:6', 'TL012:error:9'],
  );
  let fixed = fix(code, 'TL012');
  fixed = fix(fixed, 'TL012');
  assert.match(fixed, /optimizer\.zero_grad\(\)\n/);
  assert.match(fixed, /optimizer\.step\(\)\n/);
  assert.deepEqual(ids(fixed), []);
});

test('TL012: model.eval and model.train without (); look-alikes are not reported', () => {
  assert.deepEqual(ids(`${HEADER}model.eval\nwith torch.no_grad():\n    out = model(x)\n`, 'TL012'), ['TL012']);
  assert.deepEqual(ids(`${HEADER}net.train\n`, 'TL012'), ['TL012']);
  // Used as a value, not a bare statement: passed on, assigned, tested, called later.
  const values = `${HEADER}step_fn = optimizer.step\nhooks.append(model.train)\nif model.train:\n    pass\nclosure = loss.backward\nclosure()\nx = self.eval\n`;
  assert.deepEqual(ids(values, 'TL012'), []);
  // Other attributes on their own line (a docstring-like expression, a property read for its side effect).
  assert.deepEqual(ids(`${HEADER}model.training\nscheduler.last_epoch\n`, 'TL012'), []);
});

// ---- TL013 ----
const epochs = (inner: string, pre = 'model = Net()\n') =>
  `${HEADER}import torch.optim as optim\n${pre}for epoch in range(10):\n${inner.split('\n').map((l) => '    ' + l).join('\n')}\n    for x, y in loader:\n        optimizer.zero_grad()\n        loss = criterion(model(x), y)\n        loss.backward()\n        optimizer.step()\n`;

test('TL013: Adam, SGD with momentum and a scheduler created inside the epoch loop are reported', () => {
  assert.deepEqual(ids(epochs('optimizer = optim.Adam(model.parameters(), lr=1e-3)'), 'TL013'), ['TL013']);
  assert.deepEqual(ids(epochs('optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)'), 'TL013'), ['TL013']);
  assert.deepEqual(ids(epochs('optimizer = optim.AdamW(filter(lambda p: p.requires_grad, model.parameters()))'), 'TL013'), ['TL013']);
  const sched = epochs('scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=5)', 'model = Net()\noptimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)\n');
  const f = lint(sched, { select: ['TL013'] });
  assert.deepEqual(f.map((x) => x.rule), ['TL013']);
  assert.match(f[0]!.message, /StepLR is created inside the training loop: its schedule restarts/);
  // inside the batch loop itself
  const perBatch = `${HEADER}model = Net()\nfor x, y in loader:\n    optimizer = torch.optim.RMSprop(model.parameters())\n    optimizer.zero_grad()\n    criterion(model(x), y).backward()\n    optimizer.step()\n`;
  assert.deepEqual(ids(perBatch, 'TL013'), ['TL013']);
});

test('TL013: created once before the loop, a new model per trial or fold, plain SGD, no training in the loop: fine', () => {
  assert.deepEqual(ids(epochs('pass', 'model = Net()\noptimizer = optim.Adam(model.parameters())\n'), 'TL013'), []);
  // a hyperparameter sweep: a new model each time gets a new optimizer
  const sweep = `${HEADER}for lr in [1e-2, 1e-3]:\n    model = Net()\n    optimizer = torch.optim.Adam(model.parameters(), lr=lr)\n    for x, y in loader:\n        optimizer.zero_grad()\n        criterion(model(x), y).backward()\n        optimizer.step()\n`;
  assert.deepEqual(ids(sweep, 'TL013'), []);
  const folds = `${HEADER}model = Net()\nfor fold in range(5):\n    model.apply(reset)\n    optimizer = torch.optim.Adam(model.parameters())\n    for x, y in loader:\n        optimizer.zero_grad()\n        criterion(model(x), y).backward()\n        optimizer.step()\n`;
  assert.deepEqual(ids(folds, 'TL013'), []);
  const models = `${HEADER}for model in (Net(), Other()):\n    optimizer = torch.optim.Adam(model.parameters())\n    for x, y in loader:\n        optimizer.zero_grad()\n        criterion(model(x), y).backward()\n        optimizer.step()\n`;
  assert.deepEqual(ids(models, 'TL013'), []);
  // plain SGD keeps no state between steps
  assert.deepEqual(ids(epochs('optimizer = torch.optim.SGD(model.parameters(), lr=0.1 * 0.9 ** epoch)'), 'TL013'), []);
  // both optimizer and scheduler made per iteration: the optimizer's finding covers it, not a second one
  const both = epochs('optimizer = optim.Adam(model.parameters())\nscheduler = optim.lr_scheduler.StepLR(optimizer, 5)');
  assert.deepEqual(ids(both, 'TL013'), ['TL013']);
  // a loop that does not train (building a list of optimizers for later)
  assert.deepEqual(ids(`${HEADER}opts = []\nfor m in models:\n    opts.append(torch.optim.Adam(m.parameters()))\n`, 'TL013'), []);
  // inside a function defined in the loop body: not this loop's iteration
  const factory = `${HEADER}model = Net()\nfor epoch in range(3):\n    def make():\n        return torch.optim.Adam(model.parameters())\n    for x, y in loader:\n        loss = criterion(model(x), y)\n        loss.backward()\n`;
  assert.deepEqual(ids(factory, 'TL013'), []);
});

// ---- TL014 ----
test('TL014: the transfer-learning head replaced after the optimizer was built is an error', () => {
  const code = `${HEADER}import torchvision\nmodel = torchvision.models.resnet18(weights=None)\noptimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)\nmodel.fc = nn.Linear(model.fc.in_features, 10)\n`;
  const f = lint(code, { select: ['TL014'] });
  assert.deepEqual(f.map((x) => `${x.rule}:${x.severity}:${x.range.start.line}`), ['TL014:error:7']);
  assert.match(f[0]!.message, /model\.fc is replaced after the optimizer was built \(line 7\)/);
  // a subscript into a Sequential head, and a nested attribute
  assert.deepEqual(ids(`${HEADER}optimizer = torch.optim.Adam(model.parameters())\nmodel.classifier[6] = nn.Linear(4096, 2)\n`, 'TL014'), ['TL014']);
  assert.deepEqual(ids(`${HEADER}opt = torch.optim.Adam(net.parameters())\nnet.head.proj = nn.Sequential(nn.Linear(8, 8), nn.ReLU())\n`, 'TL014'), ['TL014']);
});

test('TL014: head replaced first, optimizer rebuilt or extended afterwards, other scopes and non-layers: fine; a class body is checked too', () => {
  assert.deepEqual(ids(`${HEADER}model.fc = nn.Linear(512, 10)\noptimizer = torch.optim.SGD(model.parameters(), lr=0.01)\n`, 'TL014'), []);
  assert.deepEqual(ids(`${HEADER}optimizer = torch.optim.SGD(model.parameters(), lr=0.01)\nmodel.fc = nn.Linear(512, 10)\noptimizer = torch.optim.SGD(model.parameters(), lr=0.01)\n`, 'TL014'), []);
  assert.deepEqual(ids(`${HEADER}optimizer = torch.optim.SGD(model.parameters(), lr=0.01)\nmodel.fc = nn.Linear(512, 10)\noptimizer.add_param_group({"params": model.fc.parameters()})\n`, 'TL014'), []);
  // the optimizer of another model; an attribute that is not a layer; a layer assigned in another function
  assert.deepEqual(ids(`${HEADER}optimizer = torch.optim.SGD(teacher.parameters(), lr=0.01)\nstudent.fc = nn.Linear(512, 10)\nmodel.fc.weight.data = torch.zeros(10, 512)\n`, 'TL014'), []);
  const scopes = `${HEADER}def build():\n    model = Net()\n    model.fc = nn.Linear(512, 10)\n    return model\n\noptimizer = torch.optim.SGD(model.parameters(), lr=0.01)\n`;
  assert.deepEqual(ids(scopes, 'TL014'), []);
  // reported inside a model class too: a layer added after self.parameters() went to the optimizer
  const cls = `${HEADER}class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.opt = torch.optim.Adam(self.parameters())\n        self.fc = nn.Linear(4, 2)\n`;
  assert.deepEqual(ids(cls, 'TL014'), ['TL014']);
});

// ---- TL015 ----
test('TL015: best_state = model.state_dict() kept in the loop and loaded after it is an error; the fix copies the tensors', () => {
  const code = `${HEADER}best = float("inf")\nfor epoch in range(50):\n    val_loss = run_epoch(model)\n    if val_loss < best:\n        best = val_loss\n        best_state = model.state_dict()\nmodel.load_state_dict(best_state)\n`;
  const f = lint(code);
  assert.deepEqual(f.map((x) => `${x.rule}:${x.severity}`), ['TL015:error']);
  const fixed = fix(code, 'TL015');
  assert.match(fixed, /best_state = \{k: v\.detach\(\)\.clone\(\) for k, v in model\.state_dict\(\)\.items\(\)\}/);
  assert.deepEqual(ids(fixed), []);
});

test('TL015: deepcopy, saved to a file, not restored, outside a loop: fine', () => {
  const tail = '\nmodel.load_state_dict(best_state)\n';
  const inLoop = (line: string) => `${HEADER}import copy\nfor epoch in range(50):\n    if better(epoch):\n        ${line}${tail}`;
  assert.deepEqual(ids(inLoop('best_state = copy.deepcopy(model.state_dict())'), 'TL015'), []);
  assert.deepEqual(ids(`${HEADER}for epoch in range(50):\n    state = model.state_dict()\n    torch.save(state, f"ckpt_{epoch}.pt")\n`, 'TL015'), []);
  assert.deepEqual(ids(`${HEADER}best_state = model.state_dict()${tail}`, 'TL015'), []);
  // loaded back inside the same iteration (e.g. a restart), not after the loop
  assert.deepEqual(ids(`${HEADER}for epoch in range(3):\n    s = model.state_dict()\n    other.load_state_dict(s)\n`, 'TL015'), []);
});

// ---- TL016 ----
test('TL016: model.requires_grad = False on a module is an error; the fix calls requires_grad_(False)', () => {
  const tv = `${HEADER}import torchvision\nmodel = torchvision.models.resnet18(weights=None)\n`;
  const code = `${tv}model.requires_grad = False\nmodel.fc = nn.Linear(512, 2)\n`;
  const f = lint(code, { select: ['TL016'] });
  assert.deepEqual(f.map((x) => `${x.rule}:${x.severity}`), ['TL016:error']);
  const fixed = fix(code, 'TL016');
  assert.match(fixed, /^model\.requires_grad_\(False\)$/m);
  assert.deepEqual(ids(fixed, 'TL016'), []);
  assert.deepEqual(ids(`${tv}model.layer4.requires_grad = True\n`, 'TL016'), ['TL016']);
  const own = `${HEADER}class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.fc = nn.Linear(4, 2)\n\nnet = Net()\nnet.requires_grad = False\n`;
  assert.deepEqual(ids(own, 'TL016'), ['TL016']);
  assert.deepEqual(ids(`${HEADER}enc = nn.LSTM(8, 16)\nenc.requires_grad = False\n`, 'TL016'), ['TL016']);
});

test('TL016: parameters and tensors, parameter attributes of a module, unknown objects: fine', () => {
  const tv = `${HEADER}import torchvision\nmodel = torchvision.models.resnet18(weights=None)\n`;
  assert.deepEqual(ids(`${tv}for p in model.parameters():\n    p.requires_grad = False\n`, 'TL016'), []);
  assert.deepEqual(ids(`${tv}model.fc.weight.requires_grad = False\nmodel.pos_embedding.requires_grad = False\n`, 'TL016'), []);
  assert.deepEqual(ids(`${HEADER}x = torch.zeros(3)\nx.requires_grad = True\n`, 'TL016'), []);
  assert.deepEqual(ids(`${HEADER}def freeze(m):\n    m.requires_grad = False\n`, 'TL016'), []);
});

// ---- TL017 ----
test('TL017: optimizer.step() after the batch loop whose backward() calls add up is reported', () => {
  const code = `${HEADER}for epoch in range(10):\n    optimizer.zero_grad()\n    for x, y in train_loader:\n        loss = criterion(model(x), y)\n        loss.backward()\n    optimizer.step()\n`;
  const f = lint(code);
  assert.deepEqual(f.map((x) => `${x.rule}:${x.severity}:${x.range.start.line}`), ['TL017:warning:9']);
  // no epoch loop around it
  assert.deepEqual(ids(`${HEADER}for xb, yb in dl:\n    criterion(model(xb), yb).backward()\nopt.step()\n`, 'TL017'), ['TL017']);
});

test('TL017: step inside the batch loop, accumulation inside it, a validation loop before the step, LBFGS: fine', () => {
  assert.deepEqual(ids(loop('optimizer.zero_grad()\ncriterion(model(x), y).backward()\noptimizer.step()'), 'TL017'), []);
  const accum = `${HEADER}for i, (x, y) in enumerate(train_loader):\n    (criterion(model(x), y) / 4).backward()\n    if (i + 1) % 4 == 0:\n        optimizer.step()\n        optimizer.zero_grad()\n`;
  assert.deepEqual(ids(accum, 'TL017'), []);
  const val = `${HEADER}for epoch in range(5):\n    for x, y in train_loader:\n        optimizer.zero_grad()\n        criterion(model(x), y).backward()\n        optimizer.step()\n    with torch.no_grad():\n        for x, y in val_loader:\n            val_loss = criterion(model(x), y)\n    scheduler.step()\n`;
  assert.deepEqual(ids(val, 'TL017'), []);
  const lbfgs = `${HEADER}for x, y in loader:\n    loss = criterion(model(x), y)\n    loss.backward()\noptimizer.step(closure)\n`;
  assert.deepEqual(ids(lbfgs, 'TL017'), []);
});
