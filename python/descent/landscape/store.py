"""The landscape directory: landscape.json (rewritten atomically), directions.pt, and progress lines on stdout."""

import datetime
import json
import math
import os
import sys
import time

FORMAT_VERSION = 1
RESULT_FILE = "landscape.json"
DIRECTIONS_FILE = "directions.pt"


def now_iso():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _finite(value):
    """JSON has no NaN or infinities: a diverged point (overflowing loss) is written as null would be ambiguous, so as
    the run format's strings."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return value


def _clean(doc):
    if isinstance(doc, dict):
        return {k: _clean(v) for k, v in doc.items()}
    if isinstance(doc, list):
        return [_clean(v) for v in doc]
    return _finite(doc)


def write_json_atomic(path, doc):
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(_clean(doc), f, allow_nan=False, separators=(",", ":"))
    os.replace(tmp, path)


def read_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def emit(doc):
    """One JSON Lines record on stdout (the launcher parses them)."""
    sys.stdout.write(json.dumps(_clean(doc), allow_nan=False, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def empty_grid(rows, cols):
    return [[None] * cols for _ in range(rows)]


class Result:
    """landscape.json in memory, saved every `interval` seconds (and at the end) with a progress line."""

    def __init__(self, directory, doc, interval=None):
        if interval is None:  # seconds between saves; tests shorten it
            interval = float(os.environ.get("DESCENT_LANDSCAPE_SAVE_SECONDS", "2"))
        self.directory = directory
        self.path = os.path.join(directory, RESULT_FILE)
        self.doc = doc
        self.interval = interval
        self._last_save = 0.0
        self._started = time.time()
        self._done_at_start = self.done()
        self._previous = float((doc.get("progress") or {}).get("elapsedSeconds", 0.0)) if self._done_at_start else 0.0

    def _grids(self):
        return [self.doc[k]["loss"] for k in ("metrics", "valMetrics") if self.doc.get(k)]

    def done(self):
        """Points computed, validation points (1D) included."""
        return sum(v is not None for grid in self._grids() for row in grid for v in row)

    def total(self):
        return sum(len(row) for grid in self._grids() for row in grid)

    def set_point(self, key, iy, ix, loss, acc):
        metrics = self.doc[key]
        metrics["loss"][iy][ix] = loss
        if acc is not None:
            metrics["accuracy"][iy][ix] = acc

    def _progress(self):
        done, total = self.done(), self.total()
        elapsed = time.time() - self._started
        computed = done - self._done_at_start
        rate = computed / elapsed if elapsed > 0 and computed > 0 else 0.0
        self.doc["progress"] = {"done": done, "total": total, "elapsedSeconds": round(self._previous + elapsed, 3), "pointsPerSecond": round(rate, 3)}
        eta = (total - done) / rate if rate > 0 else None
        return done, total, eta

    def update_minimum(self):
        best = None
        loss = self.doc["metrics"]["loss"]
        xs, ys = axis_values(self.doc["grid"]["x"]), axis_values(self.doc["grid"]["y"]) if self.doc["grid"]["dims"] == 2 else [0.0]
        for iy, row in enumerate(loss):
            for ix, v in enumerate(row):
                if isinstance(v, (int, float)) and math.isfinite(v) and (best is None or v < best[0]):
                    best = (v, xs[ix], ys[iy])
        if best is not None:
            self.doc["minimum"] = {"x": best[1], "y": best[2], "loss": best[0]}

    def save(self, force=False):
        if not force and time.time() - self._last_save < self.interval:
            return
        self._last_save = time.time()
        done, total, eta = self._progress()
        self.update_minimum()
        write_json_atomic(self.path, self.doc)
        emit({"type": "progress", "done": done, "total": total, "eta": None if eta is None else round(eta, 1)})


def axis_values(axis):
    lo, hi, num = axis["min"], axis["max"], axis["num"]
    if num == 1:
        return [float(lo)]
    return [lo + (hi - lo) * i / (num - 1) for i in range(num)]
