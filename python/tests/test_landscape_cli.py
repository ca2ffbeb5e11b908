"""`python -m descent.landscape` as the extension runs it: a scaffolded project trained for real, a --setup file,
cancel with SIGINT and --resume, and clear errors for bad input."""

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import pytest

pytest.importorskip("torch")
pytest.importorskip("sklearn")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PYTHON_DIR = os.path.join(ROOT, "python")


def env(**extra):
    e = dict(os.environ)
    for key in ("DESCENT_RUN_DIR", "RANK", "LOCAL_RANK"):
        e.pop(key, None)
    e["PYTHONPATH"] = PYTHON_DIR
    e.update(extra)
    return e


def landscape(args, **kw):
    return subprocess.run([sys.executable, "-m", "descent.landscape"] + args, env=env(), capture_output=True, text=True, timeout=300, **kw)


def lines_of(stdout):
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def check_result(doc, dims):
    """landscape.json as src/protocol/landscape.ts reads it (format version 1), complete."""
    assert doc["formatVersion"] == 1 and doc["status"] == "done" and doc["engine"] == "torch"
    assert doc["device"] == "cpu" and doc["dtype"] == "float32"
    assert doc["model"]["source"] == "checkpoint" and doc["model"]["parameters"] > 0 and os.path.exists(doc["model"]["path"])
    assert doc["grid"]["dims"] == dims
    rows = doc["grid"]["y"]["num"] if dims == 2 else 1
    cols = doc["grid"]["x"]["num"]
    for key in ("loss", "accuracy"):
        grid = doc["metrics"][key]
        assert len(grid) == rows and all(len(r) == cols for r in grid)
        assert all(isinstance(v, float) for r in grid for v in r)
    # Progress counts the validation points too (1D landscapes of a project evaluate both splits).
    assert doc["progress"]["done"] == doc["progress"]["total"] == rows * cols * (2 if doc.get("valMetrics") else 1)
    assert isinstance(doc["origin"]["loss"], float) and 0 <= doc["origin"]["accuracy"] <= 1
    flat = [v for r in doc["metrics"]["loss"] for v in r]
    assert doc["minimum"]["loss"] == min(flat)
    assert doc["directions"]["file"] == "directions.pt"
    assert doc["createdAt"].endswith("Z") and doc["finishedAt"].endswith("Z")
    assert isinstance(doc["parameters"]["vmap"], bool)


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """The default scaffolded project (digits MLP with batch norm), trained 2 epochs under Descent's logger."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    work = tmp_path_factory.mktemp("landscape")
    spec = work / "spec.json"
    spec.write_text('{"task": "tabular-classification"}')
    project = work / "project"
    done = subprocess.run([node, "--import", "tsx", os.path.join("src", "scaffold", "cli.ts"), "--spec", str(spec), "--out", str(project)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    run_dir = project / "runs" / "first"
    done = subprocess.run([sys.executable, "train.py", "--epochs", "2", "--device", "cpu"], cwd=project,
                          env=env(DESCENT_RUN_DIR=str(run_dir)), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return project, run_dir


def test_scaffolded_project_2d_and_pca(trained_run):
    project, run_dir = trained_run
    done = landscape(["--run", str(run_dir), "--x", "-1:1:5", "--y", "-1:1:5", "--samples", "300", "--batch-size", "128", "--name", "grid", "--sharpness", "--sharpness-iterations", "5"])
    assert done.returncode == 0, done.stderr
    events = lines_of(done.stdout)
    assert events[-1] == {"type": "done", "dir": str(run_dir / "landscapes" / "grid")}
    assert all(e["type"] == "progress" for e in events[:-1]) and events[-2]["done"] == 25
    folder = run_dir / "landscapes" / "grid"
    doc = json.loads((folder / "landscape.json").read_text())
    check_result(doc, 2)
    assert (folder / "directions.pt").exists()
    assert doc["model"]["project"] == str(project)
    assert os.path.basename(doc["model"]["path"]) == "best.pt"
    assert doc["data"] == {"split": "train", "samples": 300, "batchSize": 128}
    # The centre of the grid is the origin; the trained model is near a minimum there.
    assert doc["metrics"]["loss"][2][2] == pytest.approx(doc["origin"]["loss"], abs=1e-5)
    assert doc["metrics"]["loss"][2][2] < doc["metrics"]["loss"][0][0]
    assert doc["sharpness"]["topEigenvalue"] > 0 and doc["sharpness"]["samples"] == 300

    done = landscape(["--run", str(run_dir), "--directions", "pca", "--x", "-1:1:5", "--y", "-1:1:5", "--samples", "300", "--name", "pca"])
    assert done.returncode == 0, done.stderr
    doc = json.loads((run_dir / "landscapes" / "pca" / "landscape.json").read_text())
    check_result(doc, 2)
    ev = doc["directions"]["explainedVariance"]
    assert doc["directions"]["kind"] == "pca" and len(ev) == 2 and ev[0] >= ev[1] >= 0 and ev[0] + ev[1] <= 1 + 1e-9
    path = doc["path"]
    assert path["labels"][:3] == ["init", "epoch 1", "epoch 2"] and len(path["x"]) == len(path["y"]) == len(path["labels"])

    done = landscape(["--run", str(run_dir), "--directions", "interpolate", "--dims", "1", "--x", "0:1:6", "--samples", "200", "--name", "line"])
    assert done.returncode == 0, done.stderr
    doc = json.loads((run_dir / "landscapes" / "line" / "landscape.json").read_text())
    check_result(doc, 1)
    assert doc["directions"]["from"].endswith("epoch_000_init.pt")
    # Training lowered the loss: the end of the line (the trained model) is below its start (the initial weights).
    assert doc["metrics"]["loss"][0][-1] < doc["metrics"]["loss"][0][0]
    assert len(doc["valMetrics"]["loss"][0]) == 6

    # The loss at the origin on the whole validation split is the validation loss train.py logged for best.pt.
    done = landscape(["--run", str(run_dir), "--dims", "1", "--x", "-1:1:3", "--split", "val", "--samples", "100000", "--name", "val"])
    assert done.returncode == 0, done.stderr
    doc = json.loads((run_dir / "landscapes" / "val" / "landscape.json").read_text())
    logged = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    best_val = min(m["loss"] for m in logged if m.get("split") == "val")
    assert doc["origin"]["loss"] == pytest.approx(best_val, abs=1e-5)
    assert "valMetrics" not in doc


SETUP = textwrap.dedent('''
    import torch
    import torch.nn as nn
    from torch.utils.data import TensorDataset

    def landscape_setup():
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))
        g = torch.Generator().manual_seed(1)
        data = TensorDataset(torch.randn(2000, 64, generator=g), torch.randint(0, 10, (2000,), generator=g))
        return model, data, nn.CrossEntropyLoss()
''')


def test_cancel_with_sigint_then_resume_equals_an_uninterrupted_run(tmp_path):
    (tmp_path / "setup.py").write_text(SETUP)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    common = ["--run", str(run_dir), "--setup", str(tmp_path / "setup.py"), "--x", "-1:1:13", "--y", "-1:1:13", "--samples", "2000", "--points-per-pass", "2"]
    process = subprocess.Popen([sys.executable, "-m", "descent.landscape"] + common + ["--name", "cut"], env=env(DESCENT_LANDSCAPE_SAVE_SECONDS="0.1"),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = None
    deadline = time.time() + 120
    while time.time() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        event = json.loads(line)
        if event["type"] == "progress" and 0 < event["done"] < event["total"]:
            seen = event
            process.send_signal(signal.SIGINT)
            break
    assert seen is not None, "no progress line before the end"
    out, err = process.communicate(timeout=120)
    assert process.returncode == 128 + signal.SIGINT, err
    assert lines_of(out)[-1]["type"] == "cancelled"
    folder = run_dir / "landscapes" / "cut"
    doc = json.loads((folder / "landscape.json").read_text())
    assert doc["status"] == "cancelled"
    flat = [v for r in doc["metrics"]["loss"] for v in r]
    assert 0 < sum(v is not None for v in flat) < len(flat)

    done = landscape(["--run", str(run_dir), "--resume", "--name", "cut"])
    assert done.returncode == 0, done.stderr
    resumed = json.loads((folder / "landscape.json").read_text())
    assert resumed["status"] == "done" and resumed["progress"]["done"] == 169

    done = landscape(common + ["--name", "whole"])
    assert done.returncode == 0, done.stderr
    whole = json.loads((run_dir / "landscapes" / "whole" / "landscape.json").read_text())
    for key in ("loss", "accuracy"):
        a = [v for r in resumed["metrics"][key] for v in r]
        b = [v for r in whole["metrics"][key] for v in r]
        assert max(abs(x - y) for x, y in zip(a, b)) < 1e-5
    assert resumed["origin"]["loss"] == pytest.approx(whole["origin"]["loss"], abs=1e-6)


def test_bad_input_gets_a_clear_message(tmp_path, trained_run):
    project, run_dir = trained_run
    empty = tmp_path / "empty-run"
    empty.mkdir()
    done = landscape(["--run", str(empty), "--project", str(project), "--checkpoint", str(tmp_path / "missing.pt")])
    assert done.returncode == 2 and "checkpoint not found" in done.stderr and "Traceback" not in done.stderr
    assert lines_of(done.stdout)[-1]["type"] == "error"

    done = landscape(["--run", str(empty)])
    assert done.returncode == 2 and "--project DIR" in done.stderr and "--setup" in done.stderr

    (tmp_path / "nosetup.py").write_text("x = 1\n")
    done = landscape(["--run", str(empty), "--setup", str(tmp_path / "nosetup.py")])
    assert done.returncode == 2 and "landscape_setup()" in done.stderr

    # A checkpoint of another model: shapes differ.
    import torch

    torch.save({"model": {"layers.1.weight": torch.zeros(3, 3)}}, tmp_path / "other.pt")
    done = landscape(["--run", str(run_dir), "--checkpoint", str(tmp_path / "other.pt"), "--x", "-1:1:3", "--y", "-1:1:3"])
    assert done.returncode == 2 and "does not fit the model" in done.stderr

    done = landscape(["--run", str(run_dir), "--x", "1:-1:3"])
    assert done.returncode == 2 and "MIN < MAX" in done.stderr
