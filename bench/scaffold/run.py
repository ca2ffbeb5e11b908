"""bench/scaffold: do the projects Descent generates really learn? (issue 5, "Quality, measured")

Generates each project below with the scaffold's headless entry (src/scaffold/cli.ts), trains it with its default
settings (epochs, batch size, learning rate: what "Enter, Enter, Enter" gives) on the CPU build of PyTorch, seeds
fixed, and prints the figure each one must reach, its wall time, and whether it did. The data are scikit-learn's
bundled sets: nothing is downloaded.

    python bench/scaffold/run.py [--only ID[,ID]] [--json FILE] [--threads N]

Run it with the tests' venv (`~/.cache/descent-tools/pyvenv/bin/python`, made by `npm run test:python`).
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# id, spec for the scaffold, the figure, the bar (from the issue).
CASES = [
    ("digits-cnn", {"task": "image-classification"}, "best val acc", ">= 0.95"),
    ("iris-mlp", {"task": "tabular-classification", "data": {"kind": "sklearn", "name": "iris"}, "architecture": "mlp"}, "best val acc", ">= 0.90"),
    ("cancer-logistic", {"task": "tabular-classification", "data": {"kind": "sklearn", "name": "breast_cancer"}, "architecture": "logistic"}, "best val acc", ">= 0.90"),
    ("digits-lstm", {"task": "sequence-classification", "architecture": "lstm"}, "best val acc", ">= 0.90"),
    ("digits-gru", {"task": "sequence-classification", "architecture": "gru"}, "best val acc", ">= 0.90"),
    ("digits-transformer", {"task": "sequence-classification", "architecture": "transformer"}, "best val acc", ">= 0.90"),
    ("diabetes-regression", {"task": "regression"}, "best val MAE / mean-predictor MAE", "<= 0.80"),
    ("digits-autoencoder", {"task": "autoencoding"}, "last / first val loss", "<= 0.50"),
    ("digits-vae", {"task": "autoencoding", "architecture": "vae"}, "last / first val loss (ELBO)", "< 1.00"),
    # The issue asks that transfer learning "runs end to end" on a small image folder: the bar is learning at all
    # (10 classes: chance is 0.10). Random weights (pretrained weights would download); every layer fine-tuned.
    ("digits-folder-transfer", {"task": "image-classification", "data": {"kind": "image-folder", "path": "data/digits", "imageSize": 32},
                                "architecture": "transfer", "pretrained": False, "freezeBackbone": False}, "best val acc", "> 0.10"),
]

# Transfer learning imports torchvision: PyPI's wheel for torch 2.13.0, installed beside the venv by
# test/tools/pytest.sh, runs on the CPU build with test/tools/torchvision-on-cpu on the path (see there why).
TORCHVISION_PATH = [
    os.path.join(ROOT, "test", "tools", "torchvision-on-cpu"),
    os.environ.get("DESCENT_TORCHVISION_DIR", os.path.expanduser("~/.cache/descent-tools/torchvision-0.28.0")),
]


def write_digits_folder(root):
    """scikit-learn's bundled digits as an image folder: one sub-folder per digit, 8x8 grey PNGs."""
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    for i, (image, label) in enumerate(zip(digits.images, digits.target)):
        folder = os.path.join(root, str(label))
        os.makedirs(folder, exist_ok=True)
        Image.fromarray((image * 255 / 16).astype(np.uint8)).save(os.path.join(folder, f"{i:04d}.png"))


def node_binary():
    tools = os.path.expanduser("~/.cache/descent-tools/node24/bin/node")
    return tools if os.path.exists(tools) else shutil.which("node")


def generate(spec, out):
    spec_file = out + ".spec.json"
    with open(spec_file, "w", encoding="utf-8") as f:
        json.dump(spec, f)
    done = subprocess.run(
        [node_binary(), "--import", "tsx", os.path.join("src", "scaffold", "cli.ts"), "--spec", spec_file, "--out", out],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the scaffold failed: {done.stderr.strip()}")


def read_jsonl(path):
    out = []
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if line:
                    out.append(json.loads(line))
    return out


def val_epochs(run_dir):
    by_epoch = {}
    for m in read_jsonl(os.path.join(run_dir, "metrics.jsonl")):
        if m.get("split") == "val" and "epoch" in m:
            by_epoch[m["epoch"]] = m
    return [by_epoch[e] for e in sorted(by_epoch)]


def mean_predictor_mae():
    from sklearn.datasets import load_diabetes

    y = load_diabetes().target
    return float(np.abs(y - y.mean()).mean())


def figure(case_id, val):
    if not val:
        return None
    if case_id == "diabetes-regression":
        return min(r["mae"] for r in val) / mean_predictor_mae()
    if "autoencoder" in case_id or "vae" in case_id:
        return val[-1]["loss"] / val[0]["loss"]
    return max(r["acc"] for r in val)


def meets(value, bar):
    op, limit = bar.split()
    limit = float(limit)
    return {">=": value >= limit, ">": value > limit, "<=": value <= limit, "<": value < limit}[op]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", default="")
    parser.add_argument("--json", default="")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: PyTorch's default)")
    args = parser.parse_args()
    only = set(filter(None, args.only.split(",")))
    import torch

    print(f"[bench:scaffold] torch {torch.__version__}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")
    rows = []
    work = tempfile.mkdtemp(prefix="descent-bench-scaffold-")
    try:
        for case_id, spec, what, bar in CASES:
            if only and case_id not in only:
                continue
            project = os.path.join(work, case_id)
            generate(spec, project)
            run_dir = os.path.join(work, case_id + "-run")
            path = [os.path.join(ROOT, "python")]
            if spec.get("architecture") == "transfer":
                path += TORCHVISION_PATH
            if spec.get("data", {}).get("kind") == "image-folder":
                write_digits_folder(os.path.join(project, spec["data"]["path"]))
            env = dict(os.environ, DESCENT_RUN_DIR=run_dir, PYTHONPATH=os.pathsep.join(path))
            if args.threads:
                env["OMP_NUM_THREADS"] = str(args.threads)
            config = json.load(open(os.path.join(project, "config.json"), encoding="utf-8"))
            start = time.time()
            done = subprocess.run([sys.executable, "train.py", "--device", "cpu"], cwd=project, env=env, capture_output=True, text=True, timeout=3600)
            seconds = time.time() - start
            val = val_epochs(run_dir)
            value = figure(case_id, val)
            ok = done.returncode == 0 and value is not None and meets(value, bar)
            rows.append({"id": case_id, "epochs": len(val), "configured_epochs": config.get("epochs"), "seconds": seconds,
                         "figure": what, "value": value, "bar": bar, "ok": ok,
                         "error": None if done.returncode == 0 else done.stderr.strip()[-800:]})
            shown = "—" if value is None else f"{value:.3f}"
            print(f"  {case_id:22s} {len(val):3d} epochs {seconds:7.1f}s  {what} = {shown} (bar {bar}) {'ok' if ok else 'MISSED'}", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print()
    print("| project | epochs run (configured) | wall time | figure | value | bar | met |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        shown = "—" if r["value"] is None else f"{r['value']:.3f}"
        print(f"| {r['id']} | {r['epochs']} ({r['configured_epochs']}) | {r['seconds']:.1f} s | {r['figure']} | {shown} | {r['bar']} | {'yes' if r['ok'] else '**no**'} |")
    for r in rows:
        if r["error"]:
            print(f"\n{r['id']} failed:\n{r['error']}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(rows, f, indent=2)
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
