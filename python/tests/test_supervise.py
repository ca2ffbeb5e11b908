"""Tests for python/descent/supervise.py: the launcher's supervisor completes run.json and keeps stderr's tail, in real
subprocesses, the way the extension starts it."""

import json
import os
import signal
import subprocess
import sys
import time

PYTHON_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, PYTHON_DIR)
from descent import supervise  # noqa: E402


def start(run_dir, code, **kwargs):
    env = dict(os.environ, PYTHONPATH=PYTHON_DIR)
    out = open(os.path.join(run_dir, "output.log"), "ab")
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "descent.supervise", str(run_dir), "--", sys.executable, "-c", code],
            stdout=out, stderr=out, env=env, start_new_session=True, **kwargs,
        )
    finally:
        out.close()


def info(run_dir):
    with open(os.path.join(run_dir, "run.json")) as f:
        return json.load(f)


def write_info(run_dir, **fields):
    doc = {"formatVersion": 1, "id": "x", "status": "running", "endTime": None, "exitCode": None, "keep": [1]}
    doc.update(fields)
    with open(os.path.join(run_dir, "run.json"), "w") as f:
        json.dump(doc, f)


def test_finished_run_keeps_fields_and_output(tmp_path):
    write_info(tmp_path)
    p = start(tmp_path, "print('hello')")
    assert p.wait(30) == 0
    doc = info(tmp_path)
    assert doc["status"] == "finished" and doc["exitCode"] == 0 and doc["endTime"].endswith("Z")
    assert doc["keep"] == [1]
    assert "hello" in (tmp_path / "output.log").read_text()


def test_crash_is_failed_with_exit_code_and_stderr_tail(tmp_path):
    write_info(tmp_path)
    p = start(tmp_path, "raise RuntimeError('boom')")
    assert p.wait(30) == 1
    doc = info(tmp_path)
    assert doc["status"] == "failed" and doc["exitCode"] == 1
    stderr = (tmp_path / "stderr.log").read_text()
    assert "Traceback" in stderr and "RuntimeError: boom" in stderr
    assert "RuntimeError: boom" in (tmp_path / "output.log").read_text()


def test_script_status_wins_on_exit_zero(tmp_path):
    write_info(tmp_path)
    code = "import json; d=json.load(open('run.json')); d['status']='failed'; json.dump(d, open('run.json','w'))"
    p = start(tmp_path, code, cwd=str(tmp_path))
    assert p.wait(30) == 0
    assert info(tmp_path)["status"] == "failed"


def test_sigterm_to_the_group_is_stopped(tmp_path):
    write_info(tmp_path)
    p = start(tmp_path, "import time\nprint('ready', flush=True)\ntime.sleep(60)")
    deadline = time.time() + 20
    while "ready" not in (tmp_path / "output.log").read_text() and time.time() < deadline:
        time.sleep(0.05)
    os.killpg(p.pid, signal.SIGTERM)
    assert p.wait(30) == 128 + signal.SIGTERM
    doc = info(tmp_path)
    assert doc["status"] == "stopped" and doc["exitCode"] is None and doc["signal"] == "SIGTERM"


def test_missing_command_is_failed(tmp_path):
    write_info(tmp_path)
    assert supervise.main([str(tmp_path), "--", "/nonexistent/python3"]) == 127
    doc = info(tmp_path)
    assert doc["status"] == "failed" and "Could not start /nonexistent/python3" in doc["message"]


def test_usage(capsys):
    assert supervise.main(["only-a-dir"]) == 2
    assert "usage" in capsys.readouterr().err


def test_final_status_rule():
    assert supervise.final_status(0, False, "running") == "finished"
    assert supervise.final_status(0, False, "failed") == "failed"
    assert supervise.final_status(1, False, "finished") == "failed"
    assert supervise.final_status(None, True, "running") == "stopped"


def test_tail_is_bounded_and_cut_at_a_line():
    t = supervise.Tail(limit=100)
    for i in range(100):
        t.push(b"line %d\n" % i)
    text = t.text()
    assert text.startswith(b"[descent: earlier stderr output was dropped")
    assert text.endswith(b"line 99\n")
    assert len(text) < 200
