"""Writes the evaluation readers' fixtures with real NumPy, Pillow and PyTorch (test/unit/evaluate-*.test.ts).

Usage: python evaluate-fixtures.py OUT_DIR
Values are simple functions of the index so the TypeScript side can recompute what it should read.
"""
import os
import sys

import numpy as np

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
p = lambda *names: os.path.join(out, *names)

# .npy of every supported dtype: value = index (mod 256 for uint8), shape (6, 2, 3).
base = np.arange(36).reshape(6, 2, 3)
for dtype in ["float32", "float64", "uint8", "int64", "int32"]:
    np.save(p(f"{dtype}.npy"), base.astype(dtype))
np.save(p("labels.npy"), np.array([0, 1, 2, 0, 1, 2], dtype=np.int64))
np.save(p("labels_negative.npy"), np.array([-3, 1, 2, 0, -1, 2], dtype=np.int64))
np.save(p("labels_huge.npy"), np.array([0, 1, 2, 0, 2**40, 2], dtype=np.int64))
np.save(p("fortran.npy"), np.asfortranarray(base.astype(np.float32)))
np.save(p("object.npy"), np.array([{"a": 1}, None], dtype=object), allow_pickle=True)

# .npz stored and deflated: the same arrays; plus class names and unconventional keys.
x = (np.arange(50 * 4 * 4) % 251).reshape(50, 4, 4).astype(np.uint8)
y = (np.arange(50) % 3).astype(np.int64)
names = np.array(["ant", "bee", "cicada"])
np.savez(p("stored.npz"), x=x, y=y, class_names=names)
np.savez_compressed(p("deflated.npz"), x=x, y=y, class_names=names)
np.savez(p("keys.npz"), pixels=x.astype(np.float32), answers=y)

# Predictions for --predictions style reading.
np.savez(p("preds.npz"), y_true=np.array([0, 1, 2, 2]), y_pred=np.array([0, 2, 2, 1]), labels=np.array(["a", "b", "c"]))

# CSV with string targets (not in sorted order) and one with a bad value.
with open(p("iris.csv"), "w") as f:
    f.write("a,b,species,c\n")
    for i in range(7):
        f.write(f"{i},{i * 0.5},{['virginica', 'setosa', 'versicolor'][i % 3]},{-i}\n")
with open(p("bad.csv"), "w") as f:
    f.write("a,b,label\n1,2,0\n3,oops,1\n")

# Image folder: class folders out of sorted order, RGB, L and RGBA PNGs and a JPEG.
from PIL import Image

def pixels(h, w, c, seed):
    return ((np.arange(h * w * c).reshape(h, w, c) * 7 + seed) % 256).astype(np.uint8)

for cls, seed in [("zebra", 1), ("apple", 2)]:
    os.makedirs(p("images", cls), exist_ok=True)
    Image.fromarray(pixels(5, 6, 3, seed), "RGB").save(p("images", cls, "a_rgb.png"))
    Image.fromarray(pixels(5, 6, 1, seed)[:, :, 0], "L").save(p("images", cls, "b_gray.png"))
    Image.fromarray(pixels(5, 6, 4, seed), "RGBA").save(p("images", cls, "c_rgba.png"))
    Image.fromarray(np.full((8, 8, 3), 200, np.uint8), "RGB").save(p("images", cls, "d.jpg"), quality=95)
    with open(p("images", cls, "notes.txt"), "w") as f:
        f.write("not an image")

# A small MLP on 64 features, and a long dataset for the worker's progress and cancel.
if len(sys.argv) > 2 and sys.argv[2] == "--models":
    import torch

    torch.manual_seed(0)
    mlp = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10)).eval()
    torch.onnx.export(mlp, torch.zeros(1, 64), p("mlp.onnx"), input_names=["x"], output_names=["logits"],
                      dynamic_axes={"x": {0: "batch"}, "logits": {0: "batch"}}, dynamo=False)
    rng = np.random.default_rng(0)
    np.savez(p("long.npz"), x=rng.standard_normal((60000, 64), dtype=np.float32), y=rng.integers(0, 10, 60000))
    small = rng.standard_normal((300, 64), dtype=np.float32)
    small_y = rng.integers(0, 10, 300)
    np.savez(p("small.npz"), x=small, y=small_y)
    with torch.no_grad():
        np.savez(p("small_pred.npz"), y_true=small_y, y_pred=mlp(torch.from_numpy(small)).argmax(1).numpy())
