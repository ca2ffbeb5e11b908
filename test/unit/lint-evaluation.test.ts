import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, fix, ids, lint, useParser } from './lint/helpers';

useParser();

const withDropout = `${HEADER}\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.fc = nn.Linear(4, 3)\n        self.drop = nn.Dropout(0.5)\n\n    def forward(self, x):\n        return self.fc(self.drop(x))\n\nmodel = Net()\n`;
const plain = `${HEADER}\nclass Tiny(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.fc = nn.Linear(4, 3)\n\n    def forward(self, x):\n        return self.fc(x)\n\nmodel = Tiny()\n`;

test('EV003 + EV001: a loop over val_loader with neither no_grad nor eval()', () => {
  const code = `${withDropout}for x, y in val_loader:\n    out = model(x)\n`;
  assert.deepEqual(ids(code), ['EV001', 'EV003']);
});

test('EV003: fix wraps the loop in torch.no_grad(), re-lint clean', () => {
  const code = `${withDropout}model.eval()\nfor x, y in val_loader:\n    out = model(x)\n    total += (out.argmax(1) == y).sum().item()\n`;
  assert.deepEqual(ids(code), ['EV003']);
  const fixed = fix(code, 'EV003');
  assert.match(fixed, /with torch\.no_grad\(\):\n {4}for x, y in val_loader:\n {8}out = model\(x\)\n {8}total/);
  assert.deepEqual(ids(fixed), []);
});

test('EV003: decorator @torch.no_grad(), inference_mode, callers under no_grad', () => {
  const dec = `${HEADER}\n@torch.no_grad()\ndef evaluate(model, loader):\n    model.eval()\n    for x, y in loader:\n        out = model(x)\n`;
  assert.deepEqual(ids(dec), []);
  const inf = `${HEADER}\ndef validate(model, loader):\n    model.eval()\n    with torch.inference_mode():\n        for x, y in loader:\n            out = model(x)\n`;
  assert.deepEqual(ids(inf), []);
  const caller = `${HEADER}\ndef evaluate(model, loader):\n    for x, y in loader:\n        out = model(x)\n\nmodel.eval()\nwith torch.no_grad():\n    evaluate(model, val_loader)\n`;
  assert.deepEqual(ids(caller), []);
});

test('EV001: function named evaluate without eval(); eval() in the caller is enough', () => {
  const bad = `${HEADER}\ndef evaluate(model, loader):\n    with torch.no_grad():\n        for x, y in loader:\n            out = model(x)\n`;
  assert.deepEqual(ids(bad), ['EV001']);
  const good = `${HEADER}\ndef evaluate(model, loader):\n    with torch.no_grad():\n        for x, y in loader:\n            out = model(x)\n\ndef main():\n    model.eval()\n    evaluate(model, val_loader)\n`;
  assert.deepEqual(ids(good), []);
});

test('EV001: a known model without Dropout/BatchNorm needs no eval()', () => {
  const code = `${plain}with torch.no_grad():\n    for x, y in test_loader:\n        out = model(x)\n`;
  assert.deepEqual(ids(code), []);
  const withBn = `${HEADER}\nmodel = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Linear(8, 2))\nwith torch.no_grad():\n    for x, y in test_loader:\n        out = model(x)\n`;
  assert.deepEqual(ids(withBn, 'EV001'), ['EV001']);
});

test('evaluation rules ignore training loops and non-model calls', () => {
  const train = `${HEADER}\nfor x, y in train_loader:\n    optimizer.zero_grad()\n    loss = criterion(model(x), y)\n    loss.backward()\n    optimizer.step()\n`;
  assert.deepEqual(ids(train), []);
  const noModel = `${HEADER}\nfor x, y in val_loader:\n    print(x.shape)\n`;
  assert.deepEqual(ids(noModel), []);
  const f = lint(`${withDropout}for batch in tqdm(val_loader, desc="val"):\n    out = model(batch)\n`);
  assert.equal(f[0]!.range.start.line, 15);
});

// ---- EV002: eval() in the epoch loop, train() only before it ----
const trainBatch = '    for x, y in train_loader:\n        optimizer.zero_grad()\n        criterion(model(x), y).backward()\n        optimizer.step()\n';
const evalPart = '    model.eval()\n    with torch.no_grad():\n        for x, y in val_loader:\n            out = model(x)\n';

test('EV002: model.train() once before the epoch loop, model.eval() inside; fix inserts train() in the loop', () => {
  const code = `${withDropout}optimizer = torch.optim.Adam(model.parameters())\nmodel.train()\nfor epoch in range(10):\n${trainBatch}${evalPart}`;
  assert.deepEqual(ids(code), ['EV002']);
  const fixed = fix(code, 'EV002');
  assert.match(fixed, /for epoch in range\(10\):\n {4}model\.train\(\)\n {4}for x, y in train_loader/);
  assert.deepEqual(ids(fixed), []);
});

test('EV002: through functions of the file (evaluate() calls eval, train() never calls train())', () => {
  const code = `${withDropout}def train_epoch(model, loader, optimizer):\n    for x, y in loader:\n        optimizer.zero_grad()\n        criterion(model(x), y).backward()\n        optimizer.step()\n\n@torch.no_grad()\ndef evaluate(net, loader):\n    net.eval()\n    for x, y in loader:\n        out = net(x)\n\noptimizer = torch.optim.SGD(model.parameters(), lr=0.1)\nfor epoch in range(10):\n    train_epoch(model, train_loader, optimizer)\n    evaluate(model, val_loader)\n`;
  assert.deepEqual(ids(code), ['EV002']);
  assert.deepEqual(ids(fix(code, 'EV002')), []);
});

test('EV002: train() in the loop or in the training function, frozen teacher models, models without dropout: fine', () => {
  assert.deepEqual(ids(`${withDropout}optimizer = torch.optim.Adam(model.parameters())\nfor epoch in range(10):\n    model.train()\n${trainBatch}${evalPart}`), []);
  const inFn = `${withDropout}def train_epoch(model, loader, optimizer):\n    model.train()\n    for x, y in loader:\n        optimizer.zero_grad()\n        criterion(model(x), y).backward()\n        optimizer.step()\n\noptimizer = torch.optim.Adam(model.parameters())\nfor epoch in range(10):\n    train_epoch(model, train_loader, optimizer)\n    model.eval()\n`;
  assert.deepEqual(ids(inFn), []);
  const teacher = `${withDropout}teacher = load_teacher()\noptimizer = torch.optim.Adam(model.parameters())\nmodel.train()\nfor x, y in train_loader:\n    teacher.eval()\n    optimizer.zero_grad()\n    criterion(model(x), teacher(x)).backward()\n    optimizer.step()\n`;
  assert.deepEqual(ids(teacher, 'EV002'), []);
  assert.deepEqual(ids(`${plain}optimizer = torch.optim.Adam(model.parameters())\nmodel.train()\nfor epoch in range(10):\n${trainBatch}${evalPart}`), []);
});

// ---- EV004: validation data is the training data ----
test('EV004: validation_data=(X_train, y_train), eval_dataset=train, val_loader = train_loader, fit(model, tl, tl)', () => {
  assert.deepEqual(ids('model.fit(X_train, y_train, epochs=5, validation_data=(X_train, y_train))\n'), ['EV004']);
  assert.deepEqual(ids('model.fit(x, y, validation_data=(x, y))\n'), ['EV004']);
  assert.deepEqual(ids('trainer = Trainer(model=model, args=args, train_dataset=ds["train"], eval_dataset=ds["train"])\n'), ['EV004']);
  assert.deepEqual(ids(`${HEADER}val_loader = train_loader\n`), ['EV004']);
  assert.deepEqual(ids(`${HEADER}val_loader = DataLoader(train_dataset, batch_size=64)\n`, 'EV004'), ['EV004']);
  assert.deepEqual(ids('trainer.fit(model, train_loader, train_loader)\n'), ['EV004']);
});

test('EV004: held-out splits, samplers over one dataset, evaluating train accuracy on purpose: fine', () => {
  assert.deepEqual(ids('model.fit(X_train, y_train, validation_data=(X_val, y_val))\n'), []);
  assert.deepEqual(ids('trainer = Trainer(model=model, train_dataset=ds["train"], eval_dataset=ds["validation"])\n'), []);
  assert.deepEqual(ids(`${HEADER}val_loader = DataLoader(train_dataset, batch_size=64, sampler=valid_sampler)\n`), []);
  assert.deepEqual(ids(`${HEADER}train_acc = evaluate(model, train_loader)\nval_acc = evaluate(model, val_loader)\n`, 'EV004'), []);
  assert.deepEqual(ids('trainer.fit(model, train_loader, val_loader)\n'), []);
});

// ---- EV005: selection on the test set ----
test('EV005: checkpoint / early stopping / plateau on test metrics', () => {
  const ckpt = `${HEADER}for epoch in range(100):\n    test_loss = evaluate(model, test_loader)\n    if test_loss < best_loss:\n        best_loss = test_loss\n        torch.save(model.state_dict(), "best.pt")\n`;
  assert.deepEqual(ids(ckpt), ['EV005']);
  assert.deepEqual(ids(`${HEADER}scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer)\nscheduler.step(test_loss)\n`), ['EV005']);
  assert.deepEqual(ids(`${HEADER}early_stopping(test_loss, model)\n`), ['EV005']);
  // kuangliu-style: accuracy computed in a function that loops over testloader, best checkpoint saved
  const fnStyle = `${HEADER}def test(epoch):\n    global best_acc\n    model.eval()\n    correct = 0\n    with torch.no_grad():\n        for inputs, targets in testloader:\n            correct += (model(inputs).argmax(1) == targets).sum().item()\n    acc = 100.0 * correct / len(testloader.dataset)\n    if acc > best_acc:\n        torch.save(model.state_dict(), "ckpt.pth")\n        best_acc = acc\n`;
  assert.deepEqual(ids(fnStyle), ['EV005']);
  const keras = 'es = EarlyStopping(monitor="val_loss", patience=3)\nmodel.fit(x_train, y_train, validation_data=(x_test, y_test), callbacks=[es])\n';
  assert.deepEqual(ids(keras), ['EV005']);
});

test('EV005: validation metrics, test metric only reported, keras test data without callbacks: fine', () => {
  assert.deepEqual(ids(`${HEADER}for epoch in range(100):\n    val_loss = evaluate(model, val_loader)\n    if val_loss < best_loss:\n        best_loss = val_loss\n        torch.save(model.state_dict(), "best.pt")\n`), []);
  assert.deepEqual(ids(`${HEADER}if test_acc > best_test_acc:\n    best_test_acc = test_acc\nprint(best_test_acc)\n`), []);
  assert.deepEqual(ids(`${HEADER}scheduler.step(val_loss)\n`), []);
  assert.deepEqual(ids('model.fit(x_train, y_train, validation_data=(x_test, y_test), epochs=5)\n'), []);
  // a function that loops over both validation and test loaders: the accuracy may be the validation one
  assert.deepEqual(ids(`${HEADER}def run(epoch):\n    for x, y in val_loader:\n        pass\n    for x, y in test_loader:\n        pass\n    if acc > best_acc:\n        torch.save(model.state_dict(), "b.pt")\n`), []);
});

// ---- EV006: metrics on logits ----
const bce = `${HEADER}criterion = nn.BCEWithLogitsLoss()\nout = model(x)\nloss = criterion(out, y)\n`;

test('EV006: logits > 0.5 with BCEWithLogitsLoss; fix thresholds at 0; clean after', () => {
  const code = `${bce}preds = (out > 0.5).float()\n`;
  assert.deepEqual(ids(code), ['EV006']);
  const fixed = fix(code, 'EV006');
  assert.match(fixed, /preds = \(out > 0\)\.float\(\)/);
  assert.deepEqual(ids(fixed), []);
  assert.deepEqual(ids(`${bce}preds = torch.round(out)\n`), ['EV006']);
  assert.deepEqual(ids(fix(`${bce}preds = torch.round(out)\n`, 'EV006')), []);
  // the same model's output in an evaluation function
  const evalFn = `${bce}def evaluate(loader):\n    with torch.no_grad():\n        for xb, yb in loader:\n            logits = model(xb).squeeze(1)\n            correct = ((logits >= 0.5) == yb).sum()\n`;
  assert.deepEqual(ids(evalFn, 'EV006'), ['EV006']);
});

test('EV006: sigmoid before thresholding, BCELoss on probabilities, thresholds on other values: fine', () => {
  assert.deepEqual(ids(`${bce}preds = torch.sigmoid(out) > 0.5\n`), []);
  assert.deepEqual(ids(`${bce}probs = out.sigmoid()\npreds = probs > 0.5\n`), []);
  assert.deepEqual(ids(`${bce}preds = out > 0\n`), []);
  assert.deepEqual(ids(`${HEADER}criterion = nn.BCELoss()\nout = model(x)\nloss = criterion(out, y)\npreds = out > 0.5\n`, 'EV006'), []);
  assert.deepEqual(ids(`${bce}mask = attention > 0.5\n`), []);
});

test('EV006: argmax over dim 0 of CrossEntropyLoss logits; fix uses dim=1', () => {
  const ce = `${HEADER}criterion = nn.CrossEntropyLoss()\nout = model(x)\nloss = criterion(out, y)\n`;
  const code = `${ce}pred = out.argmax(dim=0)\n`;
  assert.deepEqual(ids(code), ['EV006']);
  const fixed = fix(code, 'EV006');
  assert.match(fixed, /out\.argmax\(dim=1\)/);
  assert.deepEqual(ids(fixed), []);
  assert.deepEqual(ids(`${ce}_, pred = torch.max(out.data, 0)\n`), ['EV006']);
  assert.deepEqual(ids(`${ce}pred = out.argmax(1)\n_, p2 = torch.max(out, 1)\n`), []);
  // reshaped before the loss: the class axis is unknown, silent
  assert.deepEqual(ids(`${HEADER}out = model(x)\nloss = F.cross_entropy(out.view(-1, 10), y.view(-1))\npred = out.argmax(0)\n`), []);
});

test('EV004: a validation metric computed on the training loader', () => {
  assert.deepEqual(ids(`${HEADER}val_loss, val_acc = evaluate(model, train_loader)\n`, 'EV004'), ['EV004']);
  assert.deepEqual(ids(`${HEADER}val_acc = evaluate(model, loader=train_loader)\n`, 'EV004'), ['EV004']);
  assert.deepEqual(ids(`${HEADER}train_acc = evaluate(model, train_loader)\nval_acc = evaluate(model, val_loader)\n`, 'EV004'), []);
  assert.deepEqual(ids(`${HEADER}val_loss = criterion(out, y)\n`, 'EV004'), []);
});

test('EV002: eval only on the last epoch, or inside the batch loop without train() after it', () => {
  const last = `${withDropout}optimizer = torch.optim.Adam(model.parameters())\nmodel.train()\nfor epoch in range(epochs):\n${trainBatch}    if epoch == epochs - 1:\n        model.eval()\n`;
  assert.deepEqual(ids(last, 'EV002'), []);
  const inBatch = `${withDropout}optimizer = torch.optim.Adam(model.parameters())\nmodel.train()\nfor step, (x, y) in enumerate(train_loader):\n    optimizer.zero_grad()\n    criterion(model(x), y).backward()\n    optimizer.step()\n    if step % 500 == 0:\n        model.eval()\n        evaluate_somewhere(model)\n`;
  assert.deepEqual(ids(inBatch, 'EV002'), ['EV002']);
});

test('EV005: metrics computed by a call that is handed the test loader', () => {
  const code = `${HEADER}for epoch in range(50):\n    acc = evaluate(model, test_loader)\n    if acc > best_acc:\n        best_acc = acc\n        torch.save(model.state_dict(), "best.pt")\n`;
  assert.deepEqual(ids(code, 'EV005'), ['EV005']);
  assert.deepEqual(ids(`${HEADER}scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer)\nscheduler.step(evaluate(model, test_loader))\n`, 'EV005'), ['EV005']);
  assert.deepEqual(ids(code.replace('test_loader', 'val_loader'), 'EV005'), []);
});

// ---- EV007 ----
const dropoutNet = (call: string, params = 'self, x') =>
  `${HEADER}\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.fc1 = nn.Linear(8, 16)\n        self.fc2 = nn.Linear(16, 2)\n\n    def forward(${params}):\n        x = F.relu(self.fc1(x))\n        x = ${call}\n        return self.fc2(x)\n`;

test('EV007: F.dropout in forward without training= is a warning; the fix passes training=self.training', () => {
  const code = dropoutNet('F.dropout(x, p=0.5)');
  const f = lint(code);
  assert.deepEqual(f.map((x) => `${x.rule}:${x.severity}`), ['EV007:warning']);
  const fixed = fix(code, 'EV007');
  assert.match(fixed, /x = F\.dropout\(x, p=0\.5, training=self\.training\)/);
  assert.deepEqual(ids(fixed), []);
  // A trailing comma, and torch.nn.functional spelled out, dropout2d
  const trailing = fix(dropoutNet('torch.nn.functional.dropout2d(\n            x,\n            0.2,\n        )'), 'EV007');
  assert.match(trailing, /0\.2,\n {8} training=self\.training\)/);
  assert.deepEqual(ids(trailing), []);
  assert.deepEqual(ids(`from torch.nn.functional import dropout\n${dropoutNet('dropout(x, 0.3)')}`), ['EV007']);
});

test('EV007: training given (keyword, position, **kwargs), nn.Dropout, plain functions and static methods are fine', () => {
  assert.deepEqual(ids(dropoutNet('F.dropout(x, 0.5, training=self.training)')), []);
  assert.deepEqual(ids(dropoutNet('F.dropout(x, 0.5, self.training)')), []);
  assert.deepEqual(ids(dropoutNet('F.dropout(x, **self.drop_args)')), []);
  // MC dropout on purpose: training=True written out
  assert.deepEqual(ids(dropoutNet('F.dropout(x, 0.5, training=True)')), []);
  // not a method: a helper function (whether it runs in eval is not known here)
  assert.deepEqual(ids(`${HEADER}\ndef augment(x):\n    return F.dropout(x, 0.1)\n`), []);
  // a static method has no self to read training from
  const staticM = `${HEADER}\nclass Noise:\n    @staticmethod\n    def apply(x):\n        return F.dropout(x, 0.1)\n`;
  assert.deepEqual(ids(staticM), []);
  // another library's dropout
  assert.deepEqual(ids(`import jax\n${dropoutNet('mylib.dropout(x, 0.5)')}`), []);
});

// ---- EV008 ----
test('EV008: torch.no_grad() / inference_mode() alone on a line are errors; with, decorators and set_grad_enabled are fine', () => {
  const bare = `${withDropout}model.eval()\ntorch.no_grad()\nfor x, y in val_loader:\n    out = model(x)\n`;
  const f = lint(bare, { select: ['EV008'] });
  assert.deepEqual(f.map((x) => `${x.rule}:${x.severity}`), ['EV008:error']);
  assert.match(f[0]!.message, /with torch\.no_grad\(\):/);
  assert.deepEqual(ids(`${HEADER}torch.inference_mode()\n`, 'EV008'), ['EV008']);
  assert.deepEqual(ids(`from torch import no_grad\nno_grad()\n`, 'EV008'), ['EV008']);
  assert.deepEqual(ids(`${withDropout}model.eval()\nwith torch.no_grad():\n    for x, y in val_loader:\n        out = model(x)\n`, 'EV008'), []);
  assert.deepEqual(ids(`${HEADER}@torch.no_grad()\ndef evaluate(model, x):\n    return model(x)\n`, 'EV008'), []);
  // set_grad_enabled(False) as a statement really switches grad mode off
  assert.deepEqual(ids(`${HEADER}torch.set_grad_enabled(False)\n`, 'EV008'), []);
  // kept in a variable to be entered later
  assert.deepEqual(ids(`${HEADER}ctx = torch.no_grad()\nwith ctx:\n    pass\n`, 'EV008'), []);
});

// ---- EV009 ----
test('EV009: argmax() without dim on a model output in a batch loop is an error; the fix adds dim=1', () => {
  const code = `${withDropout}model.eval()\ncorrect = 0\nwith torch.no_grad():\n    for x, y in val_loader:\n        outputs = model(x)\n        correct += (outputs.argmax() == y).sum().item()\n`;
  const f = lint(code);
  assert.deepEqual(f.map((x) => `${x.rule}:${x.severity}`), ['EV009:error']);
  const fixed = fix(code, 'EV009');
  assert.match(fixed, /outputs\.argmax\(dim=1\) == y/);
  assert.deepEqual(ids(fixed), []);
  const fn = `${withDropout}model.eval()\nwith torch.no_grad():\n    for batch in test_loader:\n        pred = torch.argmax(model(batch[0]))\n`;
  assert.deepEqual(ids(fn, 'EV009'), ['EV009']);
  assert.match(fix(fn, 'EV009'), /torch\.argmax\(model\(batch\[0\]\), dim=1\)/);
});

test('EV009: dim given, one image outside a batch loop, not a model output, numpy: fine', () => {
  const loopOf = (line: string) => `${withDropout}model.eval()\nwith torch.no_grad():\n    for x, y in val_loader:\n        out = model(x)\n        ${line}\n`;
  assert.deepEqual(ids(loopOf('pred = out.argmax(1)'), 'EV009'), []);
  assert.deepEqual(ids(loopOf('pred = out.argmax(dim=-1)'), 'EV009'), []);
  assert.deepEqual(ids(loopOf('pred = torch.argmax(out, 1)'), 'EV009'), []);
  assert.deepEqual(ids(loopOf('worst = losses.argmax()'), 'EV009'), []);
  assert.deepEqual(ids(loopOf('k = np.argmax(scores)'), 'EV009'), []);
  // a single image: the flattened argmax is its class
  assert.deepEqual(ids(`${withDropout}model.eval()\nwith torch.no_grad():\n    label = model(img.unsqueeze(0)).argmax().item()\n`, 'EV009'), []);
  // a loop over classes or epochs, not batches
  assert.deepEqual(ids(`${withDropout}for name in class_names:\n    best = model(embed(name)).argmax()\n`, 'EV009'), []);
});

test('EV009: the output read through .data or .detach() is the same tensor', () => {
  const loopOf = (line: string) => `${withDropout}model.eval()\nwith torch.no_grad():\n    for x, y in val_loader:\n        out = model(x)\n        ${line}\n`;
  assert.deepEqual(ids(loopOf('pred = out.data.argmax()'), 'EV009'), ['EV009']);
  assert.deepEqual(ids(loopOf('pred = torch.argmax(out.detach())'), 'EV009'), ['EV009']);
});

// ---- EV011 ----
test('EV011: argmax/max over dim 0 of a model output in a batch loop is an error; the fix reduces over dim 1', () => {
  const loopOf = (line: string) => `${withDropout}model.eval()\ncorrect = 0\nwith torch.no_grad():\n    for x, y in test_loader:\n        outputs = model(x)\n        ${line}\n`;
  const code = loopOf('_, predicted = torch.max(outputs.data, 0)');
  const f = lint(code);
  assert.deepEqual(f.map((x) => `${x.rule}:${x.severity}`), ['EV011:error']);
  const fixed = fix(code, 'EV011');
  assert.match(fixed, /torch\.max\(outputs\.data, 1\)/);
  assert.deepEqual(ids(fixed), []);
  for (const line of ['pred = outputs.argmax(0)', 'pred = outputs.argmax(dim=0)', 'pred = torch.argmax(outputs, dim=0)', 'pred = outputs.max(0)[1]', 'pred = outputs.detach().argmax(0)', 'pred = model(x).argmax(0)']) {
    assert.deepEqual(ids(loopOf(line), 'EV011'), ['EV011'], line);
    assert.deepEqual(ids(fix(loopOf(line), 'EV011'), 'EV011'), [], line);
  }
});

test('EV011: dim 1 or -1, two tensors, keepdim given positionally, not a model output, not a batch loop: fine', () => {
  const loopOf = (line: string) => `${withDropout}model.eval()\nwith torch.no_grad():\n    for x, y in test_loader:\n        outputs = model(x)\n        ${line}\n`;
  for (const line of ['pred = outputs.argmax(1)', 'pred = outputs.argmax(dim=-1)', '_, pred = torch.max(outputs, 1)', 'm = torch.max(outputs, zeros)', 'v = outputs.max(0, True)', 'i = losses.argmax(0)', 'k = np.argmax(outputs, 0)']) {
    assert.deepEqual(ids(loopOf(line), 'EV011'), [], line);
  }
  // one sample's scores (no batch dimension), in a loop over episodes
  assert.deepEqual(ids(`${withDropout}for episode in range(10):\n    action = model(state).argmax(0).item()\n`, 'EV011'), []);
});

// ---- EV010 ----
test('EV010: a count of correct predictions divided by len(loader) is an error; the fix divides by len(loader.dataset)', () => {
  const code = `${HEADER}correct = 0\nfor x, y in test_loader:\n    correct += (model(x).argmax(dim=1) == y).sum().item()\nprint(100.0 * correct / len(test_loader))\n`;
  const f = lint(code, { select: ['EV010'] });
  assert.deepEqual(f.map((x) => `${x.rule}:${x.severity}`), ['EV010:error']);
  const fixed = fix(code, 'EV010');
  assert.match(fixed, /100\.0 \* correct \/ len\(test_loader\.dataset\)/);
  assert.deepEqual(ids(fixed, 'EV010'), []);
  assert.deepEqual(ids(`${HEADER}acc = self.n_correct / len(self.val_loader)\n`, 'EV010'), ['EV010']);
});

test('EV010: loss averaged over batches, samples counted, other denominators: fine', () => {
  assert.deepEqual(ids(`${HEADER}avg = running_loss / len(train_loader)\n`, 'EV010'), []);
  assert.deepEqual(ids(`${HEADER}acc = correct / len(test_loader.dataset)\nacc2 = correct / total\nacc3 = correct / len(y_test)\n`, 'EV010'), []);
  assert.deepEqual(ids(`${HEADER}acc = correct / len(test_loader.sampler)\n`, 'EV010'), []);
});

test('EV001: model.eval() inside the evaluation loop, before the forward, counts', () => {
  const code = (inLoop: string) => `${HEADER}
model = nn.Sequential(nn.Linear(8, 8), nn.Dropout(0.2), nn.Linear(8, 2))
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(3):
    model.train()
    for x, y in train_loader:
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
    with torch.no_grad():
        for x, y in val_loader:
            ${inLoop}
            out = model(x)
            print(F.cross_entropy(out, y).item())
`;
  assert.deepEqual(ids(code('model.eval()'), 'EV001'), []);
  assert.deepEqual(ids(code('x = x.float()'), 'EV001'), ['EV001']);
});
