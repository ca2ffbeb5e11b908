"""The checkpoints of a run: from its events.jsonl (checkpoint events; relative paths are relative to run.json's cwd)
or, failing that, from the checkpoint folder. Trajectory checkpoints are the scaffold's per-epoch weight files
(epoch_000_init.pt, epoch_001.pt, ...); a run of another script counts every distinct checkpoint file it logged."""

import glob
import json
import os
import re

EPOCH_FILE = re.compile(r"^epoch_\d+(_init)?\.pt$")


def run_cwd(run_dir):
    try:
        with open(os.path.join(run_dir, "run.json"), encoding="utf-8") as f:
            info = json.load(f)
        if isinstance(info, dict) and isinstance(info.get("cwd"), str):
            return info["cwd"], info
    except (OSError, ValueError):
        pass
    return None, {}


def checkpoint_events(run_dir, project_dir=None):
    """[(path resolved, event)] of the run's checkpoint events, in order; bad lines skipped. Relative paths are
    relative to run.json's cwd (the project folder when run.json does not say)."""
    cwd, _ = run_cwd(run_dir)
    base = cwd or project_dir or run_dir
    out = []
    try:
        with open(os.path.join(run_dir, "events.jsonl"), encoding="utf-8") as f:
            lines = f.read().split("\n")[:-1]  # the text after the last newline may still be being written
    except OSError:
        return out
    for line in lines:
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict) and event.get("event") == "checkpoint" and isinstance(event.get("path"), str):
            path = event["path"] if os.path.isabs(event["path"]) else os.path.join(base, event["path"])
            out.append((os.path.normpath(path), event))
    return out


def default_checkpoint(run_dir, project_dir=None):
    """The model a landscape is drawn around: the last best checkpoint (metric logged), else the last one logged,
    else checkpoints/best.pt or last.pt of the project."""
    events = [(p, e) for p, e in checkpoint_events(run_dir, project_dir) if os.path.exists(p)]
    selected = [p for p, e in events if e.get("metric") is not None]
    if selected:
        return selected[-1]
    plain = [p for p, _ in events if not EPOCH_FILE.match(os.path.basename(p))]
    if plain:
        return plain[-1]
    for folder in filter(None, [project_dir, run_cwd(run_dir)[0], run_dir]):
        for name in ("best.pt", "last.pt"):
            path = os.path.join(folder, "checkpoints", name)
            if os.path.exists(path):
                return path
    return None


def trajectory_checkpoints(run_dir, project_dir=None):
    """[(path, label)] in training order."""
    events = [(p, e) for p, e in checkpoint_events(run_dir, project_dir) if os.path.exists(p)]
    epoch_files = [(p, e) for p, e in events if EPOCH_FILE.match(os.path.basename(p))]
    chosen = epoch_files
    if not chosen:
        seen, chosen = set(), []
        for p, e in events:
            if p not in seen:
                seen.add(p)
                chosen.append((p, e))
        if len(chosen) < 3:
            chosen = []
    if chosen:
        out, seen = [], set()
        for p, e in chosen:
            if p in seen:
                continue
            seen.add(p)
            out.append((p, label_of(p, e.get("step"))))
        return out
    for folder in filter(None, [project_dir, run_cwd(run_dir)[0]]):
        files = sorted(glob.glob(os.path.join(folder, "checkpoints", "epoch_*.pt")))
        files = [f for f in files if EPOCH_FILE.match(os.path.basename(f))]
        if files:
            return [(f, label_of(f, None)) for f in files]
    return []


def label_of(path, step):
    name = os.path.basename(path)
    if name == "epoch_000_init.pt":
        return "init"
    m = re.match(r"^epoch_(\d+)\.pt$", name)
    if m:
        return f"epoch {int(m.group(1))}"
    return name if step is None else f"{name} (step {step})"
