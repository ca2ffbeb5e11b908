// Precision on held-out public code (session 11, sweep 4): shapes of correct code that HP001, RP001, DV002, DV003 and
// API004 misread. An optimizer over an input image is not training weights; a checkpoint saved and loaded by the same
// code is a round trip; kernels and collectives need CUDA by design; code written for older versions is guarded.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, ids, useParser } from './lint/helpers';

useParser();

// --- HP001 / RP001: gradient ascent on an input image --------------------------------------------------------------

const visualise = (params: string, setup: string, lr = '12') => `${HEADER}from torch.optim import SGD
import torchvision

class Dreamer:
    def __init__(self, model):
        self.model = model
        self.image = None

    def dream(self, picture):
${setup}
        optimizer = SGD(${params}, lr=${lr}, weight_decay=1e-4)
        for i in range(1, 200):
            optimizer.zero_grad()
            loss = -self.model(self.image).mean()
            loss.backward()
            optimizer.step()

if __name__ == "__main__":
    net = torchvision.models.vgg16(weights="DEFAULT").features
    Dreamer(net).dream(torch.rand(1, 3, 224, 224))
`;

test('HP001: an optimizer over a list of input tensors (deep dream, inversion) is not checked', () => {
  assert.deepEqual(ids(visualise('[self.image]', '        self.image = prepare(picture)'), 'HP001'), []);
  const opt = `        opt_img = torch.randn(1, 3, 64, 64).requires_grad_()\n        self.image = opt_img`;
  assert.deepEqual(ids(visualise('[opt_img]', opt, '1e4'), 'HP001'), []);
  const variable = `        from torch.autograd import Variable\n        img = Variable(1e-1 * torch.randn(1, 3, 64, 64), requires_grad=True)\n        self.image = img\n        params = [img]`;
  assert.deepEqual(ids(visualise('params', variable), 'HP001'), []);
});

test('HP001: weights in the list (parameters, groups, nn.Parameter, a splat) are still checked', () => {
  const setup = '        self.image = picture';
  assert.deepEqual(ids(visualise('self.model.parameters()', setup), 'HP001'), ['HP001']);
  assert.deepEqual(ids(visualise('[{"params": self.model.parameters()}]', setup), 'HP001'), ['HP001']);
  assert.deepEqual(ids(visualise('[*self.model.parameters()]', setup), 'HP001'), ['HP001']);
  const param = '        self.scale = nn.Parameter(torch.ones(1))\n        self.image = picture';
  assert.deepEqual(ids(visualise('[self.scale]', param), 'HP001'), ['HP001']);
  const named = '        w = nn.Parameter(torch.zeros(3))\n        self.image = picture';
  assert.deepEqual(ids(visualise('[w]', named), 'HP001'), ['HP001']);
  // A name the scopes cannot follow (a function parameter) may hold weights.
  assert.deepEqual(ids(visualise('[picture]', setup), 'HP001'), ['HP001']);
});

const script = (params: string, setup: string) => `${HEADER}from torch.optim import Adam
import torchvision

model = torchvision.models.vgg16(weights="DEFAULT").features
${setup}
optimizer = Adam(${params}, lr=0.01)
for i in range(1, 31):
    optimizer.zero_grad()
    loss = -model(image).mean()
    loss.backward()
    optimizer.step()
`;

test('RP001: an optimizer over an input image is not a training script', () => {
  assert.deepEqual(ids(script('[image]', 'image = torch.rand(1, 3, 224, 224, requires_grad=True)'), 'RP001'), []);
  assert.deepEqual(ids(script('(image,)', 'image = load_picture("cat.jpg").requires_grad_()'), 'RP001'), []);
});

test('RP001: an optimizer over the model weights is still training', () => {
  assert.deepEqual(ids(script('model.parameters()', 'image = torch.rand(1, 3, 224, 224)'), 'RP001'), ['RP001']);
  assert.deepEqual(ids(script('[{"params": model.parameters()}]', 'image = torch.rand(1, 3, 224, 224)'), 'RP001'), ['RP001']);
});

// --- DV002: saved and loaded by the same code ----------------------------------------------------------------------

const finder = (save: string, load: string, prefix = '') => `${HEADER}${prefix}device = torch.device("cuda" if torch.cuda.is_available() else "cpu")

class LRFinder:
    def __init__(self, model):
        self.model = model
        torch.save(model.state_dict(), ${save})

    def range_test(self, loader):
        for x, y in loader:
            pass
        self.model.load_state_dict(torch.load(${load}))
`;

test('DV002: a fixed path the file itself saves to is a round trip, wherever the two calls are', () => {
  assert.deepEqual(ids(finder("'init_params.pt'", "'init_params.pt'"), 'DV002'), []);
  assert.deepEqual(ids(finder('INIT', 'INIT', 'INIT = "init_params.pt"\n'), 'DV002'), []);
});

test('DV002: a different path, or a path that varies, is still reported', () => {
  assert.deepEqual(ids(finder("'init_params.pt'", "'pretrained.pt'"), 'DV002'), ['DV002']);
  assert.deepEqual(ids(finder("f'ckpt_{self.model}.pt'", "f'ckpt_{self.model}.pt'"), 'DV002'), ['DV002']);
  // The name is a parameter of each method: not one fixed file.
  const param = finder('path', 'path').replace('def __init__(self, model)', 'def __init__(self, model, path)').replace('def range_test(self, loader)', 'def range_test(self, loader, path)');
  assert.deepEqual(ids(param, 'DV002'), ['DV002']);
});

// --- DV003: CUDA by design --------------------------------------------------------------------------------------------

test('DV003: a function that feeds a torch.distributed collective needs CUDA tensors', () => {
  const shuffle = `${HEADER}import torch.distributed as dist

def shuffle_batch(x):
    order = torch.randperm(x.shape[0] * dist.get_world_size()).cuda()
    dist.broadcast(order, src=0)
    return order
`;
  assert.deepEqual(ids(shuffle, 'DV003'), []);
  // The collective in another function does not excuse this one.
  const other = `${shuffle}
def predict(model, x):
    return model.cuda()(x)
`;
  assert.deepEqual(ids(other, 'DV003'), ['DV003']);
  // get_rank / get_world_size alone are not collectives.
  assert.deepEqual(ids(shuffle.replace('    dist.broadcast(order, src=0)\n', ''), 'DV003'), ['DV003']);
});

const kernelTest = (imports: string, call: string) => `import torch
from torch.autograd import Function
${imports}

class MySigmoid(Function):
    @staticmethod
    def forward(ctx, x):
        fx = ${call}
        ctx.save_for_backward(fx)
        return fx

def main():
    x = torch.randn(4).cuda().requires_grad_()
    MySigmoid.apply(x).sum().backward()
`;

test('DV003: a file that builds or tests GPU kernels needs CUDA by design', () => {
  assert.deepEqual(ids(kernelTest('import sigmoid_ext', 'sigmoid_ext.forward(x)'), 'DV003'), []);
  assert.deepEqual(ids(kernelTest('from torch.utils.cpp_extension import load\next = load("ext", ["ext.cu"])', 'ext.forward(x)'), 'DV003'), []);
  assert.deepEqual(ids(kernelTest('import triton', 'torch.sigmoid(x)'), 'DV003'), []);
  assert.deepEqual(ids(kernelTest('import cupy as cp', 'torch.sigmoid(x)'), 'DV003'), []);
});

test('DV003: an autograd Function in plain torch or numpy is not a kernel', () => {
  assert.deepEqual(ids(kernelTest('', 'torch.sigmoid(x)'), 'DV003'), ['DV003']);
  assert.deepEqual(ids(kernelTest('import numpy as np', 'torch.from_numpy(np.tanh(x.numpy()))'), 'DV003'), ['DV003']);
  assert.deepEqual(ids(kernelTest('', 'x.sigmoid()'), 'DV003'), ['DV003']);
});

// --- API004: code written for older versions --------------------------------------------------------------------------

const tv = `import torch\nfrom torchvision.models import resnet50\n`;

test('API004: a deprecated call in a branch that tests the version is not reported', () => {
  const flag = `${tv}_TORCHVISION_LESS_THAN_0_13 = False\nif _TORCHVISION_LESS_THAN_0_13:\n    m = resnet50(pretrained=True)\nelse:\n    m = resnet50(weights="DEFAULT")\n`;
  assert.deepEqual(ids(flag, 'API004'), []);
  const parsed = `${tv}from packaging import version\ndef build():\n    if version.parse(torch.__version__) < version.parse("1.10"):\n        return torch.cuda.amp.GradScaler()\n    return torch.amp.GradScaler("cuda")\n`;
  assert.deepEqual(ids(parsed, 'API004'), []);
  const feature = `${tv}if hasattr(torch, "amp"):\n    s = torch.amp.GradScaler("cuda")\nelse:\n    s = torch.cuda.amp.GradScaler()\n`;
  assert.deepEqual(ids(feature, 'API004'), []);
  const ternary = `${tv}s = torch.amp.GradScaler("cuda") if hasattr(torch, "amp") else torch.cuda.amp.GradScaler()\n`;
  assert.deepEqual(ids(ternary, 'API004'), []);
});

test('API004: an except handler whose try uses the replacement is a fallback', () => {
  const fallback = `${tv}def make():\n    try:\n        return torch.amp.GradScaler(device="cuda")\n    except (AttributeError, TypeError):\n        return torch.cuda.amp.GradScaler()\n`;
  assert.deepEqual(ids(fallback, 'API004'), []);
  const weights = `${tv}try:\n    m = resnet50(weights="DEFAULT")\nexcept TypeError:\n    m = resnet50(pretrained=True)\n`;
  assert.deepEqual(ids(weights, 'API004'), []);
});

test('API004: other branches and handlers are still reported', () => {
  // The true branch of a feature test is the new-API path: a deprecated call there is real.
  const feature = `${tv}if hasattr(torch, "amp"):\n    s = torch.cuda.amp.GradScaler()\n`;
  assert.deepEqual(ids(feature, 'API004'), ['API004']);
  // A branch about something else.
  const other = `${tv}if torch.cuda.is_available():\n    m = resnet50(pretrained=True)\n`;
  assert.deepEqual(ids(other, 'API004'), ['API004']);
  // A try that does not use the replacement; a handler for another error.
  const unrelated = `${tv}try:\n    s = load_scaler()\nexcept AttributeError:\n    s = torch.cuda.amp.GradScaler()\n`;
  assert.deepEqual(ids(unrelated, 'API004'), ['API004']);
  const io = `${tv}try:\n    s = torch.amp.GradScaler("cuda")\nexcept OSError:\n    s = torch.cuda.amp.GradScaler()\n`;
  assert.deepEqual(ids(io, 'API004'), ['API004']);
  // The deprecated call in the try body itself.
  const inTry = `${tv}try:\n    s = torch.cuda.amp.GradScaler()\nexcept AttributeError:\n    s = torch.amp.GradScaler("cuda")\n`;
  assert.deepEqual(ids(inTry, 'API004'), ['API004']);
});
