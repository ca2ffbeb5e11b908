"""Evaluates the loss (and accuracy) at many points theta + a*d1 + b*d2 of a plane through weight space.

The points run through a private copy of the model (the user's model is never modified). Where it is exact, the
first layer's outputs are computed once per data batch for the whole grid (first_layer.py: base + a*P1 + b*P2), and
only the rest of the network runs per point. K points per pass: ``torch.vmap`` over K stacked perturbed copies of
the perturbed tensors, through ``torch.func.functional_call``, so one pass of the data serves K points; or one point
at a time, its values written straight into the private copy's tensors (K=1, chosen by timing when batching does not
pay, e.g. CNNs on a CPU, and models vmap cannot batch such as nn.LSTM: ``vmap`` False, with the reason). The data is
streamed in batches (sums of the loss and of the correct predictions accumulated over batches, each batch's mean
loss weighted by its size, as the scaffold's evaluate() does). The model is in eval mode: dropout off, batch norm on
its running statistics.
"""

import copy
import time
from concurrent.futures import ThreadPoolExecutor

import torch
from torch.func import functional_call

from . import first_layer
from .narrow import NarrowLinear, narrow_linears


def plain_cross_entropy(out, y):
    """nn.CrossEntropyLoss() with its defaults, as a function the engine recognises (see Objective)."""
    return torch.nn.functional.cross_entropy(out, y)


class Objective:
    """What is measured: ``loss_fn(outputs, targets)`` (the batch's mean loss) and, for classifiers, accuracy.

    For plain cross-entropy (``plain_cross_entropy``, or an ``nn.CrossEntropyLoss()`` with default options) the
    loss of (batch, classes) outputs is computed as the same function on the transposed view (1, classes, batch):
    the same values (bit for bit here), but the softmax then runs along the long batch dimension, which PyTorch's
    CPU kernels vectorise, instead of along a handful of classes (about 4x faster for 10 classes)."""

    def __init__(self, loss_fn, classify, sample_mean=None):
        self.loss_fn = loss_fn
        self.classify = classify
        self.cross_entropy = loss_fn is plain_cross_entropy or _is_default_cross_entropy(loss_fn)
        # Whether the loss of a batch is the mean of one value per sample: then batches can be joined (see
        # GridEvaluator.batches) without changing the dataset's loss. Known for Descent's own losses and PyTorch's
        # loss modules; a user's function is not assumed to be one unless the caller says so.
        self.sample_mean = _is_sample_mean(loss_fn) if sample_mean is None else sample_mean

    def loss(self, out, y):
        if self.cross_entropy and out.dim() == 2 and y.dim() == 1 and not y.is_floating_point():
            return torch.nn.functional.cross_entropy(out.t().unsqueeze(0), y.unsqueeze(0))
        return self.loss_fn(out, y)


def _is_default_cross_entropy(loss_fn):
    return (type(loss_fn) is torch.nn.CrossEntropyLoss and loss_fn.weight is None and loss_fn.ignore_index == -100
            and loss_fn.reduction == "mean" and loss_fn.label_smoothing == 0.0)


_MEAN_FUNCTIONS = (torch.nn.functional.cross_entropy, torch.nn.functional.mse_loss, torch.nn.functional.l1_loss, torch.nn.functional.binary_cross_entropy_with_logits)


def _is_sample_mean(loss_fn):
    """A loss whose value on a batch is the plain mean over its samples (class weights make it a weighted mean)."""
    if loss_fn is plain_cross_entropy or loss_fn in _MEAN_FUNCTIONS:
        return True
    return (isinstance(loss_fn, torch.nn.modules.loss._Loss) and getattr(loss_fn, "reduction", None) == "mean"
            and getattr(loss_fn, "weight", None) is None and not isinstance(loss_fn, torch.nn.KLDivLoss))


# On a CPU the batches given are joined into chunks of about this many bytes of activations per point: fewer, larger
# passes, whose fixed costs per operation (a few microseconds each) are spread over more samples. Li et al.'s tool
# evaluates batches of 128, where those costs dominate a small model's time.
CPU_CHUNK_BYTES = 64 << 20


def join_batches(batches, per_sample_bytes, chunk_bytes=CPU_CHUNK_BYTES):
    """Adjacent (inputs, targets) batches concatenated while a chunk stays within chunk_bytes of activations (a
    batch already larger is kept whole); only batches whose shapes past the first dimension agree (e.g. not
    sequences padded per batch), and not when a target is -100 (cross-entropy's ignore_index: its mean is then
    over the other samples of each batch)."""
    limit = max(1, chunk_bytes // max(per_sample_bytes, 1))
    joined, run = [], []

    def flush():
        if len(run) == 1:
            joined.append(run[0])
        elif run:
            joined.append((torch.cat([x for x, _ in run]), torch.cat([y for _, y in run])))
        run.clear()

    for x, y in batches:
        fits = run and len(x) + sum(len(a) for a, _ in run) <= limit
        same = run and x.shape[1:] == run[0][0].shape[1:] and y.shape[1:] == run[0][1].shape[1:] and x.dtype == run[0][0].dtype and y.dtype == run[0][1].dtype
        if not (fits and same):
            flush()
        run.append((x, y))
    flush()
    return joined


def _joinable(batches):
    return (len(batches) > 1 and batches[0][0].device.type == "cpu" and all(torch.is_tensor(x) and torch.is_tensor(y) for x, y in batches)
            and not any(not y.is_floating_point() and bool((y == -100).any()) for _, y in batches))


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

    first_layer.run_with_hooks(model, x, [m.register_forward_hook(hook) for m in model.modules() if not list(m.children())])
    return total[0]


class _Copy:
    """A private copy of the model that points run through one at a time: the tensors the points write into, and
    the first layer's combined output. One per thread, so threads never share a tensor they write."""

    def __init__(self, net, first, rest):
        self.net = net
        self.inject = net.get_submodule(first.name) if first else None
        own = dict(net.named_parameters())
        own.update(dict(net.named_buffers()))
        self.slots = [(n, own[n]) for n in rest]
        self.combined = None  # the first layer's output at the current point (a buffer reused between points)
        self.row = None  # (b, P0, P0 + b*P2) of the grid row being evaluated, when the data is one batch (_forward_one)


class GridEvaluator:
    """Loss and accuracy at points of the plane base + a*d1 (+ b*d2).

    base: {name: tensor} of the perturbed tensors (parameters; for interpolation also floating-point buffers);
    directions: [d1] or [d1, d2], dicts with the same keys. Everything else the model holds stays as it is.
    batches: list of (inputs, targets) on the device; inputs already in the evaluation dtype.
    """

    def __init__(self, model, objective, batches, base, directions, dtype=torch.float32, points_per_pass=None, use_vmap=True, share_first_layer=True, workers=None):
        self.model = model.eval()
        self.objective = objective
        self.dtype = dtype
        self.batches = batches
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
        # The grid's points run through a private copy of the model (the user's model is never modified): with the
        # first layer replaced by its precomputed outputs where that is exact (first_layer.py), else whole.
        self.first_layer, self.first_layer_reason, self.first_layer_layout, self._first = None, "disabled", None, None
        self.narrow = self.batches[0][0].device.type == "cpu"  # see narrow.py; checked just below
        self._use_private(self._private_copy(), None)
        if self.narrow:
            self._check_narrow()
        if share_first_layer:
            self._try_share_first_layer()
        self.vmap = use_vmap
        self.vmap_reason = None if use_vmap else "disabled"
        self._batched = torch.vmap(self._point, in_dims=(0, 0, None, None, None))
        self.points_per_pass = 1
        self._candidates, self._rates, self._timing = [], {}, {}
        self._choose_points_per_pass(points_per_pass)
        # One point at a time on a CPU: points run on `workers` threads side by side, each op on one core, rather
        # than one point after another with each op split over the cores. Small models' ops (an MLP's 1,797 x 128
        # matmuls) split poorly; whole points split perfectly (PyTorch releases the GIL inside each op). Kept only
        # if measured faster (see _record_parallel).
        if workers is None:
            workers = min(torch.get_num_threads(), 16) if batches[0][0].device.type == "cpu" else 1
        self.workers = workers
        self.parallel = self.workers > 1 and not (points_per_pass and points_per_pass > 1)  # a K asked for is kept
        self._pool = None

    @property
    def batches(self):
        """The data, as evaluated: on a CPU, with a per-sample mean loss, the batches given joined into chunks of
        up to CPU_CHUNK_BYTES of activations (join_batches); the losses are the same up to float rounding."""
        return self._batches

    @batches.setter
    def batches(self, batches):
        if batches is getattr(self, "_given", None):
            return  # the same data again: the joined chunks (and the first layer's outputs kept for them) stay
        self._given = batches
        batches = list(batches)
        self.count = sum(len(x) for x, _ in batches)
        if self.objective.sample_mean and _joinable(batches):
            x0 = batches[0][0][:64]
            try:
                per_sample = _activation_bytes(self.model, x0.float() if x0.is_floating_point() else x0) // len(x0)
            except Exception:  # a model whose forward fails here fails later with a clearer message
                per_sample = None
            if per_sample is not None:
                batches = join_batches(batches, per_sample)
        self._batches = batches

    def _private_copy(self):
        net = copy.deepcopy(self.model).eval()
        net = net.to(self.dtype) if self.dtype != torch.float32 else net
        if self.narrow:
            narrow_linears(net)
        return net

    def _check_narrow(self):
        """Keeps the narrow layers (narrow.py) only if there are some and the private copy's output at the origin
        equals the model's on a few samples; a model that reshapes their output with .view, or that fails with them,
        keeps the plain layers."""
        x = self.batches[0][0][:16]
        try:
            if not any(isinstance(m, NarrowLinear) for m in self._private.modules()):
                raise ValueError("none")
            with torch.no_grad():
                want = self._first_output(self.model(x.float() if x.is_floating_point() else x)).float()
                got = self._first_output(self._private(x)).float()
            self._require_close(want, got)
        except Exception:
            self.narrow = False
            self._use_private(self._private_copy(), None)

    def _use_private(self, net, first):
        """Points run through `net`; `first` (a SharedFirstLayer or None) supplies its first layer's output."""
        self._private, self._first = net, first
        skip = first.names if first else set()
        self._inject = net.get_submodule(first.name) if first else None
        self._rest = [n for n in self.names if n not in skip]
        self._fixed_rest = {n: t for n, t in self.fixed.items() if n not in skip}
        # One point at a time (K=1, and models vmap cannot batch): the perturbed values are copied into the private
        # copy, as the reference loop does; cheaper than functional_call's re-parametrisation per call.
        self._copies = [_Copy(net, first, self._rest)]

    def _copy(self, i):
        """The private copy of thread i (made on first use: thread 0 uses the first one)."""
        while len(self._copies) <= i:
            net = self._private_copy()
            if self._first is not None:
                first_layer.replace_submodule(net, self._first.name, first_layer.Precomputed())
            self._copies.append(_Copy(net, self._first, self._rest))
        return self._copies[i]

    def _try_share_first_layer(self):
        x0 = self.batches[0][0]
        try:
            name, module, reason = first_layer.find(self._private_copy(), x0[:64])  # in the evaluation dtype
        except Exception as error:  # the plain path fails the same way later, with its own message
            name, module, reason = None, None, f"{type(error).__name__}: {str(error).splitlines()[0][:200]}"
        if name is None:
            self.first_layer_reason = reason
            return
        shared = first_layer.SharedFirstLayer(name, module, self.base, self.directions, self.fixed, self.dtype)
        needed, budget = shared.output_bytes(self.batches), self._memory_budget(x0.device) // 2
        if needed > budget:
            self.first_layer_reason = f"its outputs for the data would take {needed >> 20} MiB (budget {budget >> 20} MiB)"
            return
        net = self._private_copy()
        first_layer.replace_submodule(net, name, first_layer.Precomputed())
        plain = (self._private, self._first)
        self._use_private(net, shared)
        # Exactness check on a few samples at an arbitrary point, against the whole model through functional_call;
        # any model this reasoning does not fit (e.g. one that reads the layer's weights elsewhere) keeps the plain
        # path. Channels-last first (see SharedFirstLayer), then the default layout.
        while True:
            try:
                self._check_shared(shared, x0)
                break
            except Exception as error:
                if shared.channels_last:
                    shared.channels_last = False
                    shared.forget()
                    continue
                self._use_private(*plain)
                self.first_layer_reason = f"{name}: {type(error).__name__}: {str(error).splitlines()[0][:200]}"
                return
        self.first_layer, self.first_layer_reason = name, None
        shared.outputs(self.batches, keep=True)  # now, not in the first timed pass of the search for K
        self.first_layer_layout = "channels_last" if shared.channels_last else "default"

    def _check_shared(self, shared, x0):
        coords = torch.tensor([0.37, -0.61][: len(self.directions)], device=x0.device)
        point = {n: t[0] for n, t in self._stack(coords.unsqueeze(0), self.names).items()}
        x = x0[:16]
        with torch.no_grad():
            want = self._first_output(functional_call(self.model, {**self.fixed, **point}, (x,))).float()
            got = self._first_output(self._forward_one(coords.tolist(), shared.outputs([(x, None)])[0], x)).float()
        self._require_close(want, got)

    def _require_close(self, want, got):
        """Raises unless the private copy's output `got` equals the model's `want` to float32 (or bfloat16) rounding."""
        tolerance = (1e-4 if self.dtype == torch.float32 else 3e-2) * (1 + want.abs().max().item())
        error = (want - got).abs().max().item()
        if not error <= tolerance:
            raise ValueError(f"differs from the whole model by {error:.3g}")

    # ---- one point, and K points at once ----

    @staticmethod
    def _first_output(out):
        return out[0] if isinstance(out, (tuple, list)) else out

    def _point(self, perturbed, coords, parts, x, y):
        if self._inject is not None:
            self._inject.value = first_layer.SharedFirstLayer.combine(parts, coords)
        out = functional_call(self._private, {**self._fixed_rest, **perturbed}, (x,))
        if self._inject is not None:
            self._inject.value = None  # not kept alive between passes
        return self._measure(out, y)

    def _measure(self, out, y):
        out = self._first_output(out).float()
        loss = self.objective.loss(out, y)
        if self.objective.classify:
            correct = (out.argmax(dim=-1) == y).sum().float()
        else:
            correct = torch.zeros((), device=out.device)
        return loss.float(), correct

    def _measure_floats(self, out, y):
        """_measure for one point, as Python floats. Outputs in the (classes, batch) layout, a transposed view (what
        a NarrowLinear last layer returns), are counted along the classes without the argmax of a strided view (7x
        slower): a prediction is correct when the target's score is the column's maximum, which is argmax's answer
        unless a column holds that maximum twice (or a NaN); then argmax decides, as before."""
        out = self._first_output(out).float()
        loss = self.objective.loss(out, y).item()
        if not self.objective.classify:
            return loss, 0.0
        if out.dim() == 2 and out.shape[1] > 1 and out.t().is_contiguous() and y.dim() == 1 and not y.is_floating_point():
            scores = out.t()
            top = scores == scores.amax(0, keepdim=True)
            if top.sum().item() == len(y):
                classes = torch.arange(scores.shape[0], device=y.device).unsqueeze(1)
                return loss, (top & (classes == y)).sum().item()  # (a target of -100, ignored, is never correct)
        return loss, (out.argmax(dim=-1) == y).sum().item()

    def _forward_one(self, coords, parts, x, worker=0, weights_set=False):
        """The model's output at one point, coords a list of floats: w + a*d1 (+ b*d2) written straight into the
        private copy's tensors (two operations per tensor, no stacked copy), as the reference loop's copy_ does;
        `weights_set`: they are there already (the same point on the previous batch)."""
        c = self._copy(worker)
        if not weights_set:
            for n, slot in c.slots:
                torch.add(self.base[n], self.directions[0][n], alpha=coords[0], out=slot)
                if len(coords) > 1:
                    slot.add_(self.directions[1][n], alpha=coords[1])
        if c.inject is not None:
            if len(parts) > 2 and len(self.batches) == 1:
                # A grid's points come row by row (the same b): P0 + b*P2 is computed once per row, and each point
                # adds a*P1 to it, one pass over the first layer's output instead of two.
                if c.row is None or c.row[0] != coords[1] or c.row[1] is not parts[0]:
                    c.row = (coords[1], parts[0], self._first.combine_floats((parts[0], parts[2]), [coords[1]], c.row[2] if c.row else None))
                parts, coords = (c.row[2], parts[1]), coords[:1]
            c.combined = self._first.combine_floats(parts, coords, c.combined)
            c.inject.put(c.combined)
        out = c.net(x)
        if c.inject is not None:
            c.inject.put(None)  # not kept alive between passes
        return out

    def _stack(self, coords, names=None):
        """The perturbed tensors (default: those the private copy holds) of K points, [K, *shape], in the evaluation dtype."""
        k = coords.shape[0]
        out = {}
        for n in self._rest if names is None else names:
            shape = (k,) + (1,) * self.base[n].dim()
            t = self.base[n].unsqueeze(0) + coords[:, 0].reshape(shape) * self.directions[0][n].unsqueeze(0)
            if len(self.directions) > 1:
                t = t + coords[:, 1].reshape(shape) * self.directions[1][n].unsqueeze(0)
            out[n] = t.to(self.dtype)
        return out

    def _pass(self, coords, batches, worker=None):
        """Sums of loss*count and of correct predictions over `batches` for the K points of `coords`: K points at
        once through vmap when K > 1 and vmap is on, else one after another; on a thread (`worker` given), always
        one after another, through that thread's own copy."""
        k = coords.shape[0]
        device = coords.device
        loss_sum = torch.zeros(k, dtype=torch.float64, device=device)
        correct_sum = torch.zeros(k, dtype=torch.float64, device=device)
        with torch.no_grad():
            batched = self.vmap and k > 1 and worker is None
            stacked = self._stack(coords) if batched else None
            outputs = self._first.outputs(batches, keep=batches is self.batches) if self._first else [()] * len(batches)
            points = coords.tolist()
            if not batched and device.type == "cpu":
                # One point at a time on a CPU: the sums kept as Python floats (float64, the same values .double()
                # gives), which saves a dozen tiny tensor operations per point (stack, casts, in-place sums): about a
                # tenth of a small model's time. Not on GPUs, where .item() would wait for the device at every point.
                # Point by point, each one's weights written once for all the batches.
                sums = [[0.0, 0.0] for _ in range(k)]
                for i in range(k):
                    for b, ((x, y), parts) in enumerate(zip(batches, outputs)):
                        loss, correct = self._measure_floats(self._forward_one(points[i], parts, x, worker or 0, weights_set=b > 0), y)
                        sums[i][0] += loss * len(x)
                        sums[i][1] += correct
                totals = torch.tensor(sums, dtype=torch.float64)
                return totals[:, 0], totals[:, 1]
            for (x, y), parts in zip(batches, outputs):
                if batched:
                    loss, correct = self._batched(stacked, coords, parts, x, y)
                else:
                    results = [self._measure(self._forward_one(points[i], parts, x, worker or 0), y) for i in range(k)]
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
        if self._parallel_now(coords.shape[0]):
            t0 = time.perf_counter()
            loss_sum, correct_sum = self._parallel_pass(coords)
            losses, accs = (loss_sum / self.count).tolist(), (correct_sum / self.count).tolist()
            self._record_parallel(coords.shape[0], time.perf_counter() - t0)
            start = coords.shape[0]
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

    @property
    def points_per_call(self):
        """How many points a caller should hand to evaluate() at once: K, or with threads enough for each thread
        to have several (a caller that checks for cancel between calls still hears it within about a second)."""
        if not self._parallel_now(self.workers):
            return self.points_per_pass
        rate = self._rates.get("parallel") or max((r for k, r in self._rates.items() if k != "parallel"), default=None)
        per_thread = int(min(max(rate * 0.25 / self.workers, 1), 64)) if rate else 1
        return self.workers * per_thread

    def _parallel_now(self, n):
        """Whether n points go to the threads now: once the search for K is over, while the threads are timed
        against the K it chose, and afterwards if they won."""
        if not self.parallel or n < self.workers or self._candidates:
            return False
        return self.points_per_pass == 1 or "parallel" not in self._rates

    def _parallel_pass(self, coords):
        """The points of coords split in `workers` contiguous groups, one per thread, each op on one core."""
        if self._first is not None:
            self._first.outputs(self.batches, keep=True)  # computed and kept before the threads read them
        groups = [g for g in torch.tensor_split(coords, self.workers) if len(g)]
        for i in range(len(groups)):
            self._copy(i)  # made here: deepcopy is not something to race on
        if self._pool is None:
            # OpenMP's thread count is per thread: each pool thread sets its own to 1 once. Left at the default,
            # every thread's ops would start a team of their own, and those teams' waiting threads (they spin) slow
            # every later op in the process down, several times over on a small CPU.
            self._pool = ThreadPoolExecutor(self.workers - 1, thread_name_prefix="descent-landscape", initializer=torch.set_num_threads, initargs=(1,))
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # this thread's ops on one core too, for the pass
        try:
            futures = [self._pool.submit(self._pass, g, self.batches, i) for i, g in enumerate(groups) if i > 0]
            first = self._pass(groups[0], self.batches, 0)
            parts = [first] + [f.result() for f in futures]
        finally:
            torch.set_num_threads(threads)
        return torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])

    def _record_parallel(self, points, seconds):
        """The first timed calls on threads (>= 0.05 s of them) are compared with the fastest K of the search (or
        with one point after another, measured now, when there was no search): the threads win, and K becomes 1,
        only if they are at least 10 % faster; else they are dropped."""
        if "parallel" in self._rates:
            return
        done, total = self._timing.get("parallel", (0, 0.0))
        done, total = done + points, total + seconds
        self._timing["parallel"] = (done, total)
        if total < 0.05:
            return
        self._rates["parallel"] = done / total
        sequential = {k: r for k, r in self._rates.items() if k != "parallel"}
        if not sequential:
            sequential = {1: self._time_sequential()}
            self._rates.update(sequential)
        if self._rates["parallel"] >= 1.1 * max(sequential.values()):
            self.points_per_pass = 1
        else:
            self.parallel = False

    def _time_sequential(self):
        """Points per second one after another with every core per op, on points near the origin (>= 0.05 s)."""
        done, start = 0, time.perf_counter()
        coords = torch.zeros(1, len(self.directions), device=self.base[self.names[0]].device)
        while time.perf_counter() - start < 0.05 or done < 2:
            self._pass(coords, self.batches)
            done += 1
        return done / (time.perf_counter() - start)

    def close(self):
        """Stops the threads (they also stop with the process)."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def _record(self, k, seconds):
        if not self._candidates or self._candidates[0] != k:
            return
        # A candidate is timed over several passes (at least 0.05 s, or 8 passes): one pass of one point of a small
        # model takes about a millisecond, too short to be compared on a busy machine.
        points, total, passes = self._timing.get(k, (0, 0.0, 0))
        points, total, passes = points + k, total + seconds, passes + 1
        self._timing[k] = (points, total, passes)
        if total < 0.05 and passes < 8:
            return
        self._candidates.pop(0)
        self._rates[k] = points / max(total, 1e-9)
        best = max(self._rates, key=self._rates.get)
        if not self._candidates or self._rates[k] < 0.8 * self._rates[best]:
            self._candidates = []
            self.points_per_pass = best
        else:
            self.points_per_pass = self._candidates[0]

    # ---- how many points per pass ----

    @staticmethod
    def _memory_budget(device):
        if device.type == "cuda":
            return int(torch.cuda.mem_get_info(device)[0] * 0.5)
        return min(2 << 30, _available_cpu_bytes() // 4)

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
        budget = self._memory_budget(device)
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
