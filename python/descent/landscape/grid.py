"""Evaluates the loss (and accuracy) at many points theta + a*d1 + b*d2 of a plane through weight space.

K points per pass: ``torch.vmap`` over K stacked perturbed copies of the perturbed tensors, through
``torch.func.functional_call``, so one pass of the data serves K points and the model's own tensors are never
modified. The data is streamed in batches (sums of the loss and of the correct predictions accumulated over batches,
each batch's mean loss weighted by its size, as the scaffold's evaluate() does). The model is in eval mode: dropout
off, batch norm on its running statistics. Models that vmap cannot batch (e.g. nn.LSTM) are evaluated one point at a
time, still without touching the model (``vmap`` False, with the reason).
"""

import copy
import time

import torch
from torch.func import functional_call


class Objective:
    """What is measured: ``loss_fn(outputs, targets)`` (the batch's mean loss) and, for classifiers, accuracy."""

    def __init__(self, loss_fn, classify):
        self.loss_fn = loss_fn
        self.classify = classify


def _available_cpu_bytes():
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 4 << 30


def _activation_bytes(model, x):
    """Bytes of every module output for one forward pass of batch x (an estimate of what one point needs)."""
    total = [0]

    def hook(_module, _inputs, output):
        for t in output if isinstance(output, (tuple, list)) else (output,):
            if torch.is_tensor(t):
                total[0] += t.numel() * t.element_size()

    handles = [m.register_forward_hook(hook) for m in model.modules() if not list(m.children())]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
    return total[0]


class GridEvaluator:
    """Loss and accuracy at points of the plane base + a*d1 (+ b*d2).

    base: {name: tensor} of the perturbed tensors (parameters; for interpolation also floating-point buffers);
    directions: [d1] or [d1, d2], dicts with the same keys. Everything else the model holds stays as it is.
    batches: list of (inputs, targets) on the device; inputs already in the evaluation dtype.
    """

    def __init__(self, model, objective, batches, base, directions, dtype=torch.float32, points_per_pass=None, use_vmap=True):
        self.model = model.eval()
        self.objective = objective
        self.batches = batches
        self.dtype = dtype
        self.names = list(base)
        self.base = {n: base[n].float() for n in self.names}
        self.directions = [{n: d[n].float() for n in self.names} for d in directions]
        perturbed = set(self.names)
        state = dict(model.named_parameters())
        state.update(dict(model.named_buffers()))
        self.fixed = {n: t.detach() for n, t in state.items() if n not in perturbed}
        for n, t in self.fixed.items():
            if t.is_floating_point():
                self.fixed[n] = t.to(dtype)
        # One point at a time (K=1, and models vmap cannot batch): the perturbed values are copied into a private
        # copy of the model, as the reference loop does; cheaper than functional_call's re-parametrisation per call,
        # and the user's model is never modified.
        self._private = copy.deepcopy(model).eval()
        if dtype != torch.float32:
            self._private.to(dtype)
        own = dict(self._private.named_parameters())
        own.update(dict(self._private.named_buffers()))
        self._slots = [(n, own[n]) for n in self.names]
        self.count = sum(len(x) for x, _ in batches)
        self.vmap = use_vmap
        self.vmap_reason = None if use_vmap else "disabled"
        self._batched = torch.vmap(self._point, in_dims=(0, None, None))
        self.points_per_pass = 1
        self._candidates, self._rates = [], {}
        self._choose_points_per_pass(points_per_pass)

    # ---- one point, and K points at once ----

    def _point(self, perturbed, x, y):
        out = functional_call(self.model, {**self.fixed, **perturbed}, (x,))
        return self._measure(out, y)

    def _measure(self, out, y):
        if isinstance(out, (tuple, list)):
            out = out[0]
        out = out.float()
        loss = self.objective.loss_fn(out, y)
        if self.objective.classify:
            correct = (out.argmax(dim=-1) == y).sum().float()
        else:
            correct = torch.zeros((), device=out.device)
        return loss.float(), correct

    def _single(self, perturbed, x, y):
        with torch.no_grad():
            for n, slot in self._slots:
                slot.copy_(perturbed[n])
            out = self._private(x)
        return self._measure(out, y)

    def _stack(self, coords):
        """The perturbed tensors of K points, shape [K, *tensor shape], in the evaluation dtype."""
        k = coords.shape[0]
        out = {}
        for n in self.names:
            shape = (k,) + (1,) * self.base[n].dim()
            t = self.base[n].unsqueeze(0) + coords[:, 0].reshape(shape) * self.directions[0][n].unsqueeze(0)
            if len(self.directions) > 1:
                t = t + coords[:, 1].reshape(shape) * self.directions[1][n].unsqueeze(0)
            out[n] = t.to(self.dtype)
        return out

    def _pass(self, coords, batches):
        """Sums of loss*count and of correct predictions over `batches` for the K points of `coords`."""
        k = coords.shape[0]
        device = coords.device
        loss_sum = torch.zeros(k, dtype=torch.float64, device=device)
        correct_sum = torch.zeros(k, dtype=torch.float64, device=device)
        with torch.no_grad():
            stacked = self._stack(coords)
            for x, y in batches:
                if self.vmap and k > 1:
                    loss, correct = self._batched(stacked, x, y)
                else:
                    results = [self._single({n: t[i] for n, t in stacked.items()}, x, y) for i in range(k)]
                    loss = torch.stack([r[0] for r in results])
                    correct = torch.stack([r[1] for r in results])
                loss_sum += loss.double() * len(x)
                correct_sum += correct.double()
        return loss_sum, correct_sum

    def evaluate(self, coords):
        """coords: tensor [n, 1 or 2] of (a, b). Returns (losses, accuracies or None), lists of floats.

        While K is still being chosen, each pass uses the next candidate K on real grid points and is timed; after
        the last candidate (or one clearly slower than the best) K stays at the fastest measured."""
        coords = coords.to(device=self.base[self.names[0]].device, dtype=torch.float32)
        losses, accs = [], []
        start = 0
        while start < coords.shape[0]:
            k = self.points_per_pass
            part = coords[start:start + k]
            t0 = time.perf_counter()
            loss_sum, correct_sum = self._pass(part, self.batches)
            part_losses = (loss_sum / self.count).tolist()  # .tolist() waits for the device
            if len(part) == k:
                self._record(k, time.perf_counter() - t0)
            losses += part_losses
            accs += (correct_sum / self.count).tolist()
            start += len(part)
        return losses, (accs if self.objective.classify else None)

    def _record(self, k, seconds):
        if not self._candidates or self._candidates[0] != k:
            return
        self._candidates.pop(0)
        self._rates[k] = k / max(seconds, 1e-9)
        best = max(self._rates, key=self._rates.get)
        if not self._candidates or self._rates[k] < 0.8 * self._rates[best]:
            self._candidates = []
            self.points_per_pass = best
        else:
            self.points_per_pass = self._candidates[0]

    # ---- how many points per pass ----

    def _choose_points_per_pass(self, requested):
        """K from memory (each point holds its perturbed tensors and its activations), then, unless the user gave
        --points-per-pass, the fastest of a few candidates measured on the grid itself (on a CPU, batching many
        points is not always faster than fewer: it depends on the model's shapes)."""
        x0, y0 = self.batches[0]
        param_bytes = sum(t.numel() for t in self.base.values()) * torch.tensor([], dtype=self.dtype).element_size()
        try:
            act_bytes = _activation_bytes(self.model, x0.float() if x0.is_floating_point() else x0)
        except Exception:  # a model whose plain forward fails here fails below with a clearer message
            act_bytes = 0
        per_point = 3 * (param_bytes + 2 * act_bytes) + 1
        device = x0.device
        if device.type == "cuda":
            budget = int(torch.cuda.mem_get_info(device)[0] * 0.5)
        else:
            budget = min(2 << 30, _available_cpu_bytes() // 4)
        k_max = max(1, min(budget // per_point, 256))
        if requested:
            k_max = min(k_max, requested)
        if self.vmap:
            try:
                self._pass(torch.zeros(min(2, k_max), len(self.directions), device=device), [(x0[:64], y0[:64])])
            except Exception as error:  # no batching rule for an operator, data-dependent control flow, ...
                self.vmap = False
                self.vmap_reason = f"{type(error).__name__}: {str(error).splitlines()[0][:300]}"
        if not self.vmap:
            self.points_per_pass = 1 if not requested else min(requested, k_max)
            return
        if requested or k_max == 1:
            self.points_per_pass = k_max
            return
        # The search for K runs on the grid itself (see evaluate): no work is thrown away, and each timing is a
        # whole pass over the data, long enough to be measured on a busy machine. Smallest K first, so a model for
        # which batching does not pay (vmap turns stacked conv weights into grouped convolutions, slow on CPUs)
        # stops after two passes. A warm-up pass of one point first, so K=1 is not charged with start-up costs.
        self._pass(torch.zeros(1, len(self.directions), device=device), [(x0[:64], y0[:64])])
        self._candidates = sorted({k for k in (1, 4, 16, 64, k_max) if k <= k_max})
        self.points_per_pass = self._candidates[0]
