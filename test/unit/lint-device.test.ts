import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, fix, ids, lint, useParser } from './lint/helpers';

useParser();

const FALLBACK = 'device = torch.device("cuda" if torch.cuda.is_available() else "cpu")\n';

test('DV001: torch.load without weights_only; fix adds weights_only=True', () => {
  const code = `${HEADER}\nmodel.load_state_dict(torch.load("model.pt"))\n`;
  assert.deepEqual(ids(code), ['DV001']);
  const fixed = fix(code, 'DV001');
  assert.match(fixed, /torch\.load\("model\.pt", weights_only=True\)/);
  assert.deepEqual(ids(fixed), []);
  assert.deepEqual(ids(`import torch as T\nstate = T.load(path, map_location="cpu")\n`), ['DV001']);
  assert.deepEqual(ids(`from torch import load\nstate = load(path)\n`), ['DV001']);
});

test('DV001: look-alikes: explicit weights_only (True or False), **kwargs, other loads; no fix with pickle_module', () => {
  assert.deepEqual(ids(`${HEADER}\nstate = torch.load(path, weights_only=True)\n`), []);
  assert.deepEqual(ids(`${HEADER}\nmodel = torch.load(path, weights_only=False)  # trusted full-module pickle\n`), []);
  assert.deepEqual(ids(`${HEADER}\nstate = torch.load(path, **load_kwargs)\n`), []);
  assert.deepEqual(ids(`import numpy as np\nimport json\narr = np.load("x.npy")\ncfg = json.load(f)\n`), []);
  assert.deepEqual(ids(`${HEADER}\nstate = torch.jit.load("m.pt")\n`), []);
  const f = lint(`${HEADER}\nimport dill\nstate = torch.load(path, pickle_module=dill)\n`);
  assert.deepEqual(f.map((x) => x.rule), ['DV001']);
  assert.equal(f[0]!.fixes, undefined);
  // a whole pickled module: weights_only=True would refuse it, so no fix
  for (const code of [`${HEADER}\nmodel = torch.load("model.pth")\n`, `${HEADER}\ntorch.save(net, "n.pth")\nm2 = torch.load("n.pth")\n`]) {
    const g = lint(code, { select: ['DV001'] });
    assert.deepEqual(g.map((x) => x.rule), ['DV001']);
    assert.equal(g[0]!.fixes, undefined, code);
  }
  assert.ok(lint(`${HEADER}\ntorch.save(net.state_dict(), "n.pth")\nstate = torch.load("n.pth")\n`, { select: ['DV001'] })[0]!.fixes);
});

test('DV002: torch.load without map_location in a file with a CPU fallback; fix uses the device variable', () => {
  const code = `${HEADER}\n${FALLBACK}model.load_state_dict(torch.load("ckpt.pt", weights_only=True))\n`;
  assert.deepEqual(ids(code), ['DV002']);
  const fixed = fix(code, 'DV002');
  assert.match(fixed, /torch\.load\("ckpt\.pt", weights_only=True, map_location=device\)/);
  assert.deepEqual(ids(fixed), []);
  // no `device` name: map to the CPU
  const noName = `${HEADER}\nuse_cuda = torch.cuda.is_available()\nstate = torch.load(path, weights_only=True)\n`;
  assert.match(fix(noName, 'DV002'), /map_location="cpu"/);
  assert.deepEqual(ids(fix(noName, 'DV002')), []);
  const param = `${HEADER}\nuse_cuda = torch.cuda.is_available()\ndef restore(model, path, device):\n    model.load_state_dict(torch.load(path, weights_only=True))\n`;
  assert.match(fix(param, 'DV002'), /map_location=device\)/);
});

test('DV002: negatives: map_location given, no CPU fallback in the file, loads under `if torch.cuda.is_available():`', () => {
  assert.deepEqual(ids(`${HEADER}\n${FALLBACK}state = torch.load(path, map_location=device, weights_only=True)\n`), []);
  assert.deepEqual(ids(`${HEADER}\nstate = torch.load(path, weights_only=True)\n`), []);
  assert.deepEqual(ids(`${HEADER}\nmodel = Net().cuda()\nstate = torch.load(path, weights_only=True)\n`, 'DV002'), []);
  const guarded = `${HEADER}\nif torch.cuda.is_available():\n    state = torch.load(path, weights_only=True)\nelse:\n    state = torch.load(path, map_location="cpu", weights_only=True)\n`;
  assert.deepEqual(ids(guarded), []);
  // in-memory round trips: same process, same devices
  assert.deepEqual(ids(`${HEADER}\nimport io\n${FALLBACK}buf = io.BytesIO()\ntorch.save(model.state_dict(), buf)\nbuf.seek(0)\nstate = torch.load(buf, weights_only=True)\n`), []);
  assert.deepEqual(ids(`${HEADER}\n${FALLBACK}torch.save(model.state_dict(), "tmp.pt")\nstate = torch.load("tmp.pt", weights_only=True)\n`), []);
  // positional map_location
  assert.deepEqual(ids(`${HEADER}\n${FALLBACK}state = torch.load(path, device, weights_only=True)\n`), []);
});

test('DV003: hard-coded CUDA without an availability check, once per file; fix adds a CPU fallback', () => {
  const code = `${HEADER}\ndevice = torch.device("cuda")\nmodel = Net().to(device)\nx = x.cuda()\n`;
  const f = lint(code);
  assert.deepEqual(f.map((x) => x.rule), ['DV003']);
  assert.equal(f[0]!.range.start.line, 5);
  const fixed = fix(code, 'DV003');
  assert.match(fixed, /torch\.device\("cuda" if torch\.cuda\.is_available\(\) else "cpu"\)/);
  assert.deepEqual(ids(fixed), []);
  assert.deepEqual(ids(`${HEADER}\nmodel = Net()\nmodel.cuda()\n`), ['DV003']);
  const str = `${HEADER}\ndevice = 'cuda:0'\nmodel.to(device)\n`;
  assert.deepEqual(ids(str), ['DV003']);
  assert.match(fix(str, 'DV003'), /device = 'cuda:0' if torch\.cuda\.is_available\(\) else 'cpu'/);
  const to = `${HEADER}\nx = batch.to("cuda")\n`;
  assert.deepEqual(ids(fix(to, 'DV003')), []);
  // .cuda() has no safe local fix
  assert.equal(lint(`${HEADER}\nmodel = Net().cuda()\n`)[0]!.fixes, undefined);
});

test('DV003: look-alikes: availability check, "cpu" fallback, flags, distributed scripts, torch.cuda.* APIs', () => {
  assert.deepEqual(ids(`${HEADER}\n${FALLBACK}model = Net().to(device)\n`), []);
  assert.deepEqual(ids(`${HEADER}\nif torch.cuda.is_available():\n    model.cuda()\n`), []);
  assert.deepEqual(ids(`${HEADER}\ndevice = "cuda" if args.gpu else "cpu"\nmodel.to(device)\n`), []);
  assert.deepEqual(ids(`${HEADER}\nif args.cuda:\n    model.cuda()\n    x = x.cuda()\n`), []);
  assert.deepEqual(ids(`${HEADER}\nx = x.cuda() if use_gpu else x\n`), []);
  const ddp = `${HEADER}\nimport torch.distributed as dist\nimport os\ndist.init_process_group("nccl")\nlocal_rank = int(os.environ["LOCAL_RANK"])\ntorch.cuda.set_device(local_rank)\nmodel = Net().cuda(local_rank)\n`;
  assert.deepEqual(ids(ddp), []);
  assert.deepEqual(ids(`${HEADER}\ntorch.cuda.synchronize()\nprint(torch.cuda.memory_allocated())\n`), []);
  assert.deepEqual(ids(`${HEADER}\nname = "cuda"\n`), []);
  // a device index chosen at run time, an annotated config default
  assert.deepEqual(ids(`${HEADER}\nmodel = Net().cuda(args.gpu)\n`), []);
  assert.deepEqual(ids(`${HEADER}\nclass Config:\n    device: str = "cuda"\n`), []);
  assert.deepEqual(ids(`${HEADER}\nmodel = Net().cuda(0)\n`), ['DV003']);
});

test('DV004: optimizer built before the model moves to the GPU', () => {
  const code = `${HEADER}\n${FALLBACK}model = Net()\noptimizer = torch.optim.Adam(model.parameters(), lr=1e-3)\nmodel = model.to(device)\n`;
  assert.deepEqual(ids(code), ['DV004']);
  assert.deepEqual(ids(`${HEADER}\nmodel = Net()\nopt = torch.optim.SGD(filter(lambda p: p.requires_grad, model.parameters()), lr=0.1)\nmodel.cuda()\n`, 'DV004'), ['DV004']);
  const inFn = `${HEADER}\ndef main():\n    ${FALLBACK}    net = Net()\n    opt = torch.optim.SGD(net.parameters(), lr=0.1)\n    net.to(device)\n`;
  assert.deepEqual(ids(inFn), ['DV004']);
});

test('DV004: look-alikes: moved first, moved in the constructor chain, moved to the CPU after training, parameters', () => {
  assert.deepEqual(ids(`${HEADER}\n${FALLBACK}model = Net().to(device)\noptimizer = torch.optim.Adam(model.parameters(), lr=1e-3)\n`), []);
  assert.deepEqual(ids(`${HEADER}\n${FALLBACK}model = Net()\nmodel.to(device)\noptimizer = torch.optim.Adam(model.parameters(), lr=1e-3)\nmodel.to(device)\n`), []);
  assert.deepEqual(ids(`${HEADER}\nmodel = Net()\noptimizer = torch.optim.Adam(model.parameters(), lr=1e-3)\nmodel.to("cpu")\n`), []);
  const afterTraining = `${HEADER}\n${FALLBACK}model = Net()\nopt = torch.optim.SGD(model.parameters(), lr=0.1)\nfor x, y in train_loader:\n    opt.zero_grad()\n    F.mse_loss(model(x), y).backward()\n    opt.step()\nmodel.to(device)\n`;
  assert.deepEqual(ids(afterTraining, 'DV004'), []);
  assert.deepEqual(ids(`${HEADER}\ndef build(model, device):\n    opt = torch.optim.SGD(model.parameters(), lr=0.1)\n    model.to(device)\n    return opt\n`), []);
  assert.deepEqual(ids(`${HEADER}\nmodel = Net()\nopt = torch.optim.SGD(model.parameters(), lr=0.1)\nmodel.to(torch.float64)\n`), []);
  assert.deepEqual(ids(`${HEADER}\n${FALLBACK}model = Net()\nopt = torch.optim.SGD(model.parameters(), lr=0.1)\nother.to(device)\n`), []);
});

test('DV005: torch.save of a whole module; fix saves the state_dict', () => {
  const code = `${HEADER}\nmodel = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))\ntorch.save(model, "model.pt")\n`;
  assert.deepEqual(ids(code), ['DV005']);
  const fixed = fix(code, 'DV005');
  assert.match(fixed, /torch\.save\(model\.state_dict\(\), "model\.pt"\)/);
  assert.deepEqual(ids(fixed), []);
  const cls = `${HEADER}\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.fc = nn.Linear(4, 2)\n\n    def forward(self, x):\n        return self.fc(x)\n\nnet = Net()\ntorch.save(net, "net.pt")\n`;
  assert.deepEqual(ids(cls), ['DV005']);
  assert.deepEqual(ids(`${HEADER}\ndef save(model, path):\n    torch.save(model, path)\n`), ['DV005']);
  assert.deepEqual(ids(`${HEADER}\nclass T:\n    def save(self):\n        torch.save(self.model, "m.pt")\n`), ['DV005']);
  assert.deepEqual(ids(`${HEADER}\nimport torchvision\nresnet = torchvision.models.resnet18()\ntorch.save(resnet, "r.pt")\n`), ['DV005']);
  assert.deepEqual(ids(`${HEADER}\nmodel = build_model(cfg)\ntorch.save(model, "m.pt")\n`), ['DV005']);
});

test('DV005: look-alikes: state_dict, checkpoint dicts, tensors, scripted modules', () => {
  assert.deepEqual(ids(`${HEADER}\ntorch.save(model.state_dict(), "m.pt")\n`), []);
  assert.deepEqual(ids(`${HEADER}\ntorch.save({"model": model.state_dict(), "epoch": epoch}, "ckpt.pt")\n`), []);
  assert.deepEqual(ids(`${HEADER}\ncheckpoint = {"model": model.state_dict()}\ntorch.save(checkpoint, path)\n`), []);
  assert.deepEqual(ids(`${HEADER}\nstate = model.state_dict()\ntorch.save(state, path)\n`), []);
  assert.deepEqual(ids(`${HEADER}\ntorch.save(embeddings, "emb.pt")\ntorch.save(x, "x.pt")\n`), []);
  assert.deepEqual(ids(`${HEADER}\nmodel = torch.jit.script(net)\ntorch.save(model, "m.pt")\n`), []);
  assert.deepEqual(ids(`${HEADER}\nmodel_state = net.state_dict()\ntorch.save(model_state, "m.pt")\n`), []);
  assert.deepEqual(ids(`${HEADER}\nmodel = torch.compile(net)\ntorch.save(model, "m.pt")\n`), []);
  assert.deepEqual(ids(`${HEADER}\nmodel = copy.deepcopy(net.state_dict())\ntorch.save(model, "m.pt")\n`), []);
});

// ---- DV006 ----
test('DV006: load_state_dict(strict=False) with the result ignored is a warning; a checked result or strict loading is fine', () => {
  const ckpt = 'torch.load("ckpt.pt", weights_only=True, map_location="cpu")';
  const f = lint(`${HEADER}model.load_state_dict(${ckpt}, strict=False)\n`);
  assert.deepEqual(f.map((x) => `${x.rule}:${x.severity}`), ['DV006:warning']);
  assert.deepEqual(ids(`${HEADER}net.module.load_state_dict(${ckpt}["model"], False)\n`, 'DV006'), ['DV006']);
  assert.deepEqual(ids(`${HEADER}missing, unexpected = model.load_state_dict(${ckpt}, strict=False)\nprint(missing)\n`, 'DV006'), []);
  assert.deepEqual(ids(`${HEADER}model.load_state_dict(${ckpt})\nmodel.load_state_dict(${ckpt}, strict=True)\n`, 'DV006'), []);
  assert.deepEqual(ids(`${HEADER}print(model.load_state_dict(${ckpt}, strict=False))\n`, 'DV006'), []);
});

// ---- DV007 ----
test('DV007: a batch tensor moved with .to()/.cuda() without assignment is an error; the fix assigns it', () => {
  const code = `${HEADER}device = torch.device("cuda" if torch.cuda.is_available() else "cpu")\nfor images, labels in train_loader:\n    images.to(device)\n    labels = labels.to(device)\n    out = model(images)\n`;
  const f = lint(code, { select: ['DV007'] });
  assert.deepEqual(f.map((x) => `${x.rule}:${x.severity}:${x.range.start.line}`), ['DV007:error:6']);
  const fixed = fix(code, 'DV007');
  assert.match(fixed, /^ {4}images = images\.to\(device\)$/m);
  assert.deepEqual(ids(fixed, 'DV007'), []);
  assert.deepEqual(ids(`${HEADER}for batch in loader:\n    x, y = batch\n    batch.cuda()\n`, 'DV007'), ['DV007']);
  assert.deepEqual(ids(`${HEADER}x = torch.randn(8, 4)\nx.to("cuda")\n`, 'DV007'), ['DV007']);
});

test('DV007: models move in place, assigned moves, unknown objects and loops over other things: fine', () => {
  assert.deepEqual(ids(`${HEADER}model = Net()\nmodel.to(device)\nnet.cuda()\n`, 'DV007'), []);
  assert.deepEqual(ids(`${HEADER}for x, y in loader:\n    x = x.to(device)\n    y, z = y.cuda(), 1\n`, 'DV007'), []);
  assert.deepEqual(ids(`${HEADER}for m in models:\n    m.to(device)\n`, 'DV007'), []);
  assert.deepEqual(ids(`${HEADER}def prepare(t):\n    t.to(device)\n`, 'DV007'), []);
});
