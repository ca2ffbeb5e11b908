"""Runs one training command for Descent's launcher and completes its run.json when it ends.

    python -m descent.supervise RUN_DIR -- COMMAND [ARGS...]

The extension starts this with stdout and stderr on RUN_DIR/output.log (a file, not a pipe), so the run goes on when
the VS Code window reloads or closes, and this process, not the window, writes how it ended: run.json gets status
(stopped after SIGTERM / SIGINT, finished on exit code 0 unless the script's log.finish() said otherwise, failed
otherwise), endTime, exitCode (and signal), and stderr.log the tail of the command's stderr.

The command is started from an argument list, never through a shell. SIGTERM and SIGINT are passed on to it. This
process exits with the command's exit code (128 + N after signal N). Standard library only.
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time

TAIL_BYTES = 64 * 1024
FLUSH_SECONDS = 2.0
INFO_FILE = "run.json"
STDERR_FILE = "stderr.log"
FINAL = ("finished", "failed", "stopped")


def _now_iso():
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%03dZ" % int((t % 1) * 1000)


def _read_info(run_dir):
    try:
        with open(os.path.join(run_dir, INFO_FILE), encoding="utf-8") as f:
            doc = json.load(f)
        return doc if isinstance(doc, dict) else {}
    except (OSError, ValueError):
        return {}


def _write_info(run_dir, doc):
    path = os.path.join(run_dir, INFO_FILE)
    tmp = "%s.%d.tmp" % (path, os.getpid())
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)


def final_status(exit_code, stop_requested, status_in_file):
    """The same rule as the extension's runRecord.finalStatus."""
    if stop_requested:
        return "stopped"
    if exit_code == 0:
        return status_in_file if status_in_file in FINAL else "finished"
    return "failed"


class Tail:
    """The last TAIL_BYTES of a byte stream, cut at a line boundary when something was dropped."""

    def __init__(self, limit=TAIL_BYTES):
        self.limit = limit
        self.data = bytearray()
        self.dropped = False
        self.dirty = False
        self.lock = threading.Lock()

    def push(self, chunk):
        with self.lock:
            self.data += chunk
            self.dirty = True
            if len(self.data) > 2 * self.limit:
                self._trim()

    def _trim(self):
        if len(self.data) <= self.limit:
            return
        cut = len(self.data) - self.limit
        nl = self.data.find(b"\n", cut)
        if nl != -1 and nl - cut < 1024:
            cut = nl + 1
        del self.data[:cut]
        self.dropped = True

    def text(self):
        with self.lock:
            self._trim()
            self.dirty = False
            head = b"[descent: earlier stderr output was dropped; this is the tail]\n" if self.dropped else b""
            return head + bytes(self.data)


def _write_tail(run_dir, tail):
    try:
        with open(os.path.join(run_dir, STDERR_FILE), "wb") as f:
            f.write(tail.text())
    except OSError:
        pass


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) < 3 or argv[1] != "--":
        sys.stderr.write("usage: python -m descent.supervise RUN_DIR -- COMMAND [ARGS...]\n")
        return 2
    run_dir, command = argv[0], argv[2:]
    stop = {"requested": False}
    tail = Tail()
    try:
        child = subprocess.Popen(command, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE)
    except OSError as e:
        message = "Could not start %s: %s" % (command[0], e.strerror or e)
        sys.stderr.write(message + "\n")
        tail.push((message + "\n").encode())
        _write_tail(run_dir, tail)
        doc = _read_info(run_dir)
        doc.update({"status": "failed", "endTime": _now_iso(), "exitCode": None, "message": message})
        _write_info(run_dir, doc)
        return 127

    def forward(signum, _frame):
        # A signal to the whole process group reaches the command too: pass it on once, for a command in a group of
        # its own or a signal sent to this process alone.
        if stop["requested"]:
            return
        stop["requested"] = True
        try:
            child.send_signal(signum)
        except OSError:
            pass

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)

    def pump():
        out = sys.stderr.buffer
        while True:
            chunk = os.read(child.stderr.fileno(), 65536)
            if not chunk:
                return
            tail.push(chunk)
            try:
                out.write(chunk)
                out.flush()
            except (OSError, ValueError):
                pass

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    while True:
        try:
            code = child.wait(timeout=FLUSH_SECONDS)
            break
        except subprocess.TimeoutExpired:
            if tail.dirty:
                _write_tail(run_dir, tail)
    reader.join(timeout=5)
    if tail.data or tail.dirty:
        _write_tail(run_dir, tail)

    sig = None
    if code < 0:
        try:
            sig = signal.Signals(-code).name
        except ValueError:
            sig = "signal %d" % -code
    doc = _read_info(run_dir)
    doc["status"] = final_status(code if code >= 0 else None, stop["requested"], doc.get("status"))
    doc["endTime"] = _now_iso()
    doc["exitCode"] = code if code >= 0 else None
    if sig:
        doc["signal"] = sig
    _write_info(run_dir, doc)
    return code if code >= 0 else 128 + (-code)


if __name__ == "__main__":
    sys.exit(main())
