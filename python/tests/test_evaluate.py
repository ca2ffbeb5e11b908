"""descent-eval (dist/cli/descent-eval.js, the engine behind Descent: Evaluate Model) against the references:
models exported by torch.onnx.export, predictions compared with onnxruntime's Python API on the same inputs, and the
confusion matrix and every per-class metric compared with scikit-learn, also on many random prediction sets."""

import json
import os
import shutil
import subprocess

import numpy as np
import pytest

torch = pytest.importorskip("torch")
ort = pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")
metrics = pytest.importorskip("sklearn.metrics")
datasets = pytest.importorskip("sklearn.datasets")
Image = pytest.importorskip("PIL.Image")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLI = os.path.join(ROOT, "dist", "cli", "descent-eval.js")


def find_node():
    node = shutil.which("node")
    fallback = os.path.expanduser("~/.cache/descent-tools/node24/bin/node")
    return node or (fallback if os.path.exists(fallback) else None)


@pytest.fixture(scope="module")
def cli():
    node = find_node()
    if node is None:
        pytest.skip("node is not installed (needed to run dist/cli/descent-eval.js)")
    if not os.path.exists(CLI):
        # test-all.sh builds before the python stage; a direct pytest run builds here.
        done = subprocess.run([node, "esbuild.mjs"], cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr

    def run(*args, expect=0):
        done = subprocess.run([node, CLI, *map(str, args)], capture_output=True, text=True, timeout=300)
        assert done.returncode == expect, f"exit {done.returncode}\nstdout: {done.stdout[-2000:]}\nstderr: {done.stderr[-2000:]}"
        return json.loads(done.stdout) if expect == 0 and "--format" not in args else done

    return run


def export(model, example, path):
    model.eval()
    torch.onnx.export(model, example, str(path), input_names=["input"], output_names=["scores"],
                      dynamic_axes={"input": {0: "batch"}, "scores": {0: "batch"}}, dynamo=False)
    return path


def ort_predictions(path, x, threads=1):
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    scores = sess.run(None, {sess.get_inputs()[0].name: x})[0]
    return scores


def assert_same_predictions(got, scores):
    """Equal argmax; a row may differ only where its top two scores tie within float noise."""
    want = scores.argmax(1)
    got = np.asarray(got)
    diff = np.nonzero(got != want)[0]
    for i in diff:
        top = np.sort(scores[i])[-2:]
        assert top[1] - top[0] < 1e-5, f"sample {i}: descent-eval predicted {got[i]}, onnxruntime {want[i]} (scores {scores[i]})"


def assert_matches_sklearn(doc, y_true, y_pred, labels):
    n = len(labels)
    assert doc["labels"] == list(labels)
    cm = metrics.confusion_matrix(y_true, y_pred, labels=list(range(n)))
    assert np.array_equal(np.array(doc["matrix"]), cm)
    p, r, f, s = metrics.precision_recall_fscore_support(y_true, y_pred, labels=list(range(n)), zero_division=0)
    summary = doc["summary"]
    assert summary["n"] == n and summary["total"] == len(y_true)
    for i, c in enumerate(summary["classes"]):
        assert c["index"] == i and c["label"] == labels[i]
        assert c["precision"] == pytest.approx(p[i], abs=1e-12)
        assert c["recall"] == pytest.approx(r[i], abs=1e-12)
        assert c["f1"] == pytest.approx(f[i], abs=1e-12)
        assert c["support"] == s[i]
        assert c["predicted"] == int(np.sum(np.asarray(y_pred) == i))
    assert summary["accuracy"] == pytest.approx(metrics.accuracy_score(y_true, y_pred), abs=1e-12)
    for avg in ("macro", "weighted"):
        ap, ar, af, _ = metrics.precision_recall_fscore_support(y_true, y_pred, labels=list(range(n)), average=avg, zero_division=0)
        assert summary[avg]["precision"] == pytest.approx(ap, abs=1e-12)
        assert summary[avg]["recall"] == pytest.approx(ar, abs=1e-12)
        assert summary[avg]["f1"] == pytest.approx(af, abs=1e-12)


@pytest.fixture(scope="module")
def digits():
    x, y = datasets.load_digits(return_X_y=True)
    return x.astype(np.float32) / 16.0, y.astype(np.int64)


@pytest.fixture(scope="module")
def mlp(tmp_path_factory, digits):
    """A small MLP trained briefly on scikit-learn's digits (so predictions are neither constant nor perfect)."""
    torch.manual_seed(0)
    x, y = digits
    model = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))
    opt = torch.optim.Adam(model.parameters(), 1e-2)
    for _ in range(15):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(torch.from_numpy(x)), torch.from_numpy(y)).backward()
        opt.step()
    return export(model, torch.zeros(1, 64), tmp_path_factory.mktemp("mlp") / "mlp.onnx")


def test_mlp_on_digits_equals_onnxruntime_and_sklearn(cli, mlp, digits, tmp_path):
    x, y = digits
    data = tmp_path / "digits.npz"
    np.savez(data, x=x, y=y)
    doc = cli("--model", mlp, "--data", data, "--batch", 100, "--threads", 1, "--include-predictions")
    assert doc["samples"] == len(y) and doc["labelSource"] == "indices" and doc["input"]["name"] == "input"
    assert doc["yTrue"] == y.tolist()
    scores = ort_predictions(mlp, x)
    assert_same_predictions(doc["yPred"], scores)
    acc = float(np.mean(scores.argmax(1) == y))
    assert 0.3 < acc < 1.0, f"the test model should be imperfect, accuracy {acc}"
    assert_matches_sklearn(doc, y, doc["yPred"], [str(i) for i in range(10)])
    # The confidence is the softmax probability of the predicted class.
    e = np.exp(scores - scores.max(1, keepdims=True))
    np.testing.assert_allclose(doc["confidence"], (e / e.sum(1, keepdims=True)).max(1), rtol=1e-4)


def test_mlp_on_npy_pair_and_csv_with_string_targets(cli, mlp, digits, tmp_path):
    x, y = digits
    np.save(tmp_path / "x.npy", x.astype(np.float64))
    np.save(tmp_path / "y.npy", y.astype(np.int32))
    doc = cli("--model", mlp, "--data", tmp_path / "x.npy", "--labels", tmp_path / "y.npy", "--include-predictions")
    assert_same_predictions(doc["yPred"], ort_predictions(mlp, x))
    names = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    with open(tmp_path / "d.csv", "w") as f:
        f.write(",".join(f"p{i}" for i in range(64)) + ",digit\n")
        for row, t in zip(x, y):
            f.write(",".join(repr(float(v)) for v in row) + f",{names[t]}\n")
    doc = cli("--model", mlp, "--data", tmp_path / "d.csv", "--target", "digit", "--batch", 64, "--include-predictions")
    order = sorted(names)
    assert doc["labels"] == order and doc["labelSource"] == "dataset"
    assert doc["yTrue"] == [order.index(names[t]) for t in y]


def test_cnn_on_uint8_images_with_scale_and_normalisation(cli, tmp_path):
    """A small CNN on 1x16x16 inputs; uint8 (N, 16, 16) data in a compressed (DEFLATED) .npz, scaled and normalised."""
    torch.manual_seed(1)
    cnn = torch.nn.Sequential(torch.nn.Conv2d(1, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                              torch.nn.Conv2d(8, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(2),
                              torch.nn.Flatten(), torch.nn.Linear(32, 5))
    model = export(cnn, torch.zeros(1, 1, 16, 16), tmp_path / "cnn.onnx")
    rng = np.random.default_rng(3)
    x = rng.integers(0, 256, (700, 16, 16), dtype=np.uint8)
    y = rng.integers(0, 5, 700)
    np.savez_compressed(tmp_path / "imgs.npz", images=x, labels=y, class_names=np.array(list("vwxyz")))
    doc = cli("--model", model, "--data", tmp_path / "imgs.npz", "--scale", "--mean", "0.5", "--std", "0.25", "--batch", 128, "--include-predictions")
    assert doc["labels"] == list("vwxyz") and doc["labelSource"] == "dataset"
    ref = ((x.astype(np.float32) / 255.0 - 0.5) / 0.25)[:, None, :, :]
    scores = ort_predictions(model, ref)
    assert_same_predictions(doc["yPred"], scores)
    assert len(set(doc["yPred"])) > 1
    assert_matches_sklearn(doc, y, doc["yPred"], list("vwxyz"))


def test_image_folder_equals_pillow_then_onnxruntime(cli, tmp_path):
    torch.manual_seed(2)
    cnn = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(4 * 10 * 10, 3))
    model = export(cnn, torch.zeros(1, 3, 12, 12), tmp_path / "rgb.onnx")
    rng = np.random.default_rng(4)
    files, labels = [], []
    for ci, cls in enumerate(["bird", "cat", "dog"]):
        os.makedirs(tmp_path / "imgs" / cls)
        for i in range(6):
            path = tmp_path / "imgs" / cls / f"{i}.png"
            Image.fromarray(rng.integers(0, 256, (12, 12, 3), dtype=np.uint8), "RGB").save(path)
            files.append(path)
            labels.append(ci)
    mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
    doc = cli("--model", model, "--data", tmp_path / "imgs", "--scale", "--mean", ",".join(map(str, mean)), "--std", ",".join(map(str, std)), "--include-predictions")
    assert doc["labels"] == ["bird", "cat", "dog"] and doc["yTrue"] == labels
    x = np.stack([np.asarray(Image.open(f).convert("RGB"), np.float32) / 255.0 for f in files])
    x = ((x - np.array(mean, np.float32)) / np.array(std, np.float32)).transpose(0, 3, 1, 2).astype(np.float32)
    assert_same_predictions(doc["yPred"], ort_predictions(model, x))


def test_class_names_from_onnx_metadata(cli, mlp, digits, tmp_path):
    m = onnx.load(str(mlp))
    onnx.helper.set_model_props(m, {"labels": json.dumps([f"d{i}" for i in range(10)])})
    onnx.save(m, str(tmp_path / "named.onnx"))
    x, y = digits
    np.savez(tmp_path / "d.npz", x=x[:50], y=y[:50])
    doc = cli("--model", tmp_path / "named.onnx", "--data", tmp_path / "d.npz")
    assert doc["labelSource"] == "model metadata" and doc["labels"] == [f"d{i}" for i in range(10)]


@pytest.mark.parametrize("seed", range(40))
def test_random_predictions_match_sklearn(cli, tmp_path, seed):
    """Random cases, including classes never predicted and classes absent from the true labels."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 40))
    size = int(rng.integers(1, 400))
    present = rng.choice(n, size=max(1, int(rng.integers(1, n + 1))), replace=False)
    predicted = rng.choice(n, size=max(1, int(rng.integers(1, n + 1))), replace=False)
    y_true = rng.choice(present, size)
    y_pred = np.where(rng.random(size) < 0.5, y_true, rng.choice(predicted, size))
    labels = [f"c{i}" for i in range(n)]
    path = tmp_path / "preds.npz"
    if seed % 2:
        np.savez(path, y_true=y_true, y_pred=y_pred, labels=np.array(labels))
    else:
        labels = [str(i) for i in range(max(y_true.max(), y_pred.max()) + 1)]
        np.savez(path, y_true=y_true.astype(np.int32), y_pred=y_pred)
    doc = cli("--predictions", path)
    assert_matches_sklearn(doc, y_true, y_pred, labels)


def test_clear_errors_and_exit_codes(cli, mlp, digits, tmp_path):
    x, y = digits
    (tmp_path / "junk.onnx").write_bytes(b"\x00\x01 definitely not protobuf \xff" * 10)
    np.savez(tmp_path / "d.npz", x=x[:20], y=y[:20])
    done = cli("--model", tmp_path / "junk.onnx", "--data", tmp_path / "d.npz", "--format", "json", expect=1)
    assert "junk.onnx is not an ONNX model" in done.stderr
    np.savez(tmp_path / "img.npz", x=np.zeros((4, 8, 9), np.float32), y=np.zeros(4, np.int64))
    done = cli("--model", mlp, "--data", tmp_path / "img.npz", "--format", "json", expect=1)
    assert "shape (8, 9) but the model input 'input' expects (?, 64)" in done.stderr
    bad = y[:20].copy()
    bad[7] = 11
    np.savez(tmp_path / "bad.npz", x=x[:20], y=bad)
    done = cli("--model", mlp, "--data", tmp_path / "bad.npz", "--format", "json", expect=1)
    assert "label 11 of sample 7" in done.stderr
    done = cli("--model", mlp, "--format", "json", expect=2)
    assert "--model and --data are required" in done.stderr
    done = cli("--model", mlp, "--data", tmp_path / "d.npz", "--format", "text")
    assert "accuracy" in done.stdout and "confusion matrix" in done.stdout
