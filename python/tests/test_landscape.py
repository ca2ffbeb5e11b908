"""The loss-landscape engine (python/descent/landscape/): directions, grid evaluation, sharpness, against independent
straightforward implementations. Small models on the CPU."""

import collections
import copy
import math
import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
torch = pytest.importorskip("torch")
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from descent.landscape import directions as dirs  # noqa: E402
from descent.landscape.grid import GridEvaluator, Objective, plain_cross_entropy  # noqa: E402
from descent.landscape.hessian import hutchinson_trace, hvp, top_eigenvalue  # noqa: E402


def small_cnn():
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(4, 6, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(6 * 4 * 4, 16), nn.ReLU(), nn.Linear(16, 3),
    )


def small_mlp():
    torch.manual_seed(1)
    return nn.Sequential(nn.Linear(8, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 3))


def trained_bn_stats(model, x):
    """Gives batch-norm layers non-trivial running statistics, as a trained model has."""
    model.train()
    with torch.no_grad():
        for _ in range(5):
            model(x + 0.3 * torch.randn_like(x))
    return model.eval()


def cnn_data(n=60):
    g = torch.Generator().manual_seed(2)
    return torch.randn(n, 1, 8, 8, generator=g), torch.randint(0, 3, (n,), generator=g)


def mlp_data(n=50):
    g = torch.Generator().manual_seed(3)
    return torch.randn(n, 8, generator=g), torch.randint(0, 3, (n,), generator=g)


def params_of(model):
    return {n: p.detach() for n, p in model.named_parameters()}


def batches_of(x, y, size):
    return [(x[i:i + size], y[i:i + size]) for i in range(0, len(x), size)]


CE = Objective(lambda out, y: F.cross_entropy(out, y), classify=True)


# ---- directions ----


def test_filter_normalisation_conv_per_output_filter_linear_per_row():
    model = small_cnn()
    params = params_of(model)
    (d,) = dirs.random_directions(params, 1, seed=0, norm="filter", ignore="biasbn")
    for name in ("0.weight", "4.weight", "7.weight", "9.weight"):  # conv (out, in, k, k) and linear (out, in)
        w = params[name]
        for i in range(w.shape[0]):
            assert torch.allclose(d[name][i].norm(), w[i].norm(), rtol=1e-5), (name, i)
        # The direction is not the weight itself: only the lengths were matched.
        assert not torch.allclose(d[name], w)


def test_bias_and_batchnorm_with_ignore_biasbn_and_none():
    model = small_cnn()
    params = params_of(model)
    one_dim = [n for n, p in params.items() if p.dim() == 1]
    assert "1.weight" in one_dim and "1.bias" in one_dim and "0.bias" in one_dim  # BN weight/bias and a conv bias
    (zeroed,) = dirs.random_directions(params, 1, seed=0, norm="filter", ignore="biasbn")
    (copied,) = dirs.random_directions(params, 1, seed=0, norm="filter", ignore="none")
    for name in one_dim:
        assert torch.count_nonzero(zeroed[name]) == 0, name
        assert torch.equal(copied[name], params[name]), name  # the reference's d.copy_(w)
    # Multi-dimensional tensors are the same in both (same seed, same order).
    assert torch.equal(zeroed["4.weight"], copied["4.weight"])
    # Buffers (BN running statistics) are never in a direction.
    assert "1.running_mean" not in zeroed


def test_layer_and_no_normalisation():
    model = small_cnn()
    params = params_of(model)
    (layer,) = dirs.random_directions(params, 1, seed=5, norm="layer", ignore="biasbn")
    (raw,) = dirs.random_directions(params, 1, seed=5, norm="none", ignore="biasbn")
    for name, w in params.items():
        if w.dim() > 1:
            assert torch.allclose(layer[name].norm(), w.norm(), rtol=1e-5)
            # Same Gaussian draw, only rescaled.
            assert torch.allclose(layer[name], raw[name] * (w.norm() / raw[name].norm()), rtol=1e-5)
    g = torch.Generator().manual_seed(5)
    assert torch.equal(raw["0.weight"], torch.randn(params["0.weight"].shape, generator=g))


def test_two_random_directions_differ_and_are_reproducible():
    params = params_of(small_mlp())
    a1, a2 = dirs.random_directions(params, 2, seed=7, norm="filter", ignore="biasbn")
    b1, b2 = dirs.random_directions(params, 2, seed=7, norm="filter", ignore="biasbn")
    assert all(torch.equal(a1[n], b1[n]) and torch.equal(a2[n], b2[n]) for n in params)
    assert not torch.allclose(a1["0.weight"], a2["0.weight"])


def test_pca_recovers_the_plane_of_a_known_trajectory():
    model = small_mlp()
    final = {n: p.clone() for n, p in params_of(model).items()}
    names = list(final)
    size = sum(p.numel() for p in final.values())
    keep = torch.cat([torch.full((final[n].numel(),), final[n].dim() > 1) for n in names])
    g = torch.Generator().manual_seed(4)
    u, v = torch.randn(size, generator=g) * keep, torch.randn(size, generator=g) * keep
    u = u / u.norm()
    v = v - (v @ u) * u
    v = v / v.norm()
    # Uncorrelated coordinates with variances 4 (along u) and 0.5 (along v).
    a = torch.tensor([-2.0, -1, 0, 1, 2, -2, -1, 0, 1, 2]) * math.sqrt(2)
    b = torch.tensor([1.0, -1, 0, -1, 1, -1, 1, 0, 1, -1]) * 0.5
    assert abs(float(a @ b)) < 1e-5
    checkpoints = [dirs.unflatten(dirs.flatten(final, names) + ai * u + bi * v, final) for ai, bi in zip(a, b)]
    d1, d2, explained, xs, ys = dirs.pca_directions(final, checkpoints, ignore="biasbn")
    f1, f2 = dirs.flatten(d1, names), dirs.flatten(d2, names)
    assert abs(float(f1 @ u)) == pytest.approx(1.0, abs=1e-4)
    assert abs(float(f2 @ v)) == pytest.approx(1.0, abs=1e-4)
    var_a, var_b = float(a.var()), float(b.var())
    assert explained[0] == pytest.approx(var_a / (var_a + var_b), abs=1e-4)
    assert explained[1] == pytest.approx(var_b / (var_a + var_b), abs=1e-4)
    sign1, sign2 = np.sign(float(f1 @ u)), np.sign(float(f2 @ v))
    assert np.allclose(np.array(xs) * sign1, a.numpy(), atol=1e-4)
    assert np.allclose(np.array(ys) * sign2, b.numpy(), atol=1e-4)
    # One-dimensional parameters are left out with ignore='biasbn'.
    assert all(torch.count_nonzero(d1[n]) == 0 for n in names if final[n].dim() == 1)


# ---- the grid ----


def reference_grid(model, d1, d2, xs, ys, x, y, batch):
    """Li et al.'s method done plainly: copy the model, set w + a*d1 + b*d2 with p.data.copy_, evaluate, restore."""
    net = copy.deepcopy(model).eval()
    originals = {n: p.detach().clone() for n, p in net.named_parameters()}
    losses, accs = np.zeros((len(ys), len(xs))), np.zeros((len(ys), len(xs)))
    for iy, b in enumerate(ys):
        for ix, a in enumerate(xs):
            for n, p in net.named_parameters():
                p.data.copy_(originals[n] + a * d1[n] + b * d2[n])
            total, correct = 0.0, 0
            with torch.no_grad():
                for i in range(0, len(x), batch):
                    out = net(x[i:i + batch])
                    total += F.cross_entropy(out, y[i:i + batch]).item() * len(out)
                    correct += (out.argmax(1) == y[i:i + batch]).sum().item()
            losses[iy, ix], accs[iy, ix] = total / len(x), correct / len(x)
            for n, p in net.named_parameters():
                p.data.copy_(originals[n])
    return losses, accs


def engine_grid(model, d1, d2, xs, ys, x, y, batch, **options):
    evaluator = GridEvaluator(model, CE, batches_of(x, y, batch), params_of(model), [d1, d2], **options)
    coords = torch.tensor([[a, b] for b in ys for a in xs])
    losses, accs = evaluator.evaluate(coords)
    return np.array(losses).reshape(len(ys), len(xs)), np.array(accs).reshape(len(ys), len(xs)), evaluator


@pytest.mark.parametrize("kind", ["cnn", "mlp"])
def test_engine_equals_an_independent_reference_implementation(kind):
    model, (x, y) = (small_cnn(), cnn_data()) if kind == "cnn" else (small_mlp(), mlp_data())
    trained_bn_stats(model, x)
    d1, d2 = dirs.random_directions(params_of(model), 2, seed=3, norm="filter", ignore="biasbn")
    xs, ys = [-1.0, -0.5, 0.0, 0.5, 1.0], [-1.0, -0.25, 0.0, 0.25, 1.0]
    before = {n: t.clone() for n, t in model.state_dict().items()}
    ref_loss, ref_acc = reference_grid(model, d1, d2, xs, ys, x, y, batch=16)
    loss, acc, evaluator = engine_grid(model, d1, d2, xs, ys, x, y, batch=16)
    assert evaluator.vmap
    assert evaluator.first_layer == "0"  # the shared first-layer path is what is compared
    assert np.abs(loss - ref_loss).max() < 1e-4
    assert np.abs(acc - ref_acc).max() < 1e-9
    # The grid is not flat: the test would notice a perturbation applied wrongly.
    assert ref_loss.max() - ref_loss.min() > 0.05
    # The model itself was not modified by the engine.
    assert all(torch.equal(before[n], t) for n, t in model.state_dict().items())


def test_vmap_batching_equals_one_point_at_a_time():
    model = trained_bn_stats(small_cnn(), cnn_data()[0])
    x, y = cnn_data()
    d1, d2 = dirs.random_directions(params_of(model), 2, seed=8, norm="filter", ignore="none")
    xs, ys = [-0.6, 0.1, 0.7], [-0.3, 0.4]
    batched, batched_acc, ev_b = engine_grid(model, d1, d2, xs, ys, x, y, batch=25, points_per_pass=4)
    single, single_acc, ev_s = engine_grid(model, d1, d2, xs, ys, x, y, batch=25, use_vmap=False)
    assert ev_b.vmap and ev_b.points_per_pass == 4
    assert not ev_s.vmap and ev_s.points_per_pass == 1
    assert np.abs(batched - single).max() < 1e-5
    assert np.array_equal(batched_acc, single_acc)


@pytest.mark.parametrize("kind", ["cnn", "mlp"])
def test_points_on_threads_equal_one_after_another(kind):
    model, (x, y) = (trained_bn_stats(small_cnn(), cnn_data()[0]), cnn_data()) if kind == "cnn" else (small_mlp(), mlp_data())
    d1, d2 = dirs.random_directions(params_of(model), 2, seed=9, norm="filter", ignore="biasbn")
    xs, ys = [-0.8, -0.3, 0.2, 0.9], [-0.5, 0.0, 0.6]
    single, single_acc, ev_s = engine_grid(model, d1, d2, xs, ys, x, y, batch=16, use_vmap=False, workers=1)
    assert "parallel" not in ev_s._timing and len(ev_s._copies) == 1
    # K=1 because vmap is off, or because it was chosen (a model vmap can batch: each thread still goes one point
    # at a time through its own copy, never through vmap).
    for options in ({"use_vmap": False}, {"points_per_pass": 1}):
        threaded, threaded_acc, ev_t = engine_grid(model, d1, d2, xs, ys, x, y, batch=16, workers=3, **options)
        assert "parallel" in ev_t._timing and len(ev_t._copies) == 3  # the threads did run the points
        assert np.abs(threaded - single).max() < 1e-6
        assert np.array_equal(threaded_acc, single_acc)
        ev_t.close()
        # Whatever it did, each copy holds plain tensors afterwards, and the grid evaluates again the same.
        again, _, _ = engine_grid(model, d1, d2, xs, ys, x, y, batch=16, workers=1, **options)
        assert np.abs(again - single).max() < 1e-6


def test_models_vmap_cannot_batch_fall_back_to_one_point_at_a_time():
    class Recurrent(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(4, 6, batch_first=True)
            self.head = nn.Linear(6, 3)

        def forward(self, x):
            return self.head(self.lstm(x)[0][:, -1])

    torch.manual_seed(0)
    model = Recurrent().eval()
    x, y = torch.randn(20, 5, 4), torch.randint(0, 3, (20,))
    d1, d2 = dirs.random_directions(params_of(model), 2, seed=0, norm="filter", ignore="biasbn")
    evaluator = GridEvaluator(model, CE, batches_of(x, y, 8), params_of(model), [d1, d2])
    assert not evaluator.vmap and "lstm" in evaluator.vmap_reason.lower()
    losses, _ = evaluator.evaluate(torch.tensor([[0.5, -0.5]]))
    net = copy.deepcopy(model)
    for n, p in net.named_parameters():
        p.data.add_(0.5 * d1[n] - 0.5 * d2[n])
    with torch.no_grad():
        assert losses[0] == pytest.approx(F.cross_entropy(net(x), y).item(), abs=1e-5)


def perturbed(model, ds, coords):
    """A copy of the model with its weights moved to one point, in place."""
    net = copy.deepcopy(model).eval()
    with torch.no_grad():
        for n, p in net.named_parameters():
            for c, d in zip(coords, ds):
                p.add_(c * d[n])
    return net


def direct_loss(model, ds, coords, x, y):
    """The loss at one point, by perturbing a copy of the model's weights in place."""
    with torch.no_grad():
        return F.cross_entropy(perturbed(model, ds, coords)(x), y).item()


def direct_accuracy(model, ds, coords, x, y):
    with torch.no_grad():
        return (perturbed(model, ds, coords)(x).argmax(1) == y).float().mean().item()


def small_conv1d():
    torch.manual_seed(4)
    body = nn.Sequential(nn.Conv1d(2, 5, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(5 * 6, 3))
    return nn.Sequential(collections.OrderedDict(body=body))  # a nested first layer: "body.0"


@pytest.mark.parametrize("kind", ["cnn", "mlp", "conv1d"])
def test_shared_first_layer_equals_the_plain_path(kind):
    """base + a*P1 + b*P2 of the first layer's outputs against every point through the whole model, for vmap over K
    points and one point at a time, with bias directions (ignore='none'), in 2D and 1D."""
    if kind == "conv1d":
        model, first = small_conv1d(), "body.0"
        g = torch.Generator().manual_seed(5)
        x, y = torch.randn(40, 2, 6, generator=g), torch.randint(0, 3, (40,), generator=g)
    else:
        model, (x, y) = (small_cnn(), cnn_data()) if kind == "cnn" else (small_mlp(), mlp_data())
        trained_bn_stats(model, x)
        first = "0"
    d1, d2 = dirs.random_directions(params_of(model), 2, seed=11, norm="filter", ignore="none")
    assert torch.count_nonzero(d1[first + ".bias"]) > 0  # the bias is perturbed too
    coords = torch.tensor([[-0.9, 0.4], [0.0, 0.0], [0.3, -0.7], [1.1, 0.8], [-0.2, -0.5]])
    for dims in (2, 1):
        ds, c = [d1, d2][:dims], coords[:, :dims]
        for options in ({"points_per_pass": 4}, {"use_vmap": False}):
            shared = GridEvaluator(model, CE, batches_of(x, y, 16), params_of(model), ds, **options)
            plain = GridEvaluator(model, CE, batches_of(x, y, 16), params_of(model), ds, share_first_layer=False, **options)
            assert shared.first_layer == first and shared.first_layer_reason is None
            assert plain.first_layer is None and plain.first_layer_reason == "disabled"
            (sl, sa), (pl, pa) = shared.evaluate(c), plain.evaluate(c)
            assert np.abs(np.array(sl) - np.array(pl)).max() < 1e-5, (dims, options)
            assert sa == pa
            assert sl[-1] == pytest.approx(direct_loss(model, ds, c[-1].tolist(), x, y), abs=1e-5)
            assert max(sl) - min(sl) > 0.05  # the points differ: a wrong combination would show


class ViewsItsFeatureMap(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv, self.fc = nn.Conv2d(1, 3, 3, padding=1), nn.Linear(3 * 8 * 8, 3)

    def forward(self, x):
        h = torch.relu(self.conv(x))
        return self.fc(h.view(h.size(0), -1))  # .view needs the default (contiguous NCHW) layout


def test_conv_outputs_are_channels_last_unless_the_model_needs_the_default_layout():
    x, y = cnn_data()
    cnn = small_cnn()
    d = dirs.random_directions(params_of(cnn), 2, seed=0, norm="filter", ignore="biasbn")
    assert GridEvaluator(cnn, CE, batches_of(x, y, 20), params_of(cnn), d).first_layer_layout == "channels_last"
    torch.manual_seed(0)
    model = ViewsItsFeatureMap().eval()
    d1, d2 = dirs.random_directions(params_of(model), 2, seed=0, norm="filter", ignore="biasbn")
    evaluator = GridEvaluator(model, CE, batches_of(x, y, 20), params_of(model), [d1, d2])
    assert evaluator.first_layer == "conv" and evaluator.first_layer_layout == "default"
    losses, _ = evaluator.evaluate(torch.tensor([[0.4, -0.8]]))
    assert losses[0] == pytest.approx(direct_loss(model, [d1, d2], [0.4, -0.8], x, y), abs=1e-5)


class Embedded(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb, self.fc = nn.Embedding(10, 4), nn.Linear(4 * 5, 3)

    def forward(self, x):
        return self.fc(self.emb(x).flatten(1))


class NormalisesInput(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc, self.out = nn.Linear(8, 6), nn.Linear(6, 3)

    def forward(self, x):
        return self.out(torch.relu(self.fc((x - 0.5) / 2)))


class CalledTwice(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc, self.out = nn.Linear(8, 8), nn.Linear(8, 3)

    def forward(self, x):
        return self.out(self.fc(torch.relu(self.fc(x))))


class ReadsWeightElsewhere(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc, self.out = nn.Linear(8, 6), nn.Linear(6, 3)

    def forward(self, x):
        return self.out(torch.relu(self.fc(x)) + 0.1 * self.fc.weight.sum())


@pytest.mark.parametrize("model_class, inputs, reason", [
    (Embedded, "tokens", "Embedding"),
    (NormalisesInput, "features", "does not receive the model's input"),
    (CalledTwice, "features", "called more than once"),
    (ReadsWeightElsewhere, "features", "fc:"),  # caught by the exactness check against the whole model
])
def test_models_whose_first_layer_cannot_be_shared_keep_the_plain_path(model_class, inputs, reason):
    torch.manual_seed(0)
    model = model_class().eval()
    g = torch.Generator().manual_seed(1)
    x = torch.randint(0, 10, (30, 5), generator=g) if inputs == "tokens" else torch.randn(30, 8, generator=g)
    y = torch.randint(0, 3, (30,), generator=g)
    d1, d2 = dirs.random_directions(params_of(model), 2, seed=0, norm="filter", ignore="none")
    evaluator = GridEvaluator(model, CE, batches_of(x, y, 12), params_of(model), [d1, d2])
    assert evaluator.first_layer is None and reason in evaluator.first_layer_reason
    losses, _ = evaluator.evaluate(torch.tensor([[0.6, -0.4], [-0.3, 0.9]]))
    assert losses[0] == pytest.approx(direct_loss(model, [d1, d2], [0.6, -0.4], x, y), abs=1e-5)
    assert losses[1] == pytest.approx(direct_loss(model, [d1, d2], [-0.3, 0.9], x, y), abs=1e-5)


def test_plain_cross_entropy_fast_path_equals_the_users_loss():
    assert Objective(nn.CrossEntropyLoss(), True).cross_entropy
    assert Objective(plain_cross_entropy, True).cross_entropy
    assert not Objective(nn.CrossEntropyLoss(label_smoothing=0.1), True).cross_entropy
    assert not Objective(nn.CrossEntropyLoss(reduction="sum"), True).cross_entropy
    assert not CE.cross_entropy  # an arbitrary function is called as it is
    model = trained_bn_stats(small_mlp(), mlp_data()[0])
    x, y = mlp_data()
    d1, d2 = dirs.random_directions(params_of(model), 2, seed=4, norm="filter", ignore="biasbn")
    coords = torch.tensor([[0.0, 0.0], [0.8, -0.3], [-0.5, 1.2]])
    for options in ({"points_per_pass": 3}, {"use_vmap": False}):
        fast = GridEvaluator(model, Objective(nn.CrossEntropyLoss(), True), batches_of(x, y, 16), params_of(model), [d1, d2], **options)
        slow = GridEvaluator(model, CE, batches_of(x, y, 16), params_of(model), [d1, d2], **options)
        (fl, fa), (sl, sa) = fast.evaluate(coords), slow.evaluate(coords)
        assert np.abs(np.array(fl) - np.array(sl)).max() < 1e-6 and fa == sa


def test_loss_at_the_origin_equals_the_models_evaluated_loss():
    model = trained_bn_stats(small_mlp(), mlp_data()[0])
    x, y = mlp_data()
    d1, d2 = dirs.random_directions(params_of(model), 2, seed=1, norm="filter", ignore="biasbn")
    evaluator = GridEvaluator(model, CE, batches_of(x, y, 7), params_of(model), [d1, d2])
    losses, accs = evaluator.evaluate(torch.zeros(1, 2))
    with torch.no_grad():
        out = model.eval()(x)
    assert losses[0] == pytest.approx(F.cross_entropy(out, y).item(), abs=1e-5)
    assert accs[0] == pytest.approx((out.argmax(1) == y).float().mean().item())


def test_bfloat16_is_close_to_float32():
    model = trained_bn_stats(small_cnn(), cnn_data()[0])
    x, y = cnn_data()
    d1, d2 = dirs.random_directions(params_of(model), 2, seed=2, norm="filter", ignore="biasbn")
    xs = ys = [-0.5, 0.0, 0.5]
    full, _, _ = engine_grid(model, d1, d2, xs, ys, x, y, batch=30)
    half, _, ev = engine_grid(model, d1, d2, xs, ys, x.bfloat16(), y, batch=30, dtype=torch.bfloat16)
    assert ev.vmap and ev.first_layer == "0"  # the first layer is shared in bfloat16 too
    assert np.abs(full - half).max() < 0.05 * np.abs(full).max()


# ---- sharpness ----


def tiny_problem():
    torch.manual_seed(6)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    x, y = torch.randn(40, 3), torch.randint(0, 2, (40,))
    return model, x, y


def dense_hessian(model, x, y):
    names = [n for n, _ in model.named_parameters()]
    shapes = [p.shape for _, p in model.named_parameters()]
    flat = torch.cat([p.detach().reshape(-1) for _, p in model.named_parameters()])

    def loss_of(vector):
        params, offset = {}, 0
        for n, s in zip(names, shapes):
            k = int(np.prod(s))
            params[n] = vector[offset:offset + k].reshape(s)
            offset += k
        return F.cross_entropy(torch.func.functional_call(model, params, (x,)), y)

    return torch.autograd.functional.hessian(loss_of, flat).double()


def test_hessian_vector_products_top_eigenvalue_and_trace_match_a_dense_hessian():
    model, x, y = tiny_problem()
    h = dense_hessian(model, x, y)
    eig = torch.linalg.eigvalsh(h)
    top = eig[eig.abs().argmax()].item()
    batches = batches_of(x, y, 15)  # uneven batches: 15, 15, 10
    loss_fn = lambda out, t: F.cross_entropy(out, t)  # noqa: E731
    params = params_of(model)
    v = {n: torch.randn_like(p) for n, p in params.items()}
    flat_v = torch.cat([t.reshape(-1) for t in v.values()]).double()
    hv = torch.cat([t.reshape(-1) for t in hvp(model, loss_fn, batches, params, v).values()]).double()
    assert torch.allclose(hv, h @ flat_v, atol=1e-5)
    value, used = top_eigenvalue(model, loss_fn, batches, iterations=200, tol=1e-7)
    assert value == pytest.approx(top, rel=1e-3), (value, eig)
    assert used >= 2
    trace = hutchinson_trace(model, loss_fn, batches, samples=400)
    assert trace == pytest.approx(h.trace().item(), rel=0.1)


# ---- batches joined on a CPU ----


def test_join_batches_keeps_order_limit_and_shapes():
    from descent.landscape.grid import join_batches

    x, y = mlp_data(50)
    batches = batches_of(x, y, 7)  # 7 x 7 + 1
    joined = join_batches(batches, per_sample_bytes=100, chunk_bytes=100 * 20)  # at most 20 samples a chunk
    assert [len(a) for a, _ in joined] == [14, 14, 14, 8]
    assert torch.equal(torch.cat([a for a, _ in joined]), x) and torch.equal(torch.cat([b for _, b in joined]), y)
    assert [len(a) for a, _ in join_batches(batches, 100, 100 * 3)] == [7] * 7 + [1]  # a batch larger than a chunk stays whole
    # Sequences padded per batch (different lengths) are not joined with each other.
    seqs = [(torch.zeros(4, 5), torch.zeros(4)), (torch.zeros(4, 5), torch.zeros(4)), (torch.zeros(4, 9), torch.zeros(4))]
    assert [tuple(a.shape) for a, _ in join_batches(seqs, 1, 1000)] == [(8, 5), (4, 9)]


def test_joined_batches_give_the_batch_by_batch_losses():
    model = trained_bn_stats(small_mlp(), mlp_data()[0])
    x, y = mlp_data()
    d1, d2 = dirs.random_directions(params_of(model), 2, seed=5, norm="filter", ignore="biasbn")
    coords = torch.tensor([[0.0, 0.0], [0.7, -0.2], [-0.4, 1.1]])
    for options in ({"points_per_pass": 3}, {"use_vmap": False}):
        joined = GridEvaluator(model, Objective(plain_cross_entropy, True), batches_of(x, y, 7), params_of(model), [d1, d2], **options)
        apart = GridEvaluator(model, CE, batches_of(x, y, 7), params_of(model), [d1, d2], **options)
        assert len(joined.batches) == 1 and joined.count == 50  # 8 batches of a tiny model: one chunk
        assert len(apart.batches) == 8  # a function of the user's: not known to be a mean per sample
        (jl, ja), (al, aa) = joined.evaluate(coords), apart.evaluate(coords)
        assert np.abs(np.array(jl) - np.array(al)).max() < 1e-6 and ja == aa
    # Losses whose batch value is not a plain mean per sample keep the batches as given.
    for loss in (nn.CrossEntropyLoss(weight=torch.ones(3)), nn.CrossEntropyLoss(reduction="sum"), nn.KLDivLoss()):
        assert not Objective(loss, True).sample_mean
    for loss in (nn.CrossEntropyLoss(), nn.MSELoss(), F.l1_loss):
        assert Objective(loss, False).sample_mean
    # A target equal to ignore_index (-100): each batch's mean is over its other samples, so nothing is joined.
    y_ignored = y.clone()
    y_ignored[3] = -100
    ev = GridEvaluator(model, Objective(plain_cross_entropy, True), batches_of(x, y_ignored, 7), params_of(model), [d1, d2])
    assert len(ev.batches) == 8


# ---- narrow last layers (narrow.py) and the row base of the shared first layer ----


class FlattensItsScores(nn.Module):
    """Reads its last layer's output with .view(-1): fails on the transposed layout, so the plain layers are kept."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(8, 16), nn.ReLU())
        self.fc = nn.Linear(16, 3)

    def forward(self, x):
        return self.fc(self.body(x)).view(-1).view(len(x), 3)


def test_narrow_last_layer_equals_the_plain_one_and_falls_back_when_the_model_needs_the_layout():
    x, y = mlp_data()
    coords = torch.tensor([[0.0, 0.0], [0.6, -0.4], [-0.3, 0.9]])
    for model, narrow in ((trained_bn_stats(small_mlp(), x), True), (FlattensItsScores().eval(), False)):
        d1, d2 = dirs.random_directions(params_of(model), 2, seed=6, norm="filter", ignore="biasbn")
        ev = GridEvaluator(model, Objective(plain_cross_entropy, True), batches_of(x, y, 50), params_of(model), [d1, d2], use_vmap=False)
        assert ev.narrow is narrow
        losses, accs = ev.evaluate(coords)
        for i, point in enumerate(coords.tolist()):
            want_loss, want_acc = direct_loss(model, [d1, d2], point, x, y), direct_accuracy(model, [d1, d2], point, x, y)
            assert losses[i] == pytest.approx(want_loss, abs=1e-5) and accs[i] == pytest.approx(want_acc)


def test_accuracy_with_tied_scores_is_argmaxs():
    """A last layer of zeros scores every class alike: argmax says class 0, so only class-0 samples count."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3)).eval()
    with torch.no_grad():
        model[2].weight.zero_()
        model[2].bias.zero_()
    x, y = mlp_data()
    zero = {n: torch.zeros_like(p) for n, p in params_of(model).items()}
    ev = GridEvaluator(model, Objective(plain_cross_entropy, True), batches_of(x, y, 50), params_of(model), [zero, zero], use_vmap=False)
    assert ev.narrow
    _, accs = ev.evaluate(torch.tensor([[0.0, 0.0], [1.0, 1.0]]))
    assert accs == [pytest.approx((y == 0).float().mean().item())] * 2


def test_switching_data_does_not_reuse_the_previous_datas_row():
    model = trained_bn_stats(small_mlp(), mlp_data()[0])
    x, y = mlp_data()
    xv, yv = mlp_data(30)
    xv = xv * 0.5 + 1.0
    d1, d2 = dirs.random_directions(params_of(model), 2, seed=7, norm="filter", ignore="biasbn")
    coords = torch.tensor([[0.2, 0.5], [0.4, 0.5]])  # one grid row: b = 0.5
    ev = GridEvaluator(model, Objective(plain_cross_entropy, True), [(x, y)], params_of(model), [d1, d2], use_vmap=False, workers=1)
    assert ev.first_layer == "0"
    ev.evaluate(coords)
    ev.batches = [(xv, yv)]
    losses, _ = ev.evaluate(coords)
    for i, point in enumerate(coords.tolist()):
        assert losses[i] == pytest.approx(direct_loss(model, [d1, d2], point, xv, yv), abs=1e-5)
