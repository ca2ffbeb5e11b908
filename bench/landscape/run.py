"""Loss-landscape bench: Descent's engine (python/descent/landscape/grid.py: first layer shared by the whole grid,
functional_call + vmap over K points per pass or one point at a time) against the one-point-at-a-time reference loop of Li et al.'s tool (perturb the weights with copy_, evaluate,
restore), the same grid, directions, model and data, in one run.

    python bench/landscape/run.py                 # CPU: MLP on scikit-learn digits (41x41) and a small CNN (11x11)
    python bench/landscape/run.py --gpu           # ResNet-20-sized CNN, 51x51, 10,000 32x32 inputs, bf16 and float32
    python bench/landscape/run.py --gpu --smoke   # the same code path on a tiny size (runs on a CPU)

Budgets (issue 7): MLP >= 2x the reference loop, CNN never slower; on a GPU >= 10x and >= 30 % of peak bf16 FLOP/s.
Figures beyond a budget are printed with OVER BUDGET; the exit code is non-zero only when the harness fails.
"""

import argparse
import json
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "python"))
from descent.landscape import directions as dirs  # noqa: E402
from descent.landscape.grid import GridEvaluator, Objective, plain_cross_entropy  # noqa: E402

CE = Objective(plain_cross_entropy, classify=True)  # what a scaffolded project's nn.CrossEntropyLoss() gets


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def matmul_flops(device, dtype, n=2048, seconds=1.5):
    """Measured FLOP/s of torch.mm on n x n matrices (2 n^3 per product): the physical limit for dense layers here."""
    a, b = torch.randn(n, n, device=device, dtype=dtype), torch.randn(n, n, device=device, dtype=dtype)
    for _ in range(3):
        a @ b
    sync(device)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        a @ b
        count += 1
    sync(device)
    return 2 * n ** 3 * count / (time.perf_counter() - start)


def forward_flops(model, x):
    with FlopCounterMode(display=False) as counter:
        with torch.no_grad():
            model(x)
    return counter.get_total_flops()


def batches_of(x, y, size):
    return [(x[i:i + size], y[i:i + size]) for i in range(0, len(x), size)]


def reference_loop(model, d1, d2, coords, batches, limit_s=None):
    """Li et al.'s loop: for each point set w + a*d1 + b*d2 with copy_, evaluate every batch, then restore."""
    net = model
    params = dict(net.named_parameters())
    originals = {n: p.detach().clone() for n, p in params.items()}
    losses = []
    start = time.perf_counter()
    with torch.no_grad():
        for a, b in coords.tolist():
            for n, p in params.items():
                p.copy_(originals[n] + a * d1[n] + b * d2[n])
            total, count = 0.0, 0
            for x, y in batches:
                out = net(x)
                total += F.cross_entropy(out.float(), y).item() * len(x)
                count += len(x)
            losses.append(total / count)
            if limit_s is not None and time.perf_counter() - start > limit_s:
                break
        for n, p in params.items():
            p.copy_(originals[n])
    return losses, time.perf_counter() - start


def grid_coords(num, device):
    axis = torch.linspace(-1, 1, num)
    return torch.stack(torch.meshgrid(axis, axis, indexing="xy"), dim=-1).reshape(-1, 2).to(device)


def descent_engine(model, d1, d2, coords, batches, dtype=torch.float32, points_per_pass=None):
    device = coords.device
    sync(device)
    start = time.perf_counter()
    evaluator = GridEvaluator(model, CE, batches, {n: p.detach() for n, p in model.named_parameters()}, [d1, d2], dtype=dtype, points_per_pass=points_per_pass)
    setup = time.perf_counter() - start
    losses, _ = evaluator.evaluate(coords)
    sync(device)
    return losses, time.perf_counter() - start, setup, evaluator


# ---- models ----


def digits(device, size=None):
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = torch.tensor(bunch.data, dtype=torch.float32)
    x = (x - x.mean(0)) / x.std(0).clamp(min=1e-6)
    y = torch.tensor(bunch.target)
    if size:  # images, upsampled
        x = F.interpolate(torch.tensor(bunch.data, dtype=torch.float32).reshape(-1, 1, 8, 8) / 16, size=size, mode="bilinear", align_corners=False)
    return x.to(device), y.to(device)


def train_briefly(model, x, y, steps=150):
    """A few steps of Adam so the landscape is drawn around a trained model, as a user's would be."""
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(steps):
        idx = torch.randint(0, len(x), (128,), device=x.device)
        opt.zero_grad()
        F.cross_entropy(model(x[idx]), y[idx]).backward()
        opt.step()
    return model.eval()


def mlp():
    return nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))


def small_cnn():
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 4 * 4, 10),
    )


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.c1, self.b1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout)
        self.c2, self.b2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout)
        self.short = None if stride == 1 and cin == cout else nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = F.relu(self.b1(self.c1(x)))
        out = self.b2(self.c2(out))
        return F.relu(out + (x if self.short is None else self.short(x)))


def resnet20(classes=10):
    """He et al.'s CIFAR ResNet-20: 3 stages of 3 basic blocks, 16/32/64 channels (about 0.27M parameters)."""
    layers, cin = [nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU()], 16
    for cout, stride in ((16, 1), (32, 2), (64, 2)):
        for i in range(3):
            layers.append(Block(cin, cout, stride if i == 0 else 1))
            cin = cout
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, classes)]
    return nn.Sequential(*layers)


# ---- cases ----


def case(name, model, x, y, num, batch, limit, device, results, budget, slices=8):
    """Times both on the same grid, alternating slices of it (reference, Descent, reference, ...), so a machine whose
    load changes during the run slows both alike."""
    torch.manual_seed(0)
    batches = batches_of(x, y, batch)
    params = {n: p.detach() for n, p in model.named_parameters()}
    d1, d2 = dirs.random_directions(params, 2, seed=0, norm="filter", ignore="biasbn")
    coords = grid_coords(num, device)
    flops_per_point = forward_flops(model, x)
    start = time.perf_counter()
    ev = GridEvaluator(model, CE, batches, params, [d1, d2])
    setup_s = time.perf_counter() - start
    ref, mine, ref_s, mine_s = [], [], 0.0, setup_s
    for part in torch.tensor_split(coords, slices):
        losses, seconds = reference_loop(model, d1, d2, part, batches)
        ref += losses
        ref_s += seconds
        start = time.perf_counter()
        mine += ev.evaluate(part)[0]
        mine_s += time.perf_counter() - start
    ref_rate, mine_rate = len(ref) / ref_s, len(mine) / mine_s
    diff = max(abs(a - b) for a, b in zip(ref, mine))
    share = mine_rate * flops_per_point / limit
    ratio = mine_rate / ref_rate
    row = {
        "case": name, "grid": f"{num}x{num}", "samples": len(x), "parameters": sum(p.numel() for p in model.parameters()),
        "forwardMFLOPperPoint": flops_per_point / 1e6, "referencePointsPerS": ref_rate, "descentPointsPerS": mine_rate,
        "batch": batch, "descentChunks": len(ev.batches), "ratio": ratio, "descentGFLOPs": mine_rate * flops_per_point / 1e9, "shareOfMatmul": share, "maxAbsDiff": diff,
        "pointsPerPass": ev.points_per_pass, "vmap": ev.vmap, "firstLayerShared": ev.first_layer, "firstLayerReason": ev.first_layer_reason,
        "descentSetupS": setup_s, "budget": budget,
    }
    results.append(row)
    verdict = "" if ratio >= budget else "  OVER BUDGET"
    print(f"{name:8s} {num}x{num} grid, {len(x)} samples in {len(batches)} batches of {batch} (Descent: {len(ev.batches)} chunks), {row['parameters']} params, {flops_per_point / 1e6:.1f} MFLOP/point")
    print(f"  reference loop (copy_, evaluate, restore): {ref_rate:8.1f} points/s  ({ref_s:.2f} s)")
    shared = f"first layer {ev.first_layer} shared, {ev.first_layer_layout}" if ev.first_layer else f"first layer not shared: {ev.first_layer_reason}"
    print(f"  Descent ({'vmap, ' if ev.vmap and ev.points_per_pass > 1 else ''}K={ev.points_per_pass:3d}):            {mine_rate:8.1f} points/s  ({mine_s:.2f} s, {setup_s:.2f} s of it setting up; {shared})")
    print(f"  ratio {ratio:.2f}x (budget >= {budget}x){verdict}; Descent {row['descentGFLOPs']:.1f} GFLOP/s effective (whole-model FLOPs per point) = {100 * share:.1f} % of measured matmul; max |diff| {diff:.2e}")
    return row


def cpu_bench(args):
    device = torch.device("cpu")
    limit = matmul_flops(device, torch.float32)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; measured float32 matmul (2048x2048 mm): {limit / 1e9:.1f} GFLOP/s\n")
    results = []
    torch.manual_seed(0)
    x, y = digits(device)
    mlp_model = train_briefly(mlp(), x, y)
    torch.manual_seed(0)
    xi, yi = digits(device, size=(16, 16))
    cnn_model = train_briefly(small_cnn(), xi, yi, steps=60)
    # Each case twice, the same batches given to both sides: batches of 128, what Li et al.'s tool evaluates (its
    # loop is then overhead-bound, as the issue describes), and the whole dataset as one batch, the fastest the
    # reference loop gets on this data. Descent joins small batches itself (grid.join_batches); --cpu-batch N: one size.
    sizes = [args.cpu_batch] if args.cpu_batch else [128, len(x)]
    for batch in sizes:
        case(f"MLP/{batch}", mlp_model, x, y, args.mlp_grid, batch, limit, device, results, 2.0)
        case(f"CNN/{batch}", cnn_model, xi, yi, args.cnn_grid, batch, limit, device, results, 1.0)
    return {"matmulGFLOPs": limit / 1e9, "cases": results}


def gpu_bench(args):
    device = torch.device("cuda" if torch.cuda.is_available() and not args.smoke else "cpu")
    n, num, ref_limit_s = (10000, 51, 60.0) if not args.smoke else (32, 3, 5.0)
    torch.manual_seed(0)
    model = resnet20().to(device)
    x, y = torch.randn(n, 3, 32, 32, device=device), torch.randint(0, 10, (n,), device=device)
    train_briefly(model, x, y, steps=5 if args.smoke else 200)
    batch = min(n, args.batch)
    batches = batches_of(x, y, batch)
    peak32 = matmul_flops(device, torch.float32, n=4096 if device.type == "cuda" else 512)
    peak16 = matmul_flops(device, torch.bfloat16, n=8192 if device.type == "cuda" else 512)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(f"{name}: measured matmul {peak32 / 1e12:.2f} TFLOP/s float32, {peak16 / 1e12:.2f} TFLOP/s bf16" + (f"; nominal bf16 peak {args.peak_tflops} TFLOP/s" if args.peak_tflops else ""))
    d1, d2 = dirs.random_directions({k: p.detach() for k, p in model.named_parameters()}, 2, seed=0, norm="filter", ignore="biasbn")
    coords = grid_coords(num, device)
    flops = forward_flops(model, x[:batch]) * (n / batch)
    ref, ref_s = reference_loop(model, d1, d2, coords, batches, limit_s=ref_limit_s)
    ref_rate = len(ref) / ref_s
    bf, bf_s, bf_setup, ev16 = descent_engine(model, d1, d2, coords, [(a.bfloat16(), b) for a, b in batches], dtype=torch.bfloat16, points_per_pass=args.points_per_pass)
    fp, fp_s, fp_setup, ev32 = descent_engine(model, d1, d2, coords, batches, points_per_pass=args.points_per_pass)
    bf_rate, fp_rate = len(bf) / bf_s, len(fp) / fp_s
    peak = args.peak_tflops * 1e12 if args.peak_tflops else peak16
    out = {
        "device": name, "grid": f"{num}x{num}", "samples": n, "forwardGFLOPperPoint": flops / 1e9,
        "referencePointsPerS": ref_rate, "referencePointsTimed": len(ref), "descentBf16PointsPerS": bf_rate, "descentFp32PointsPerS": fp_rate,
        "ratioBf16": bf_rate / ref_rate, "ratioFp32": fp_rate / ref_rate, "bf16ShareOfPeak": bf_rate * flops / peak,
        "fp32ShareOfMatmul": fp_rate * flops / peak32, "maxAbsDiffBf16VsFp32": max(abs(a - b) for a, b in zip(bf, fp)),
        "maxRelDiffBf16VsFp32": max(abs(a - b) / max(abs(b), 1e-12) for a, b in zip(bf, fp)),
        "maxAbsDiffFp32VsReference": max(abs(a - b) for a, b in zip(fp, ref)), "pointsPerPass": [ev16.points_per_pass, ev32.points_per_pass],
        "firstLayerShared": [ev16.first_layer, ev32.first_layer],
    }
    print(f"ResNet-20 ({sum(p.numel() for p in model.parameters())} params), {num}x{num} grid, {n} inputs 32x32, {flops / 1e9:.2f} GFLOP/point")
    print(f"  reference loop float32: {ref_rate:.2f} points/s (first {len(ref)} points)")
    print(f"  Descent bf16 K={ev16.points_per_pass}: {bf_rate:.2f} points/s = {out['ratioBf16']:.1f}x (goal >= 10x), {100 * out['bf16ShareOfPeak']:.1f} % of bf16 peak (goal >= 30 %)")
    print(f"  Descent fp32 K={ev32.points_per_pass}: {fp_rate:.2f} points/s = {out['ratioFp32']:.1f}x, {100 * out['fp32ShareOfMatmul']:.1f} % of fp32 matmul")
    print(f"  max |bf16 - fp32| {out['maxAbsDiffBf16VsFp32']:.3e} (relative {out['maxRelDiffBf16VsFp32']:.2%}); max |fp32 - reference| {out['maxAbsDiffFp32VsReference']:.2e}")
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--gpu", action="store_true", help="the ResNet-20 case (on a CUDA GPU; --smoke: tiny, any device)")
    p.add_argument("--smoke", action="store_true")
    p.add_argument("--mlp-grid", type=int, default=41)
    p.add_argument("--cnn-grid", type=int, default=11)
    p.add_argument("--batch", type=int, default=2500, help="--gpu: inputs per batch")
    p.add_argument("--cpu-batch", type=int, default=0, help="CPU cases: inputs per batch, both sides (default: each case twice, with batches of 128 as Li et al.'s tool, and all 1,797 at once)")
    p.add_argument("--points-per-pass", type=int, help="--gpu: K (default: the engine's choice)")
    p.add_argument("--peak-tflops", type=float, help="--gpu: nominal dense bf16 peak of the GPU (default: measured bf16 matmul)")
    p.add_argument("--json", help="also write the figures to this file")
    args = p.parse_args()
    out = gpu_bench(args) if args.gpu else cpu_bench(args)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()
