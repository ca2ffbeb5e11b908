"""Directions in weight space: random and normalised (Li et al. 2018), interpolation, PCA of a training trajectory.

A direction is a dict {parameter name: tensor shaped like the parameter}. Only parameters are perturbed; buffers
(batch-norm running statistics) stay as they are, as in the reference's default ``dir_type='weights'``.
"""

import numpy as np
import torch


def random_direction(params, generator):
    """A Gaussian direction, one tensor per parameter, in parameter order (reference ``get_random_weights``)."""
    return {name: torch.randn(p.shape, generator=generator, dtype=torch.float32).to(p.device) for name, p in params.items()}


def normalize_direction(d, w, norm):
    """Rescales direction d of one parameter w in place.

    Follows tomgoldstein/loss-landscape ``net_plotter.normalize_direction``: 'filter' makes each filter (the slices
    along dim 0: an output channel of a conv weight, a neuron (row) of a linear weight) as long as the weight's
    filter, ``d <- d / (||d|| + 1e-10) * ||w||``; 'layer' does the same for the tensor as a whole
    (``d <- d * ||w|| / ||d||``); 'none' keeps the raw Gaussian.
    """
    if norm == "filter":
        for d_filter, w_filter in zip(d, w):
            d_filter.mul_(w_filter.norm() / (d_filter.norm() + 1e-10))
    elif norm == "layer":
        d.mul_(w.norm() / d.norm())
    elif norm != "none":
        raise ValueError(f"unknown normalization {norm!r}: use filter, layer or none")


def normalize_directions_for_weights(direction, params, norm="filter", ignore="biasbn"):
    """Normalises a whole direction in place, as ``net_plotter.normalize_directions_for_weights`` does.

    One-dimensional parameters (biases, batch-norm weight and bias) are special in the reference: with
    ignore='biasbn' their direction is zero (they are not perturbed); otherwise it is a copy of the parameter itself
    (``d.copy_(w)``), i.e. scaled like filter normalisation treats a filter.
    """
    for name, w in params.items():
        d = direction[name]
        if d.dim() <= 1:
            if ignore == "biasbn":
                d.fill_(0)
            else:
                d.copy_(w)
        else:
            normalize_direction(d, w, norm)
    return direction


def random_directions(params, dims, seed, norm, ignore):
    """`dims` normalised random directions (x first, then y), reproducible from the seed."""
    generator = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(dims):
        d = random_direction(params, generator)
        out.append(normalize_directions_for_weights(d, params, norm, ignore))
    return out


def interpolation_direction(params_from, params_to):
    """theta_to - theta_from: the straight line between two checkpoints (Goodfellow et al. 2015)."""
    return {name: (params_to[name] - params_from[name]).float() for name in params_from}


def flatten(tensors, names):
    return torch.cat([tensors[n].reshape(-1).float().cpu() for n in names])


def unflatten(vector, like):
    out, offset = {}, 0
    for name, p in like.items():
        out[name] = vector[offset:offset + p.numel()].reshape(p.shape).to(device=p.device, dtype=torch.float32)
        offset += p.numel()
    return out


def pca_directions(final, checkpoints, ignore="biasbn"):
    """The two principal directions of a trajectory around its final point, and the trajectory on that plane.

    As in the reference's ``setup_PCA_directions``: rows theta_i - theta_final (one-dimensional parameters zeroed
    with ignore='biasbn'), PCA with centring (what scikit-learn's PCA does; here numpy's SVD), components 1 and 2 as
    directions, each checkpoint projected with ``project_trajectory``'s 'cos' method (the dot product with the
    unit-length component). Returns (d1, d2, explained variance ratios [2], xs, ys).
    """
    names = list(final)
    keep = torch.ones(sum(p.numel() for p in final.values()), dtype=torch.bool)
    if ignore == "biasbn":
        offset = 0
        for name in names:
            n = final[name].numel()
            if final[name].dim() <= 1:
                keep[offset:offset + n] = False
            offset += n
    base = flatten(final, names)
    rows = []
    for ckpt in checkpoints:
        row = flatten(ckpt, names) - base
        row[~keep] = 0
        rows.append(row.double().numpy())
    matrix = np.stack(rows)
    if matrix.shape[0] < 3:
        raise ValueError(f"PCA of a trajectory needs at least 3 checkpoints; found {matrix.shape[0]}")
    centred = matrix - matrix.mean(axis=0, keepdims=True)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    variance = s ** 2
    ratios = variance / variance.sum() if variance.sum() > 0 else np.zeros_like(variance)
    components = vt[:2].copy()
    for c in components:  # a fixed sign, so the same trajectory always gives the same picture
        if c[np.argmax(np.abs(c))] < 0:
            c *= -1
    xs, ys = matrix @ components[0], matrix @ components[1]
    d1 = unflatten(torch.from_numpy(components[0]).float(), final)
    d2 = unflatten(torch.from_numpy(components[1]).float(), final)
    return d1, d2, [float(ratios[0]), float(ratios[1]) if len(ratios) > 1 else 0.0], xs.tolist(), ys.tolist()
