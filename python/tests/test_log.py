"""Tests for python/descent/log.py: the run format as the TypeScript readers expect it (src/protocol/runFormat.ts).

Crash safety and the environment switches are checked in real subprocesses, the way a training script runs.
"""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

PYTHON_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOG_FILE = os.path.join(PYTHON_DIR, "descent", "log.py")
sys.path.insert(0, PYTHON_DIR)
from descent import log  # noqa: E402

RESERVED = {"step", "t", "epoch", "split"}
NON_FINITE = {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}


def read_lines(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    assert text == "" or text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def check_metric_line(doc):
    """A metrics line as runFormat.ts specifies it."""
    assert isinstance(doc["step"], int) and doc["step"] >= 0
    assert isinstance(doc["t"], float)
    for key, value in doc.items():
        if key == "split":
            assert isinstance(value, str)
        elif key not in RESERVED:
            assert (isinstance(value, (int, float)) and not isinstance(value, bool)) or value in NON_FINITE, (key, value)


def run_script(body, env_extra=None, cwd=None):
    env = dict(os.environ)
    env.pop("DESCENT_RUN_DIR", None)
    env.pop("RANK", None)
    env.pop("LOCAL_RANK", None)
    env["PYTHONPATH"] = PYTHON_DIR
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-c", textwrap.dedent(body)], env=env, cwd=cwd, capture_output=True, text=True, timeout=120)


def test_values_of_every_kind(tmp_path):
    np = pytest.importorskip("numpy")
    torch = pytest.importorskip("torch")
    logger = log.Logger(str(tmp_path))
    logger.metrics(
        step=3, epoch=0.5, split="val",
        a=1, b=2.5, c=True, d=np.float32(0.25), e=np.int64(7), f=torch.tensor(0.125), g=torch.tensor([1.5]),
        h=float("nan"), i=float("inf"), j=-float("inf"), k=torch.tensor(float("nan")), bad="text", worse=torch.ones(3),
        **{"val/loss é": 1.0, 'q"uote': 2.0},
    )
    logger.metrics(split="train", loss=torch.tensor(1.0, requires_grad=True) * 2)  # step defaults to last + 1
    (doc, doc2) = read_lines(tmp_path / "metrics.jsonl")
    check_metric_line(doc)
    assert doc["step"] == 3 and doc["epoch"] == 0.5 and doc["split"] == "val"
    assert doc["a"] == 1 and doc["b"] == 2.5 and doc["c"] == 1 and doc["d"] == 0.25 and doc["e"] == 7
    assert doc["f"] == 0.125 and doc["g"] == 1.5
    assert (doc["h"], doc["i"], doc["j"], doc["k"]) == ("NaN", "Infinity", "-Infinity", "NaN")
    assert "bad" not in doc and "worse" not in doc
    assert doc["val/loss é"] == 1.0 and doc['q"uote'] == 2.0
    assert doc2["step"] == 4 and doc2["loss"] == 2.0


def test_events_and_run_json(tmp_path):
    np = pytest.importorskip("numpy")
    torch = pytest.importorskip("torch")
    logger = log.Logger(str(tmp_path / "run"), create_info=True)
    logger.hparams({"lr": np.float64(0.001), "layers": [64, 64], "opt": "adam"})
    logger.hparams({"batch": 32})
    logger.checkpoint("ckpt/e1.pt", step=10, metric="val_loss", value=torch.tensor(0.5))
    logger.confusion(["a", "b"], torch.tensor([[3, 1], [0, 4]]), split="val", epoch=1, step=10)
    logger.confusion(["a", "b", "c"], [[1, 2], [3, 4]])  # wrong shape: skipped with a warning
    logger.finish("finished")
    events = read_lines(tmp_path / "run" / "events.jsonl")
    assert [e["event"] for e in events] == ["checkpoint", "confusion"]
    assert events[0]["path"] == "ckpt/e1.pt" and events[0]["value"] == 0.5 and events[0]["step"] == 10
    assert events[1]["matrix"] == [[3, 1], [0, 4]] and events[1]["labels"] == ["a", "b"]
    with open(tmp_path / "run" / "run.json", encoding="utf-8") as f:
        info = json.load(f)
    assert info["formatVersion"] == 1 and info["status"] == "finished" and info["endTime"].endswith("Z")
    assert info["hyperparameters"] == {"lr": 0.001, "layers": [64, 64], "opt": "adam", "batch": 32}
    assert info["name"] == "run" and isinstance(info["args"], list) and info["pid"] == os.getpid()
    with pytest.raises(ValueError):
        log.Logger(str(tmp_path / "run")).finish("exploded")


def test_killed_process_leaves_every_completed_line(tmp_path):
    run = tmp_path / "killed"
    body = """
        import sys
        from descent import log
        log.init(%r)
        step = 0
        while True:
            log.metrics(step=step, split="train", loss=1.0 / (step + 1), acc=step * 1e-6, **{"m%%d" %% (step %% 7): 1.0})
            step += 1
            if step == 2000:
                print("ready", flush=True)
    """ % str(run)
    env = dict(os.environ, PYTHONPATH=PYTHON_DIR)
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(body)], env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    with open(run / "metrics.jsonl", "rb") as f:
        data = f.read()
    assert data.endswith(b"\n"), "a record was cut in the middle"
    docs = [json.loads(line) for line in data.decode("utf-8").splitlines()]
    assert len(docs) >= 2000
    assert [d["step"] for d in docs] == list(range(len(docs)))
    for d in docs[:50]:
        check_metric_line(d)
    with open(run / "run.json", encoding="utf-8") as f:
        assert json.load(f)["status"] == "running"


@pytest.mark.parametrize("env", [{"RANK": "1"}, {"LOCAL_RANK": "2"}, {"RANK": "3", "LOCAL_RANK": "0"}])
def test_only_rank_zero_writes(tmp_path, env):
    r = run_script(
        """
        from descent import log
        log.metrics(step=0, loss=1.0)
        log.checkpoint("x.pt", 0)
        log.hparams({"a": 1})
        log.finish("finished")
        print(log.enabled())
        """,
        dict(env, DESCENT_RUN_DIR=str(tmp_path / "run")),
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "False"
    assert not (tmp_path / "run").exists()


def test_rank_zero_writes(tmp_path):
    r = run_script(
        "from descent import log\nlog.metrics(step=0, loss=1.0)\n",
        {"DESCENT_RUN_DIR": str(tmp_path / "run"), "RANK": "0", "LOCAL_RANK": "0"},
    )
    assert r.returncode == 0, r.stderr
    assert len(read_lines(tmp_path / "run" / "metrics.jsonl")) == 1


def test_no_run_dir_is_a_no_op(tmp_path):
    r = run_script(
        """
        from descent import log
        log.metrics(step=0, loss=1.0)
        log.checkpoint("x.pt", 0)
        log.confusion(["a"], [[1]])
        log.hparams({"a": 1})
        log.finish("finished")
        print(log.enabled(), log.run_dir())
        """,
        cwd=str(tmp_path),
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "False None"
    assert os.listdir(tmp_path) == []


def test_descent_run_dir_is_used(tmp_path):
    run = tmp_path / "runs" / "r1"
    run.mkdir(parents=True)
    (run / "run.json").write_text(json.dumps({"formatVersion": 1, "id": "x", "name": "r1", "status": "running"}))
    r = run_script(
        "from descent import log\nlog.hparams({'lr': 0.1})\nlog.metrics(step=0, loss=1.0)\n",
        {"DESCENT_RUN_DIR": str(run)},
    )
    assert r.returncode == 0, r.stderr
    info = json.loads((run / "run.json").read_text())
    assert info["id"] == "x" and info["hyperparameters"] == {"lr": 0.1} and info["status"] == "running"
    assert read_lines(run / "metrics.jsonl")[0]["loss"] == 1.0


def test_standalone_init_marks_the_end(tmp_path):
    ok = run_script("from descent import log\nlog.init('runs/ok')\nlog.metrics(step=0, loss=1.0)\n", cwd=str(tmp_path))
    assert ok.returncode == 0, ok.stderr
    crash = run_script("from descent import log\nlog.init('runs/bad')\nraise RuntimeError('boom')\n", cwd=str(tmp_path))
    assert crash.returncode != 0 and "boom" in crash.stderr
    assert json.loads((tmp_path / "runs" / "ok" / "run.json").read_text())["status"] == "finished"
    assert json.loads((tmp_path / "runs" / "bad" / "run.json").read_text())["status"] == "failed"


def test_the_file_works_copied_alone(tmp_path):
    import shutil

    shutil.copy(LOG_FILE, tmp_path / "descent_log.py")
    r = run_script(
        "import descent_log as log\nlog.init('runs/x')\nlog.metrics(step=1, loss=0.5)\nlog.finish('finished')\n",
        {"PYTHONPATH": ""},
        cwd=str(tmp_path),
    )
    assert r.returncode == 0, r.stderr
    assert read_lines(tmp_path / "runs" / "x" / "metrics.jsonl")[0]["loss"] == 0.5


def test_per_call_cost_is_small(tmp_path):
    logger = log.Logger(str(tmp_path))
    n = 20000
    start = time.perf_counter()
    for i in range(n):
        logger.metrics(step=i, epoch=0, split="train", loss=0.5, acc=0.25)
    per_call = (time.perf_counter() - start) / n
    # Generous bound for shared CI machines; bench/ingest measures it properly (a few microseconds).
    assert per_call < 100e-6, per_call
