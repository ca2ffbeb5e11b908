"""The Python side of bench/confusion/eval.ts: writes the models and data, and times onnxruntime's Python API.

  python eval_python.py setup OUT_DIR [--samples 20000] [--mlp-samples 200000]
      mlp.onnx (64 -> 128 -> 64 -> 10 on 8x8 digits-like data), cnn.onnx (1x28x28, two conv blocks, 10 classes),
      both exported by torch.onnx.export; mlp_x.npy float32 (N, 64), cnn_x.npy uint8 (N, 28, 28), labels *_y.npy.
  python eval_python.py run MODEL X.npy Y.npy --batch B --threads T [--scale] [--confidence] [--reps R]
      prints JSON: samples/s of each repetition (wall clock, and per CPU second of the process, all threads), end to end: np.load of the data, per batch the preprocessing
      (astype float32, /255 when --scale, reshape to the model input) and InferenceSession.run, then argmax; with
      --confidence also the softmax probability of the predicted class, as Descent's engine gives per sample.
"""
import argparse
import json
import sys
import time

import numpy as np


def setup(out, samples, mlp_samples):
    import torch

    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    mlp = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(), torch.nn.Linear(128, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10)).eval()
    cnn = torch.nn.Sequential(
        torch.nn.Conv2d(1, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(16, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(32 * 7 * 7, 10),
    ).eval()
    for name, model, example in [("mlp", mlp, torch.zeros(1, 64)), ("cnn", cnn, torch.zeros(1, 1, 28, 28))]:
        torch.onnx.export(model, example, f"{out}/{name}.onnx", input_names=["input"], output_names=["logits"],
                          dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, dynamo=False)
    # digits-like: 8x8 intensities 0..16 scaled to [0, 1]; MNIST-like: uint8 28x28 images.
    np.save(f"{out}/mlp_x.npy", (rng.integers(0, 17, (mlp_samples, 64)) / 16.0).astype(np.float32))
    np.save(f"{out}/mlp_y.npy", rng.integers(0, 10, mlp_samples))
    np.save(f"{out}/cnn_x.npy", rng.integers(0, 256, (samples, 28, 28), dtype=np.uint8))
    np.save(f"{out}/cnn_y.npy", rng.integers(0, 10, samples))


def run(model, x_path, y_path, batch, threads, scale, reps, confidence=False):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
    inp = sess.get_inputs()[0]
    shape = [d if isinstance(d, int) else -1 for d in inp.shape]
    rates = []
    cpu_rates = []
    preds = None
    for _ in range(reps):
        t0 = time.perf_counter()
        c0 = time.process_time()
        x = np.load(x_path)
        y = np.load(y_path)
        n = len(x)
        preds = np.empty(n, np.int64)
        confs = np.empty(n, np.float32)
        for i in range(0, n, batch):
            xb = x[i:i + batch].astype(np.float32)
            if scale:
                xb /= 255.0
            xb = xb.reshape([len(xb)] + shape[1:])
            scores = sess.run(None, {inp.name: xb})[0]
            preds[i:i + batch] = scores.argmax(1)
            if confidence:
                # softmax(scores)[argmax] = 1 / sum(exp(scores - max))
                confs[i:i + batch] = 1.0 / np.exp(scores - scores.max(1, keepdims=True)).sum(1)
        rates.append(n / (time.perf_counter() - t0))
        cpu_rates.append(n / (time.process_time() - c0))
    print(json.dumps({"samplesPerSecond": rates, "samplesPerCpuSecond": cpu_rates, "accuracy": float(np.mean(preds == y)), "predictions": preds[:50].tolist()}))


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["setup", "run"])
    ap.add_argument("paths", nargs="+")
    ap.add_argument("--samples", type=int, default=20000)
    ap.add_argument("--mlp-samples", type=int, default=200000)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--scale", action="store_true")
    ap.add_argument("--confidence", action="store_true")
    ap.add_argument("--reps", type=int, default=5)
    a = ap.parse_args()
    if a.mode == "setup":
        setup(a.paths[0], a.samples, a.mlp_samples)
    else:
        run(*a.paths, a.batch, a.threads, a.scale, a.reps, a.confidence)
    sys.exit(0)
