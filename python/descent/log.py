"""Descent's metrics logger: writes a run directory in the run format, version 1 (src/protocol/runFormat.ts).

    from descent import log                    # or, with this file copied into a project: import log

    for step, batch in enumerate(loader):
        loss = train_step(batch)
        log.metrics(step=step, epoch=epoch, split="train", loss=loss)   # float, int, numpy scalar, 0-dim tensor
    log.metrics(step=step, epoch=epoch, split="val", loss=val_loss, acc=val_acc)
    log.checkpoint("checkpoints/last.pt", step=step, metric="val_loss", value=val_loss)
    log.confusion(["cat", "dog"], [[50, 3], [7, 40]], split="val", epoch=epoch, step=step)
    log.hparams({"lr": 3e-4, "batch_size": 64})
    log.finish("finished")

Where it writes:
- Launched by Descent, DESCENT_RUN_DIR names the run directory and every call writes there.
- Otherwise nothing is written and every call returns at once (a script runs the same with or without Descent),
  unless the script calls ``log.init("runs/my-run")``, which creates the directory and its run.json.
- Under torchrun (or any launcher that sets RANK / LOCAL_RANK) only rank 0 writes.

Crash safety: each record is one complete line handed to the kernel by a single ``os.write`` on a file opened with
O_APPEND, with no buffer in this process, so a killed process (even SIGKILL) leaves every completed record readable.
It does not fsync: a power cut may lose the last records, a crash of the process does not.

Cost: a call formats one line by hand (no json.dumps) and makes one write system call, a few microseconds; see
bench/ingest. A CUDA tensor passed as a value is read with ``.item()``, which waits for the GPU; log such values
every N steps, or pass values you already have on the CPU.

Standard library only, Python 3.8+, no relative imports: the file also works copied alone into a project.
"""

import json
import math
import os
import sys
import time

__all__ = ["init", "metrics", "checkpoint", "confusion", "hparams", "finish", "enabled", "run_dir", "Logger"]

FORMAT_VERSION = 1
ENV_RUN_DIR = "DESCENT_RUN_DIR"
METRICS_FILE = "metrics.jsonl"
EVENTS_FILE = "events.jsonl"
INFO_FILE = "run.json"
STATUSES = ("running", "finished", "failed", "stopped")
_RESERVED = frozenset(("step", "t", "epoch", "split"))
_NAN = '"NaN"'
_POS_INF = '"Infinity"'
_NEG_INF = '"-Infinity"'


def _is_rank_zero(environ):
    """False under a distributed launcher on any process but rank 0 (RANK wins over LOCAL_RANK)."""
    rank = environ.get("RANK")
    if rank is None or rank.strip() == "":
        rank = environ.get("LOCAL_RANK")
    if rank is None or rank.strip() == "":
        return True
    return rank.strip() == "0"


def _number_text(value):
    """The JSON text of a metric value, or None when it is not a number.

    Accepts int, float, bool, and anything with .item() (numpy scalars, one-element torch tensors) without
    importing numpy or torch.
    """
    kind = type(value)
    if kind is float:
        pass
    elif kind is int:
        return str(value)
    elif kind is bool:
        return "1" if value else "0"
    else:
        item = getattr(value, "item", None)
        if item is None:
            return None
        try:
            value = item()
        except Exception:  # a tensor with several elements, or a broken object: not a number
            return None
        if type(value) is int:
            return str(value)
        if type(value) is bool:
            return "1" if value else "0"
        try:
            value = float(value)
        except (TypeError, ValueError, OverflowError):
            return None
    if value != value:
        return _NAN
    if value == math.inf:
        return _POS_INF
    if value == -math.inf:
        return _NEG_INF
    return repr(value)


def _json_number(value):
    """A float as a JSON value: itself, or the run format's string for NaN and infinities."""
    if value != value:
        return "NaN"
    if value == math.inf:
        return "Infinity"
    if value == -math.inf:
        return "-Infinity"
    return value


def _plain(value):
    """A JSON-serialisable copy of a hyperparameter or matrix value (numpy / torch objects via tolist / item)."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return _json_number(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    tolist = getattr(value, "tolist", None)
    if tolist is not None:
        try:
            return _plain(tolist())
        except Exception:
            pass
    return str(value)


def _now_iso():
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%03dZ" % int((t % 1) * 1000)


def _write_json_atomic(path, doc):
    """Replaces path with doc in one rename, so readers never see half a file."""
    tmp = "%s.%d.tmp" % (path, os.getpid())
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=2, allow_nan=False)
        f.write("\n")
    os.replace(tmp, path)


class Logger:
    """Writes one run directory. Use the module functions; this class is for several runs in one process."""

    def __init__(self, run_dir=None, create_info=False, environ=None):
        environ = os.environ if environ is None else environ
        self.run_dir = None
        self._metrics_fd = None
        self._events_fd = None
        self._names = {}
        self._step = -1
        self._warned = set()
        if run_dir is None or not _is_rank_zero(environ):
            return
        run_dir = os.path.abspath(os.fspath(run_dir))
        os.makedirs(run_dir, exist_ok=True)
        self.run_dir = run_dir
        if create_info and not os.path.exists(os.path.join(run_dir, INFO_FILE)):
            self._create_info()

    @property
    def enabled(self):
        return self.run_dir is not None

    # ---- files ----

    def _open(self, name):
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
        return os.open(os.path.join(self.run_dir, name), flags, 0o644)

    def _append(self, fd, line):
        data = line.encode("utf-8")
        # os.write on a regular file writes everything at once in practice; loop for the rare short write.
        while data:
            written = os.write(fd, data)
            data = data[written:]

    def _warn_once(self, key, message):
        if key not in self._warned:
            self._warned.add(key)
            sys.stderr.write("descent.log: %s\n" % message)

    # ---- records ----

    def metrics(self, step=None, epoch=None, split=None, t=None, **values):
        if self.run_dir is None:
            return
        if step is None:
            step = self._step + 1
        elif type(step) is not int:
            step = int(step.item() if hasattr(step, "item") else step)
        self._step = step
        parts = ['{"step":', str(step), ',"t":', repr(time.time() if t is None else float(t))]
        if epoch is not None:
            text = _number_text(epoch)
            if text is not None:
                parts.append(',"epoch":')
                parts.append(text)
        if split is not None:
            parts.append(',"split":')
            parts.append(self._name(split))
        names = self._names
        for name, value in values.items():
            text = _number_text(value)
            if text is None:
                self._warn_once(name, "metric %r is not a number (%s); skipped" % (name, type(value).__name__))
                continue
            key = names.get(name)
            if key is None:
                key = self._name(name)
            parts.append(",")
            parts.append(key)
            parts.append(":")
            parts.append(text)
        parts.append("}\n")
        if self._metrics_fd is None:
            self._metrics_fd = self._open(METRICS_FILE)
        self._append(self._metrics_fd, "".join(parts))

    def _name(self, name):
        """The quoted JSON text of a key, cached: metric names repeat every step."""
        key = self._names.get(name)
        if key is None:
            key = self._names[name] = json.dumps(str(name), ensure_ascii=False)
        return key

    def _event(self, doc):
        if self._events_fd is None:
            self._events_fd = self._open(EVENTS_FILE)
        self._append(self._events_fd, json.dumps(doc, ensure_ascii=False, allow_nan=False, separators=(",", ":")) + "\n")

    def checkpoint(self, path, step, metric=None, value=None):
        if self.run_dir is None:
            return
        doc = {"event": "checkpoint", "t": time.time(), "step": int(step), "path": os.fspath(path)}
        if metric is not None:
            doc["metric"] = str(metric)
        if value is not None:
            value = _plain(value)
            if isinstance(value, (int, float)) or value in ("NaN", "Infinity", "-Infinity"):
                doc["value"] = value
        self._event(doc)

    def confusion(self, labels, matrix, split=None, epoch=None, step=None):
        if self.run_dir is None:
            return
        labels = [str(label) for label in _plain(labels)]
        rows = _plain(matrix)
        n = len(labels)
        if not isinstance(rows, list) or len(rows) != n or any(not isinstance(r, list) or len(r) != n for r in rows):
            self._warn_once("confusion-shape", "confusion matrix is not %d x %d (one row and column per label); skipped" % (n, n))
            return
        doc = {"event": "confusion", "t": time.time()}
        if step is not None:
            doc["step"] = int(step)
        if epoch is not None:
            doc["epoch"] = _plain(epoch)
        if split is not None:
            doc["split"] = str(split)
        doc["labels"] = labels
        doc["matrix"] = [[int(c) for c in row] for row in rows]
        self._event(doc)

    # ---- run.json ----

    def _read_info(self):
        try:
            with open(os.path.join(self.run_dir, INFO_FILE), encoding="utf-8") as f:
                doc = json.load(f)
            return doc if isinstance(doc, dict) else {}
        except (OSError, ValueError):
            return {}

    def _update_info(self, change):
        doc = self._read_info()
        change(doc)
        _write_json_atomic(os.path.join(self.run_dir, INFO_FILE), doc)

    def _create_info(self):
        now = time.time()
        doc = {
            "formatVersion": FORMAT_VERSION,
            "id": time.strftime("%Y%m%d-%H%M%S", time.gmtime(now)) + "-%04x" % (os.getpid() & 0xFFFF),
            "name": os.path.basename(self.run_dir),
            "command": sys.executable,
            "args": list(sys.argv),
            "cwd": os.getcwd(),
            "interpreter": sys.executable,
            "git": None,
            "hyperparameters": {},
            "target": {"kind": "local"},
            "devices": [],
            "status": "running",
            "startTime": _now_iso(),
            "endTime": None,
            "exitCode": None,
            "pid": os.getpid(),
        }
        _write_json_atomic(os.path.join(self.run_dir, INFO_FILE), doc)

    def hparams(self, params):
        if self.run_dir is None:
            return
        plain = _plain(dict(params))

        def change(doc):
            merged = doc.get("hyperparameters")
            merged = merged if isinstance(merged, dict) else {}
            merged.update(plain)
            doc["hyperparameters"] = merged

        self._update_info(change)

    def finish(self, status="finished"):
        if self.run_dir is None:
            return
        if status not in STATUSES or status == "running":
            raise ValueError("status must be one of finished, failed, stopped; got %r" % (status,))

        def change(doc):
            doc.setdefault("formatVersion", FORMAT_VERSION)
            doc["status"] = status
            doc["endTime"] = _now_iso()

        self._update_info(change)
        self.close()

    def close(self):
        for attr in ("_metrics_fd", "_events_fd"):
            fd = getattr(self, attr)
            if fd is not None:
                setattr(self, attr, None)
                try:
                    os.close(fd)
                except OSError:
                    pass


# ---- the module-level logger ----

_default = None


def _logger():
    global _default
    if _default is None:
        _default = Logger(os.environ.get(ENV_RUN_DIR) or None)
    return _default


def init(run_dir=None):
    """Starts logging to run_dir (default: DESCENT_RUN_DIR). Creates run_dir and, when missing, its run.json.

    Without it, the first call logs to DESCENT_RUN_DIR when set and does nothing otherwise.
    """
    global _default
    if _default is not None:
        _default.close()
    launched = run_dir is None
    if launched:
        run_dir = os.environ.get(ENV_RUN_DIR) or None
    _default = Logger(run_dir, create_info=run_dir is not None)
    if not launched and _default.enabled:
        _watch_exit(_default)
    return _default


def _watch_exit(logger):
    """Outside Descent nobody else ends the run: mark it at exit, failed after an uncaught exception."""
    import atexit

    outcome = {"status": "finished"}
    previous_hook = sys.excepthook

    def hook(kind, value, tb):
        outcome["status"] = "stopped" if issubclass(kind, KeyboardInterrupt) else "failed"
        previous_hook(kind, value, tb)

    def at_exit():
        if logger.enabled and logger._read_info().get("status") == "running":
            logger.finish(outcome["status"])

    sys.excepthook = hook
    atexit.register(at_exit)


def enabled():
    """True when calls write somewhere (a run directory is set and this is rank 0)."""
    return _logger().run_dir is not None


def run_dir():
    return _logger().run_dir


def metrics(step=None, epoch=None, split=None, t=None, **values):
    """Appends one record: step (default: previous step + 1), optional epoch and split, then metric=value pairs.

    Values may be int, float, bool, numpy scalars or one-element tensors; NaN and infinities are kept. A value that
    is not a number is skipped with one warning on stderr. Metric names that are not Python identifiers go through
    a dict: ``log.metrics(step=s, **{"val/loss": x})``.
    """
    _logger().metrics(step, epoch, split, t, **values)


def checkpoint(path, step, metric=None, value=None):
    """Records that a checkpoint was saved at path (relative paths are relative to the working directory)."""
    _logger().checkpoint(path, step, metric, value)


def confusion(labels, matrix, split=None, epoch=None, step=None):
    """Records a confusion matrix: matrix[true][predicted] counts, one row and one column per label."""
    _logger().confusion(labels, matrix, split, epoch, step)


def hparams(params):
    """Merges params (a dict of JSON-like values) into run.json's hyperparameters."""
    _logger().hparams(params)


def finish(status="finished"):
    """Marks the run finished, failed or stopped in run.json and closes the files."""
    _logger().finish(status)
