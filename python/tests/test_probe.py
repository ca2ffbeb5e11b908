"""Tests for python/descent/probe.py.

The probe always runs as a real subprocess, the way the extension runs it: the real CPU build of torch, a real
interpreter without torch, and small fake `torch` packages on PYTHONPATH for the broken and noisy installs that a
CPU-only machine cannot produce. Every report is checked against ProbeReport (src/protocol/environment.ts).
"""

import glob
import json
import os
import platform
import subprocess
import sys
import textwrap

import pytest

PYTHON_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROBE = os.path.join(PYTHON_DIR, "descent", "probe.py")

sys.path.insert(0, PYTHON_DIR)
from descent import probe as probe_module  # noqa: E402

# ---- the contract, as in src/protocol/environment.ts ----

REPORT_KEYS = {"schema", "python", "torch", "torchError", "torchImportSeconds"}
PYTHON_KEYS = {"version", "executable", "implementation", "platform", "machine"}
TORCH_KEYS = {"version", "cudaBuild", "hipBuild", "cudaAvailable", "cudaError", "cudnn", "mps", "devices"}
MPS_KEYS = {"built", "available"}
DEVICE_KEYS = {"index", "name", "totalMemoryMiB", "capability"}


def _is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _str_or_none(v):
    return v is None or isinstance(v, str)


def validate_report(doc):
    """Asserts doc is a ProbeReport: exact key sets and types at every level."""
    assert isinstance(doc, dict) and set(doc) == REPORT_KEYS, doc
    assert doc["schema"] == 1 and _is_int(doc["schema"])
    py = doc["python"]
    assert isinstance(py, dict) and set(py) == PYTHON_KEYS, py
    for key in PYTHON_KEYS:
        assert isinstance(py[key], str), (key, py[key])
    assert _str_or_none(doc["torchError"])
    assert doc["torchImportSeconds"] is None or (_is_number(doc["torchImportSeconds"]) and doc["torchImportSeconds"] >= 0)
    t = doc["torch"]
    if t is None:
        assert doc["torchError"], "torch is null, so torchError must say why"
        return
    assert isinstance(t, dict) and set(t) == TORCH_KEYS, t
    assert isinstance(t["version"], str)
    for key in ("cudaBuild", "hipBuild", "cudaError", "cudnn"):
        assert _str_or_none(t[key]), (key, t[key])
    assert isinstance(t["cudaAvailable"], bool)
    assert isinstance(t["mps"], dict) and set(t["mps"]) == MPS_KEYS
    assert isinstance(t["mps"]["built"], bool) and isinstance(t["mps"]["available"], bool)
    assert isinstance(t["devices"], list)
    if not t["cudaAvailable"]:
        assert t["devices"] == []
    for d in t["devices"]:
        assert isinstance(d, dict) and set(d) == DEVICE_KEYS, d
        assert _is_int(d["index"]) and _is_int(d["totalMemoryMiB"])
        assert isinstance(d["name"], str) and isinstance(d["capability"], str)


def _refuse_constant(name):
    raise AssertionError("the probe printed %s, which is not JSON" % name)


def run_probe(*args, python=None, pythonpath=None, module=False, cwd=None):
    """Runs the probe; returns (report, completed process). Asserts exit 0 and one JSON document on one line."""
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    env.pop("PYTHONHOME", None)
    if pythonpath:
        env["PYTHONPATH"] = os.pathsep.join(pythonpath)
    command = [python or sys.executable]
    command += ["-m", "descent.probe"] if module else [PROBE]
    command += list(args)
    proc = subprocess.run(command, capture_output=True, text=True, env=env, cwd=cwd or PYTHON_DIR, timeout=300)
    assert proc.returncode == 0, proc.stderr
    # Exactly one line: the host takes the last line that parses as JSON, and nothing else belongs on stdout.
    assert proc.stdout.endswith("\n") and proc.stdout.count("\n") == 1, repr(proc.stdout)
    doc = json.loads(proc.stdout, parse_constant=_refuse_constant)
    validate_report(doc)
    return doc, proc


def write_fake_torch(root, source):
    """A `torch` package under root whose __init__ is source; put root first on PYTHONPATH to use it."""
    package = root / "torch"
    package.mkdir()
    (package / "__init__.py").write_text(textwrap.dedent(source))
    return str(root)


# ---- the real CPU build of torch ----


def test_real_cpu_torch():
    doc, _ = run_probe()
    py = doc["python"]
    assert py["version"] == platform.python_version()
    assert py["executable"] == sys.executable
    assert py["implementation"] == platform.python_implementation()
    assert py["platform"] == sys.platform
    assert py["machine"] == platform.machine()
    assert doc["torchError"] is None
    assert doc["torchImportSeconds"] > 0
    t = doc["torch"]
    assert t is not None, "torch==2.13.0 (CPU) must be installed where pytest runs; see test/tools/pytest.sh"
    assert t["version"].startswith("2.13")
    assert t["cudaBuild"] is None
    assert t["hipBuild"] is None
    assert t["cudaAvailable"] is False
    assert t["cudaError"] is None
    assert t["cudnn"] is None
    assert t["devices"] == []
    if sys.platform != "darwin":
        assert t["mps"] == {"built": False, "available": False}


def test_module_form_with_real_torch(tmp_path):
    # From an unrelated folder, with python/ on PYTHONPATH, as `python -m descent.probe`.
    doc, _ = run_probe(module=True, pythonpath=[PYTHON_DIR], cwd=str(tmp_path))
    assert doc["torch"] is not None and doc["torch"]["version"].startswith("2.13")


def test_module_form_no_torch(tmp_path):
    doc, _ = run_probe("--no-torch", module=True, pythonpath=[PYTHON_DIR], cwd=str(tmp_path))
    assert doc["torch"] is None and doc["torchError"] == "skipped (--no-torch)"


# ---- no torch at all ----


@pytest.fixture(scope="module")
def bare_python(tmp_path_factory):
    """A real interpreter that cannot import torch: a venv without pip and without system site-packages."""
    venv = tmp_path_factory.mktemp("bare") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    exe = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    assert exe.exists()
    check = subprocess.run([str(exe), "-c", "import torch"], capture_output=True, text=True, env=_clean_env())
    assert check.returncode != 0, "the bare venv should not see torch"
    return str(exe)


def _clean_env():
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    return env


def test_without_torch(bare_python):
    doc, _ = run_probe(python=bare_python)
    assert doc["torch"] is None
    assert doc["torchError"].startswith("ModuleNotFoundError")
    assert "torch" in doc["torchError"]
    assert _is_number(doc["torchImportSeconds"])
    assert doc["python"]["executable"] == bare_python


def test_no_torch_flag_skips_the_import(tmp_path):
    # A torch that would fail loudly proves --no-torch never touches it.
    root = write_fake_torch(tmp_path, 'raise RuntimeError("imported despite --no-torch")\n')
    doc, proc = run_probe("--no-torch", pythonpath=[root])
    assert doc["torch"] is None
    assert doc["torchError"] == "skipped (--no-torch)"
    assert doc["torchImportSeconds"] is None
    assert "imported despite" not in proc.stderr


# ---- broken and odd installs (fake torch packages, still real subprocesses) ----


def test_broken_torch_oserror(tmp_path):
    root = write_fake_torch(tmp_path, 'raise OSError("libcudart.so.12: cannot open shared object file")\n')
    doc, _ = run_probe(pythonpath=[root])
    assert doc["torch"] is None
    assert doc["torchError"] == "OSError: libcudart.so.12: cannot open shared object file"
    assert _is_number(doc["torchImportSeconds"])


def test_torch_raising_baseexception_subclass(tmp_path):
    # Some C extensions raise things outside Exception; the probe must still answer.
    root = write_fake_torch(
        tmp_path,
        """
        class Weird(BaseException):
            pass
        raise Weird("native loader gave up")
        """,
    )
    doc, _ = run_probe(pythonpath=[root])
    assert doc["torch"] is None and doc["torchError"] == "Weird: native loader gave up"


NOISY_TORCH = """
    import os, sys, types, warnings
    print("hello from torch's __init__")
    sys.stdout.flush()
    os.write(1, b"raw bytes on fd 1, as a C library would print\\n")
    warnings.warn("an import-time warning")
    __version__ = "2.13.0+noisy"
    version = types.SimpleNamespace(cuda="12.8")

    def _is_available():
        print("is_available() printing to stdout")
        warnings.warn(
            "CUDA initialization: The NVIDIA driver on your system is too old (found version 11040).",
            UserWarning,
        )
        warnings.warn("some deprecation", DeprecationWarning)
        return False

    cuda = types.SimpleNamespace(is_available=_is_available)
"""


def test_noisy_torch_keeps_stdout_clean(tmp_path):
    root = write_fake_torch(tmp_path, NOISY_TORCH)
    doc, proc = run_probe(pythonpath=[root])
    t = doc["torch"]
    assert t["version"] == "2.13.0+noisy"
    assert t["cudaBuild"] == "12.8"
    assert t["hipBuild"] is None
    assert t["cudaAvailable"] is False
    # The warning from is_available() is the reason; the deprecation is noise.
    assert t["cudaError"] == "CUDA initialization: The NVIDIA driver on your system is too old (found version 11040)."
    # No backends module at all: guarded, not fatal.
    assert t["cudnn"] is None and t["mps"] == {"built": False, "available": False}
    assert t["devices"] == []
    # What torch printed went to stderr instead.
    assert "hello from torch" in proc.stderr
    assert "raw bytes on fd 1" in proc.stderr
    assert "is_available() printing" in proc.stderr
    assert "an import-time warning" in proc.stderr


FAKE_CUDA_TORCH = """
    import types

    class _Props:
        def __init__(self, name, total, major, minor):
            self.name, self.total_memory, self.major, self.minor = name, total, major, minor

    class _Odd:
        # A device whose properties are nonsense: every field must fall back on its own.
        name = property(lambda self: 1 / 0)
        total_memory = float("nan")
        major = property(lambda self: 1 / 0)

    def _props(i):
        if i == 0:
            return _Props("NVIDIA H100 80GB HBM3", 85899345920, 9, 0)
        if i == 1:
            return _Odd()
        raise RuntimeError("CUDA error: invalid device ordinal")

    def _capability(i):
        raise RuntimeError("no capability for %d" % i)

    class _Version:
        cuda = "12.8"
        hip = property(lambda self: 1 / 0)  # one odd attribute must not lose the report

    __version__ = "2.13.0+cu128"
    version = _Version()
    cuda = types.SimpleNamespace(
        is_available=lambda: True,
        device_count=lambda: 3,
        get_device_properties=_props,
        get_device_name=lambda i: "from get_device_name %d" % i,
        get_device_capability=_capability,
    )
    backends = types.SimpleNamespace(
        cudnn=types.SimpleNamespace(is_available=lambda: True, version=lambda: 90100),
        mps=types.SimpleNamespace(is_built=lambda: False, is_available=lambda: 1 / 0),
    )
"""


def test_fake_cuda_torch_devices(tmp_path):
    root = write_fake_torch(tmp_path, FAKE_CUDA_TORCH)
    doc, _ = run_probe(pythonpath=[root])
    t = doc["torch"]
    assert t["version"] == "2.13.0+cu128"
    assert t["cudaBuild"] == "12.8"
    assert t["hipBuild"] is None
    assert t["cudaAvailable"] is True
    assert t["cudnn"] == "9.1.0"
    assert t["mps"] == {"built": False, "available": False}
    assert t["devices"] == [
        {"index": 0, "name": "NVIDIA H100 80GB HBM3", "totalMemoryMiB": 81920, "capability": "9.0"},
        {"index": 1, "name": "from get_device_name 1", "totalMemoryMiB": 0, "capability": ""},
        {"index": 2, "name": "from get_device_name 2", "totalMemoryMiB": 0, "capability": ""},
    ]
    assert "RuntimeError: CUDA error: invalid device ordinal" in t["cudaError"]


def test_report_never_contains_nan():
    report = probe_module.build_report(skip_torch=True)
    report["torchImportSeconds"] = float("nan")
    report["python"]["version"] = float("inf")
    text = probe_module.render(report)
    assert "NaN" not in text and "Infinity" not in text
    doc = json.loads(text, parse_constant=_refuse_constant)
    assert doc["torchImportSeconds"] is None and doc["python"]["version"] is None


# ---- helpers, imported from python/ ----


@pytest.mark.parametrize(
    "raw, expected",
    [
        (90100, "9.1.0"),
        (91002, "9.10.2"),
        (90000, "9.0.0"),
        (8902, "8.9.2"),
        (8700, "8.7.0"),
        (7605, "7.6.5"),
        (None, None),
        (0, None),
        (-1, None),
        (True, None),
        ("90100", None),
        (9.1, None),
    ],
)
def test_cudnn_version_string(raw, expected):
    assert probe_module.cudnn_version_string(raw) == expected


def test_package_import_is_light():
    # Importing the package must not pull torch in: the probe runs in interpreters where it is broken.
    code = "import sys, descent, descent.probe; print(descent.__version__, 'torch' in sys.modules)"
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=dict(_clean_env(), PYTHONPATH=PYTHON_DIR)
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["0.1.0", "False"]


# ---- the oldest Python the probe supports, when one is installed here ----


def _python38():
    candidates = [os.environ.get("DESCENT_PYTHON38", "")]
    candidates += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.8.*/bin/python3.8")))
    for exe in candidates:
        if exe and os.path.exists(exe):
            return exe
    return None


@pytest.mark.skipif(_python38() is None, reason="no Python 3.8 interpreter here (set DESCENT_PYTHON38)")
def test_runs_on_python38():
    exe = _python38()
    doc, _ = run_probe(python=exe)
    assert doc["python"]["version"].startswith("3.8.")
    assert doc["torch"] is None or isinstance(doc["torch"]["version"], str)
    doc, _ = run_probe("--no-torch", python=exe)
    assert doc["torchError"] == "skipped (--no-torch)"
