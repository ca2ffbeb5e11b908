"""The first layer's output computed once per data batch for the whole grid (exact, not an approximation).

The first parameterised layer sees the same input at every grid point and is linear in its weights, so at the point
w + a*d1 + b*d2

    layer(x; W + a*D1 + b*D2, c + a*e1 + b*e2) = layer(x; W, c) + a*layer(x; D1, e1) + b*layer(x; D2, e2)

for nn.Linear and nn.Conv1d/2d. Three outputs per batch (base, P1, P2) are kept, and each point's first-layer output
is base + a*P1 + b*P2 (elementwise); only the rest of the network runs per point. The layer is found by a traced
forward with hooks: the first leaf module with parameters to be called must receive the model's input tensor itself,
be exactly one of those types, be called once, and own its parameters alone. Anything else (an Embedding, a
normalisation of the input in forward, shared weights) keeps the plain path, with the reason recorded.
"""

import copy

import torch
import torch.nn as nn
from torch.func import functional_call

from .narrow import NarrowLinear

LINEAR_IN_WEIGHTS = (nn.Linear, NarrowLinear, nn.Conv1d, nn.Conv2d)  # NarrowLinear: the private copies' (narrow.py)


class Precomputed(nn.Module):
    """Stands in for the first layer in the engine's private copy: returns the value set for the current point."""

    def __init__(self):
        super().__init__()
        self.value = None

    def forward(self, *_args, **_kwargs):
        return self.value

    def put(self, value):
        """Sets value without nn.Module.__setattr__'s checks (they cost more than a small layer, twice a batch)."""
        self.__dict__["value"] = value


def run_with_hooks(model, x, handles):
    """One forward pass of x without gradients, then the hooks behind `handles` removed (also when it fails)."""
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()


def find(model, x):
    """(name, module, None) of the first layer that can be shared, or (None, None, reason)."""
    leaves = [(n, m) for n, m in model.named_modules() if not list(m.children()) and list(m.parameters(recurse=False))]
    calls = []

    def hook_for(name):
        def hook(module, args, kwargs):
            calls.append((name, module, bool(args) and args[0] is x and not kwargs))
        return hook

    run_with_hooks(model, x, [m.register_forward_pre_hook(hook_for(n), with_kwargs=True) for n, m in leaves])
    if not calls:
        return None, None, "no module with parameters is called in forward"
    name, module, takes_input = calls[0]
    if type(module) not in LINEAR_IN_WEIGHTS:
        return None, None, f"the first layer with parameters ({name}: {type(module).__name__}) is not Linear/Conv1d/Conv2d"
    if not takes_input:
        return None, None, f"the first layer ({name}) does not receive the model's input tensor itself"
    if sum(1 for _, m, _ in calls if m is module) > 1:
        return None, None, f"the first layer ({name}) is called more than once"
    own = {id(p) for p in module.parameters(recurse=False)}
    for other, p in model.named_parameters(remove_duplicate=False):
        if id(p) in own and not other.startswith(name + "."):
            return None, None, f"the first layer's parameters are shared ({other})"
    return name, module, None


def replace_submodule(model, name, new):
    parent, _, leaf = name.rpartition(".")
    setattr(model.get_submodule(parent) if parent else model, leaf, new)


class SharedFirstLayer:
    """The first layer's three outputs per batch, and each point's combination of them."""

    def __init__(self, name, module, base, directions, fixed, dtype):
        self.name = name
        self.prefix = name + "."
        self.dtype = dtype
        self.layer = copy.deepcopy(module).float().eval()
        if type(self.layer) is NarrowLinear:
            self.layer.__class__ = nn.Linear  # its outputs are kept in the usual layout, for the layers that follow
        keys = [k for k, _ in module.named_parameters(recurse=False)]  # "weight", and "bias" when it has one

        def values(source, zero_missing):
            out = {}
            for k in keys:
                full = self.prefix + k
                if full in source:
                    out[k] = source[full].float()
                elif zero_missing:  # not perturbed: no share in the direction
                    out[k] = torch.zeros_like(getattr(module, k), dtype=torch.float32)
                else:
                    out[k] = fixed[full].float()
            return out

        self.weights = [values(base, False)] + [values(d, True) for d in directions]
        self.names = {self.prefix + k for k in keys}
        self._cache_key, self._cache = None, None
        # Conv2d outputs are kept channels-last (NHWC): the rest of the network then runs in that layout, which
        # PyTorch's CPU kernels (oneDNN convolutions, max-pooling) run faster. The evaluator's exactness check
        # falls back to the default layout for a model that needs it (e.g. one that calls .view on a feature map).
        self.channels_last = isinstance(module, nn.Conv2d)

    def outputs(self, batches, keep=False):
        """[(P0, P1[, P2]) per batch], in the evaluation dtype; kept between passes for the evaluator's batches."""
        if self._cache_key is batches:
            return self._cache
        with torch.no_grad():
            result = [tuple(self._layout(functional_call(self.layer, w, (x.float(),)).to(self.dtype)) for w in self.weights) for x, _ in batches]
        if keep:
            self._cache_key, self._cache = batches, result
        return result

    def _layout(self, t):
        return t.contiguous(memory_format=torch.channels_last) if self.channels_last and t.dim() == 4 else t

    def forget(self):
        """Drops the kept outputs (after the layout changed)."""
        self._cache_key, self._cache = None, None

    @staticmethod
    def combine(parts, coords):
        """parts[0] + a*parts[1] (+ b*parts[2]) for a point, coords a [1 or 2] tensor (a batched one under vmap)."""
        out = parts[0] + coords[0] * parts[1]
        if len(parts) > 2:
            out = out + coords[1] * parts[2]
        return out.to(parts[0].dtype)  # float32 coordinates (not rounded to bf16); the network runs in the parts' dtype

    @staticmethod
    def combine_floats(parts, coords, out=None):
        """The same for one point with Python floats, into `out` when it fits (the caller keeps it from point to
        point: a fresh tensor of this size per point costs the CPU more in page faults than the addition itself).
        Returns the tensor written."""
        if out is None or out.shape != parts[0].shape or out.stride() != parts[0].stride() or out.dtype != parts[0].dtype:
            out = torch.empty_like(parts[0])
        torch.add(parts[0], parts[1], alpha=coords[0], out=out)
        if len(parts) > 2:
            out.add_(parts[2], alpha=coords[1])
        return out

    def output_bytes(self, batches):
        x = batches[0][0]
        with torch.no_grad():
            per_sample = functional_call(self.layer, self.weights[0], (x[:1].float(),)).numel()
        return per_sample * sum(len(x) for x, _ in batches) * len(self.weights) * torch.tensor([], dtype=self.dtype).element_size()
