"""Environment probe: reports the interpreter and its PyTorch build as one JSON document on stdout.

Run as ``python probe.py [--no-torch]`` or ``python -m descent.probe [--no-torch]``. The extension runs it in the
user's interpreter, which may lack torch or have a broken install, so it uses the standard library only, works on
Python 3.8+, and guards every read. The shape is ProbeReport (schema 1) in src/protocol/environment.ts; the host
takes the last stdout line that parses as a JSON object, so the report is printed on a single line.
"""

import os
import sys

# Run as a script, Python puts this file's folder first on sys.path, where a sibling named like a stdlib or
# third-party module (json.py, torch.py) would shadow the real one. Nothing here needs its siblings.
if (
    __name__ == "__main__"
    and sys.path
    and os.path.abspath(sys.path[0] or os.curdir) == os.path.dirname(os.path.abspath(__file__))
):
    del sys.path[0]

import argparse  # noqa: E402 (after the sys.path fix on purpose)
import importlib  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

SCHEMA = 1
# The host caps strings at this length too; a huge traceback-like message helps nobody.
MAX_TEXT = 2000
MAX_DEVICES = 64
SKIPPED = "skipped (--no-torch)"
# Warning categories that are noise, not a reason CUDA failed.
_NOISE = (DeprecationWarning, PendingDeprecationWarning, FutureWarning, ImportWarning)


def cudnn_version_string(value):
    """torch.backends.cudnn.version() as "major.minor.patch", or None when absent or not a positive integer.

    cuDNN 9 encodes major*10000 + minor*100 + patch (90100 -> "9.1.0"); earlier releases encode
    major*1000 + minor*100 + patch (8902 -> "8.9.2").
    """
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        return None
    major, rest = divmod(value, 10000 if value >= 90000 else 1000)
    minor, patch = divmod(rest, 100)
    return "%d.%d.%d" % (major, minor, patch)


def _text(value):
    """str(value), capped. Raises if str() does; callers wrap it in _attempt."""
    return str(value)[:MAX_TEXT]


def _text_or_none(value):
    return None if value is None else _text(value)


def _error_text(exc):
    """ "OSError: libcudart.so.12: cannot open shared object file", like the last line of a traceback."""
    name = type(exc).__name__
    try:
        message = str(exc)
    except BaseException:  # a broken __str__ must not lose the report
        message = ""
    return (name + ": " + message if message else name)[:MAX_TEXT]


def _attempt(read, default, problems=None):
    """read(), or default when it raises anything but an interrupt; the error text goes to problems if given.

    BaseException on purpose: a broken install can raise odd things (OSError from a missing CUDA library,
    exceptions deriving from BaseException in C extensions), and one bad attribute must not lose the report.
    """
    try:
        return read()
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:
        if problems is not None:
            problems.append(_error_text(exc))
        return default


def _python_info():
    return {
        "version": _attempt(platform.python_version, "%d.%d.%d" % tuple(sys.version_info[:3])),
        "executable": _attempt(lambda: _text(sys.executable or ""), ""),
        "implementation": _attempt(platform.python_implementation, "unknown"),
        "platform": _attempt(lambda: _text(sys.platform), "unknown"),
        "machine": _attempt(platform.machine, ""),
    }


def _import_torch():
    """(module or None, error text or None, seconds spent)."""
    torch = None
    error = None
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            torch = importlib.import_module("torch")
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:
            error = _error_text(exc)
    seconds = round(time.perf_counter() - start, 3)
    # Import warnings ("Failed to initialize NumPy") are not CUDA errors, but worth keeping for whoever reads stderr.
    for record in caught:
        _attempt(lambda: sys.stderr.write("[probe] %s: %s\n" % (record.category.__name__, record.message)), None)
    return torch, error, seconds


def _device(torch, index, problems):
    cuda = torch.cuda
    props = _attempt(lambda: cuda.get_device_properties(index), None, problems)
    name = _attempt(lambda: _text(props.name), None) if props is not None else None
    if name is None:
        name = _attempt(lambda: _text(cuda.get_device_name(index)), "cuda:%d" % index, problems)
    # int() refuses NaN and infinity, so a nonsense value falls back to 0 rather than breaking the JSON.
    memory = _attempt(lambda: max(0, int(props.total_memory) // 2**20), 0)
    capability = _attempt(lambda: "%d.%d" % (int(props.major), int(props.minor)), None)
    if capability is None:
        capability = _attempt(lambda: "%d.%d" % tuple(int(v) for v in cuda.get_device_capability(index)), "", problems)
    return {"index": index, "name": name, "totalMemoryMiB": memory, "capability": capability}


def _cudnn(torch):
    cudnn = torch.backends.cudnn
    if not cudnn.is_available():
        return None
    return cudnn_version_string(cudnn.version())


def _mps(torch):
    mps = _attempt(lambda: getattr(getattr(torch, "backends", None), "mps", None), None)
    if mps is None:  # torch older than 1.12, or a stripped build
        return {"built": False, "available": False}
    return {
        "built": _attempt(lambda: bool(mps.is_built()), False),
        "available": _attempt(lambda: bool(mps.is_available()), False),
    }


def _torch_info(torch):
    # Exceptions and warnings from the CUDA queries: torch reports a driver that is too old, or a GPU it cannot
    # use, as a UserWarning from is_available() that returns False, so the warnings matter as much as exceptions.
    problems = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        available = _attempt(lambda: bool(torch.cuda.is_available()), False, problems)
        devices = []
        if available:
            count = _attempt(lambda: int(torch.cuda.device_count()), 0, problems)
            devices = [_device(torch, i, problems) for i in range(max(0, min(count, MAX_DEVICES)))]
        cudnn = _attempt(lambda: _cudnn(torch), None)
    for record in caught:
        if not issubclass(record.category, _NOISE):
            problems.append(_attempt(lambda: _text(record.message), record.category.__name__))
    unique = []
    for problem in problems:
        if problem and problem not in unique:
            unique.append(problem)
    return {
        "version": _attempt(lambda: _text(torch.__version__), "unknown"),
        "cudaBuild": _attempt(lambda: _text_or_none(torch.version.cuda), None),
        "hipBuild": _attempt(lambda: _text_or_none(getattr(torch.version, "hip", None)), None),
        "cudaAvailable": available,
        "cudaError": "\n".join(unique)[:MAX_TEXT] if unique else None,
        "cudnn": cudnn,
        "mps": _mps(torch),
        "devices": devices,
    }


def build_report(skip_torch=False):
    """The ProbeReport as a dict (not yet sanitised)."""
    report = {
        "schema": SCHEMA,
        "python": _python_info(),
        "torch": None,
        "torchError": None,
        "torchImportSeconds": None,
    }
    if skip_torch:
        report["torchError"] = SKIPPED
        return report
    torch, error, seconds = _import_torch()
    report["torchImportSeconds"] = seconds
    if torch is None:
        report["torchError"] = error
    else:
        # Every read in _torch_info is guarded; this only catches a bug of ours, which should still yield a report.
        try:
            report["torch"] = _torch_info(torch)
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:
            report["torchError"] = "probe failed reading torch: " + _error_text(exc)
    return report


def sanitise(value):
    """Plain JSON types only: non-finite floats become None, unknown objects their text, strings are capped."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        return str(value)[:MAX_TEXT]
    if isinstance(value, dict):
        return dict((str(k), sanitise(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [sanitise(v) for v in value]
    return _attempt(lambda: _text(value), None)


def render(report):
    """One line of JSON; ASCII so the console encoding (cp1252 on Windows) cannot break it."""
    return json.dumps(sanitise(report), allow_nan=False, ensure_ascii=True, separators=(",", ":"))


def _take_stdout():
    """A stream on the real stdout, kept for the report alone.

    From here on anything else printed, by Python code or by C libraries (even when they flush at exit), goes to
    stderr: file descriptor 1 is pointed at stderr for the rest of the process, and so is sys.stdout.
    """
    _attempt(lambda: sys.stdout.flush(), None)
    stream = sys.stdout
    try:
        fd = os.dup(1)
        os.dup2(2, 1)
        stream = os.fdopen(fd, "w")
    except (OSError, ValueError):
        pass  # no usable descriptors (embedded interpreters): diverting Python-level prints still helps
    sys.stdout = sys.stderr
    return stream


def main(argv=None):
    parser = argparse.ArgumentParser(prog="descent.probe", description=__doc__.splitlines()[0])
    parser.add_argument("--no-torch", action="store_true", help="do not import torch (a fast first answer)")
    args = parser.parse_args(argv)

    out = _take_stdout()
    try:
        text = render(build_report(skip_torch=args.no_torch))
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:
        # Last resort so the host still gets a well-formed report that says what went wrong.
        text = render(
            {
                "schema": SCHEMA,
                "python": _python_info(),
                "torch": None,
                "torchError": "probe failed: " + _error_text(exc),
                "torchImportSeconds": None,
            }
        )
    try:
        out.write(text + "\n")
        out.flush()
    except Exception:
        return 1  # stdout closed or missing: nothing was printed
    return 0


if __name__ == "__main__":
    sys.exit(main())
