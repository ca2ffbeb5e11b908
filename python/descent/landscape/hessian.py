"""Sharpness at the model's parameters: the top Hessian eigenvalue and the Hessian trace of the loss on given data.

Hessian-vector products by double backward (the gradient of <grad L, v>), accumulated over the data's batches with
each batch weighted by its size, so H is the Hessian of the mean loss over all the samples (PyHessian's dataloader
mode). Top eigenvalue: power iteration (the eigenvalue of largest magnitude; the Rayleigh quotient of the last
iterate). Trace: Hutchinson's estimator, the mean of v^T H v over Rademacher vectors v.
"""

import torch
from torch.func import functional_call


def _params(model):
    return {n: p.detach() for n, p in model.named_parameters() if p.requires_grad}


def hvp(model, loss_fn, batches, params, vector):
    """H @ vector (dicts of tensors), H the Hessian of the mean loss over all batches with respect to params."""
    count = sum(len(x) for x, _ in batches)
    buffers = {n: b for n, b in model.named_buffers()}
    names = list(params)
    out = {n: torch.zeros_like(params[n]) for n in names}
    for x, y in batches:
        leaves = {n: params[n].clone().requires_grad_(True) for n in names}
        outputs = functional_call(model, {**buffers, **leaves}, (x,))
        if isinstance(outputs, (tuple, list)):
            outputs = outputs[0]
        loss = loss_fn(outputs.float(), y) * (len(x) / count)
        grads = torch.autograd.grad(loss, [leaves[n] for n in names], create_graph=True)
        dot = sum((g * vector[n]).sum() for g, n in zip(grads, names))
        hv = torch.autograd.grad(dot, [leaves[n] for n in names], allow_unused=True)
        for n, h in zip(names, hv):
            if h is not None:
                out[n] += h.detach()
    return out


def _dot(a, b):
    return sum((a[n] * b[n]).sum() for n in a)


def top_eigenvalue(model, loss_fn, batches, iterations=20, tol=1e-4, seed=0):
    """(eigenvalue of largest magnitude, iterations used) by power iteration."""
    model.eval()
    params = _params(model)
    g = torch.Generator().manual_seed(seed)
    v = {n: torch.randn(p.shape, generator=g).to(p) for n, p in params.items()}
    norm = torch.sqrt(_dot(v, v))
    v = {n: t / norm for n, t in v.items()}
    eigenvalue, used = None, 0
    for used in range(1, iterations + 1):
        hv = hvp(model, loss_fn, batches, params, v)
        new = float(_dot(hv, v))
        norm = torch.sqrt(_dot(hv, hv))
        if float(norm) == 0.0:
            return 0.0, used
        v = {n: t / norm for n, t in hv.items()}
        if eigenvalue is not None and abs(new - eigenvalue) <= tol * (abs(eigenvalue) + 1e-12):
            eigenvalue = new
            break
        eigenvalue = new
    return eigenvalue, used


def hutchinson_trace(model, loss_fn, batches, samples=20, seed=0):
    """The Hessian trace estimated as the mean of v^T H v over Rademacher vectors (entries +1 or -1)."""
    model.eval()
    params = _params(model)
    g = torch.Generator().manual_seed(seed + 1)
    total = 0.0
    for _ in range(samples):
        v = {n: (torch.randint(0, 2, p.shape, generator=g) * 2 - 1).to(p) for n, p in params.items()}
        total += float(_dot(hvp(model, loss_fn, batches, params, v), v))
    return total / samples
