import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, fix, ids, useParser } from './lint/helpers';

useParser();

test('API001: loss.data[0] (fix .item()) and Variable(..., volatile=True)', () => {
  const code = `${HEADER}\nfor x, y in loader:\n    loss = criterion(model(x), y)\n    total += loss.data[0]\n`;
  assert.deepEqual(ids(code, 'API001'), ['API001']);
  const fixed = fix(code, 'API001');
  assert.match(fixed, /total \+= loss\.item\(\)/);
  assert.deepEqual(ids(fixed, 'API001'), []);
  assert.deepEqual(ids(`${HEADER}\nout = F.cross_entropy(logits, y)\nprint(out.data[0])\n`, 'API001'), ['API001']);
  assert.deepEqual(ids(`${HEADER}\ncorrect += (pred == y).sum().data[0]\n`, 'API001'), ['API001']);
  const vol = `import torch\nfrom torch.autograd import Variable\nx = Variable(images, volatile=True)\n`;
  assert.deepEqual(ids(vol), ['API001']);
});

test('API001: negatives: indexing real tensors with .data[0], Variable without volatile, volatile=False', () => {
  assert.deepEqual(ids(`${HEADER}\nfirst_row = weights.data[0]\nemb = model.embedding.weight.data[0]\nv = batch.data[0]\nfirst = losses.data[0]\n`, 'API001'), []);
  assert.deepEqual(ids(`${HEADER}\nprint(train_loss.data[0], loss_d.data[0])\n`, 'API001'), ['API001', 'API001']);
  assert.deepEqual(ids(`import torch\nfrom torch.autograd import Variable\nx = Variable(images)\ny = Variable(images, volatile=False)\n`), []);
  assert.deepEqual(ids(`${HEADER}\nprint(loss.item(), loss.data[1:])\n`, 'API001'), []);
});

test('API002: size_average / reduce → reduction, with the exact legacy mapping', () => {
  const cases: [string, string][] = [
    ['nn.MSELoss(size_average=False)', 'nn.MSELoss(reduction="sum")'],
    ['nn.CrossEntropyLoss(size_average=True)', 'nn.CrossEntropyLoss(reduction="mean")'],
    ['nn.L1Loss(reduce=False)', 'nn.L1Loss(reduction="none")'],
    ['F.nll_loss(out, y, size_average=False)', 'F.nll_loss(out, y, reduction="sum")'],
    ['F.binary_cross_entropy(p, t, size_average=False, reduce=False)', 'F.binary_cross_entropy(p, t, reduction="none")'],
    ['nn.BCELoss(weight=w, reduce=True, size_average=False)', 'nn.BCELoss(weight=w, reduction="sum")'],
  ];
  for (const [bad, good] of cases) {
    const code = `${HEADER}\nc = ${bad}\n`;
    assert.deepEqual(ids(code, 'API002'), ['API002'], bad);
    const fixed = fix(code, 'API002');
    assert.ok(fixed.includes(good), `${bad} -> ${fixed}`);
    assert.deepEqual(ids(fixed, 'API002'), []);
  }
  assert.deepEqual(ids(`${HEADER}\nc = nn.MSELoss(size_average=args.avg)\n`, 'API002'), ['API002'], 'no fix but reported');
});

test('API002: negatives: reduction given, non-loss calls with a reduce argument', () => {
  assert.deepEqual(ids(`${HEADER}\nc = nn.MSELoss(reduction="sum")\nd = F.cross_entropy(o, y, reduction="none")\n`), []);
  assert.deepEqual(ids(`${HEADER}\nfrom functools import reduce\nt = torch.scatter_reduce(x, 0, i, s, reduce="sum")\nm = metric(size_average=False)\n`), []);
});

test('API003: require_grad typo (fix requires_grad); requires_grad is fine', () => {
  const code = `${HEADER}\nfor p in model.features.parameters():\n    p.require_grad = False\n`;
  assert.deepEqual(ids(code), ['API003']);
  const fixed = fix(code, 'API003');
  assert.match(fixed, /p\.requires_grad = False/);
  assert.deepEqual(ids(fixed), []);
  assert.deepEqual(ids(`${HEADER}\nw = torch.randn(3)\nw.require_grad = True\n`), ['API003']);
  assert.deepEqual(ids(`${HEADER}\nfor p in model.parameters():\n    p.requires_grad = False\nw.requires_grad_(True)\nrequire_grad = False\n`), []);
});

test('API004: removed linear-algebra functions; exact fixes only where the signature is the same', () => {
  assert.deepEqual(ids(`${HEADER}\nx, lu = torch.solve(b, A)\n`), ['API004']);
  assert.deepEqual(ids(`${HEADER}\ne, v = torch.symeig(A, eigenvectors=True)\n`), ['API004']);
  assert.deepEqual(ids(`${HEADER}\nsol = torch.lstsq(b, A)\n`), ['API004']);
  assert.deepEqual(ids(`${HEADER}\nw = torch.eig(A)\n`), ['API004']);
  const rank = `${HEADER}\nr = torch.matrix_rank(A)\n`;
  assert.match(fix(rank, 'API004'), /r = torch\.linalg\.matrix_rank\(A\)/);
  assert.deepEqual(ids(fix(rank, 'API004')), []);
  const chain = `import torch as th\nm = th.chain_matmul(a, b, c)\n`;
  assert.deepEqual(ids(chain), ['API004']);
  assert.match(fix(chain, 'API004'), /m = th\.linalg\.multi_dot\(\[a, b, c\]\)/);
  assert.deepEqual(ids(fix(chain, 'API004')), []);
  const rng = `${HEADER}\nsteps = torch.range(0, 10)\n`;
  assert.deepEqual(ids(rng), ['API004']);
  assert.throws(() => fix(rng, 'API004'), /no fix/, 'range -> arange changes the end point');
});

test('API004: torch.cuda.amp.autocast / GradScaler → torch.amp with "cuda"', () => {
  const code = `${HEADER}\nscaler = torch.cuda.amp.GradScaler(init_scale=1024)\nwith torch.cuda.amp.autocast():\n    out = model(x)\n`;
  assert.deepEqual(ids(code), ['API004', 'API004']);
  const fixed = fix(code, 'API004');
  assert.match(fixed, /torch\.amp\.GradScaler\("cuda", init_scale=1024\)/);
  const fixed2 = fix(fixed, 'API004');
  assert.match(fixed2, /with torch\.amp\.autocast\("cuda"\):/);
  assert.deepEqual(ids(fixed2), []);
  const imported = `import torch\nfrom torch.cuda.amp import autocast, GradScaler\nscaler = GradScaler()\nwith autocast(enabled=True):\n    pass\n`;
  assert.deepEqual(ids(imported), ['API004', 'API004']);
  assert.throws(() => fix(`${HEADER}\nwith torch.cuda.amp.autocast(True):\n    pass\n`, 'API004'), /no fix/, 'positional enabled has no exact rewrite');
});

test('API004: torchvision pretrained= → weights=', () => {
  const code = `import torchvision\nmodel = torchvision.models.resnet50(pretrained=True)\n`;
  assert.deepEqual(ids(code), ['API004']);
  assert.match(fix(code, 'API004'), /resnet50\(weights="IMAGENET1K_V1"\)/);
  assert.deepEqual(ids(fix(code, 'API004')), []);
  const off = `from torchvision import models\nnet = models.vgg16(pretrained=False, num_classes=10)\n`;
  assert.match(fix(off, 'API004'), /vgg16\(weights=None, num_classes=10\)/);
  assert.deepEqual(ids(`from torchvision.models.detection import fasterrcnn_resnet50_fpn\nm = fasterrcnn_resnet50_fpn(pretrained=True)\n`), ['API004']);
  assert.throws(() => fix(`from torchvision.models.detection import fasterrcnn_resnet50_fpn\nm = fasterrcnn_resnet50_fpn(pretrained=True)\n`, 'API004'), /no fix/);
});

test('API004: negatives: current APIs, timm pretrained=True, Python range, user functions named like torch ones', () => {
  const ok = `${HEADER}\nimport timm\nfrom torchvision import models\nx = torch.linalg.solve(A, b)\nr = torch.arange(10)\nm = timm.create_model("resnet50", pretrained=True)\nn = models.resnet18(weights=None)\nfor i in range(10):\n    pass\nscaler = torch.amp.GradScaler("cuda")\nwith torch.autocast("cuda"):\n    pass\ndef solve(a, b):\n    return a\ny = solve(1, 2)\n`;
  assert.deepEqual(ids(ok), []);
});

test('API004: deprecated aliases with exact renames: F.sigmoid, F.upsample, clip_grad_norm, nn.init.xavier_uniform', () => {
  const cases: [string, RegExp][] = [
    ['p = F.sigmoid(z)', /p = torch\.sigmoid\(z\)/],
    ['t = F.tanh(z)', /t = torch\.tanh\(z\)/],
    ['u = F.upsample(x, scale_factor=2, mode="nearest")', /u = F\.interpolate\(x, scale_factor=2, mode="nearest"\)/],
    ['torch.nn.utils.clip_grad_norm(model.parameters(), 1.0)', /torch\.nn\.utils\.clip_grad_norm_\(model\.parameters\(\), 1\.0\)/],
    ['nn.init.xavier_uniform(m.weight)', /nn\.init\.xavier_uniform_\(m\.weight\)/],
    ['nn.init.kaiming_normal(m.weight, mode="fan_out")', /nn\.init\.kaiming_normal_\(m\.weight, mode="fan_out"\)/],
  ];
  for (const [bad, good] of cases) {
    const code = `${HEADER}\n${bad}\n`;
    assert.deepEqual(ids(code, 'API004'), ['API004'], bad);
    const fixed = fix(code, 'API004');
    assert.match(fixed, good);
    assert.deepEqual(ids(fixed, 'API004'), []);
  }
  assert.deepEqual(ids(`${HEADER}\np = torch.sigmoid(z)\nu = F.interpolate(x, scale_factor=2)\nnn.init.xavier_uniform_(w)\ntorch.nn.utils.clip_grad_norm_(ps, 1.0)\n`, 'API004'), []);
});
