"""python -m descent.landscape --run RUN_DIR [options]: computes a loss landscape into RUN_DIR/landscapes/<name>/.

The result format is specified in descent/landscape/__init__.py. Exit codes: 0 done, 2 bad input (the message says
what to do), 1 an unexpected failure, 128+signal when cancelled (SIGINT/SIGTERM: the points so far are saved).
"""

import argparse
import math
import os
import signal
import sys
import time
import traceback

from .store import DIRECTIONS_FILE, RESULT_FILE, Result, axis_values, emit, empty_grid, now_iso, read_json


def parse_range(text):
    parts = text.split(":")
    try:
        lo, hi, num = float(parts[0]), float(parts[1]), int(parts[2])
    except (ValueError, IndexError):
        raise argparse.ArgumentTypeError(f"expected MIN:MAX:NUM such as -1:1:41, got {text!r}") from None
    if len(parts) != 3 or num < 1 or num > 1001 or not (math.isfinite(lo) and math.isfinite(hi)) or (num > 1 and hi <= lo):
        raise argparse.ArgumentTypeError(f"expected MIN:MAX:NUM with MIN < MAX and 1 <= NUM <= 1001, got {text!r}")
    return {"min": lo, "max": hi, "num": num}


def build_parser():
    p = argparse.ArgumentParser(prog="python -m descent.landscape", description="Loss landscape of a trained model (Li et al. 2018).")
    p.add_argument("--run", required=True, help="run directory; the result goes to RUN/landscapes/NAME/")
    p.add_argument("--checkpoint", help="model weights (default: the run's best checkpoint)")
    p.add_argument("--project", help="scaffolded project with model.py, data.py, config.json (default: the run's cwd)")
    p.add_argument("--setup", help="FILE.py with landscape_setup() -> (model, dataset_or_loader, loss_fn)")
    p.add_argument("--dims", type=int, choices=(1, 2), default=2)
    p.add_argument("--directions", choices=("random", "interpolate", "pca"), default="random")
    p.add_argument("--normalization", choices=("filter", "layer", "none"), default="filter")
    p.add_argument("--ignore", choices=("biasbn", "none"), default="biasbn")
    p.add_argument("--x", type=parse_range, help="MIN:MAX:NUM (default -1:1:41; interpolate 0:1:41; pca: covers the path)")
    p.add_argument("--y", type=parse_range, help="MIN:MAX:NUM (2D; default like --x)")
    p.add_argument("--split", choices=("train", "val", "test"), default="train")
    p.add_argument("--samples", type=int, default=1000)
    p.add_argument("--batch-size", type=int, default=1000)
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    p.add_argument("--dtype", choices=("float32", "bfloat16"), default="float32")
    p.add_argument("--points-per-pass", type=int, help="grid points evaluated together (default: chosen from memory and speed)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--from", dest="from_", metavar="CKPT", help="interpolate: start (default: the run's first trajectory checkpoint)")
    p.add_argument("--to", metavar="CKPT", help="interpolate: end (default: --checkpoint)")
    p.add_argument("--sharpness", action="store_true", help="also the top Hessian eigenvalue and the Hessian trace")
    p.add_argument("--sharpness-iterations", type=int, default=20)
    p.add_argument("--no-vmap", action="store_true", help="evaluate one point at a time")
    p.add_argument("--name", help="landscape folder name (default <dims>d-<normalization|directions>-<time>)")
    p.add_argument("--resume", action="store_true", help="continue the landscape --name (default: the latest unfinished)")
    return p


class Cancelled(Exception):
    def __init__(self, signum):
        self.signum = signum


_stop = {"signal": None}


def _on_signal(signum, _frame):
    _stop["signal"] = signum


def fail(message):
    from .load import LandscapeError

    raise LandscapeError(message)


def find_resume_dir(run_dir, name):
    root = os.path.join(run_dir, "landscapes")
    if name:
        d = os.path.join(root, name)
        if not os.path.exists(os.path.join(d, RESULT_FILE)):
            fail(f"nothing to resume: {d} has no {RESULT_FILE}")
        return d
    candidates = []
    for entry in sorted(os.listdir(root)) if os.path.isdir(root) else []:
        path = os.path.join(root, entry, RESULT_FILE)
        if os.path.exists(path):
            try:
                if read_json(path).get("status") != "done":
                    candidates.append((os.path.getmtime(path), os.path.join(root, entry)))
            except ValueError:
                continue
    if not candidates:
        fail(f"nothing to resume in {root}: no unfinished landscape")
    return max(candidates)[1]


def _join_ranges(argv):
    """`--x -1:1:41` as `--x=-1:1:41`: argparse takes a value starting with '-' for an option otherwise."""
    out, i = [], 0
    while i < len(argv):
        if argv[i] in ("--x", "--y") and i + 1 < len(argv):
            out.append(f"{argv[i]}={argv[i + 1]}")
            i += 2
        else:
            out.append(argv[i])
            i += 1
    return out


def main(argv=None):
    args = build_parser().parse_args(_join_ranges(sys.argv[1:] if argv is None else list(argv)))
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    try:
        run(args)
        return 0
    except Cancelled as stop:
        return 128 + stop.signum
    except Exception as error:
        from .load import LandscapeError

        expected = isinstance(error, LandscapeError)
        message = str(error) if expected else f"{type(error).__name__}: {error}"
        if not expected:
            traceback.print_exc()
        sys.stderr.write(f"descent.landscape: {message}\n")
        current = _current.get("result")
        if current is not None:
            current.doc["status"] = "failed"
            current.doc["error"] = message
            current.save(force=True)
        emit({"type": "error", "message": message})
        return 2 if expected else 1


_current = {}


def run(args):
    try:
        import torch
        import torch.func  # noqa: F401  (PyTorch 2.0+)
    except ImportError as error:
        fail(f"loss landscapes need PyTorch 2.0 or later in this interpreter ({sys.executable}): {error}. Install it, e.g. pip install torch")

    from . import directions as dirs
    from .grid import GridEvaluator, Objective
    from .hessian import hutchinson_trace, top_eigenvalue
    from .load import is_project, load_project, load_setup, load_state, read_state, select_batches
    from .trajectory import default_checkpoint, run_cwd, trajectory_checkpoints

    run_dir = os.path.abspath(args.run)
    if not os.path.isdir(run_dir) and not args.setup:
        fail(f"run directory not found: {run_dir}")
    resume_dir = find_resume_dir(run_dir, args.name) if args.resume else None
    saved = read_json(os.path.join(resume_dir, RESULT_FILE)) if resume_dir else None
    if saved:  # the saved options win: the points already computed must be continued with the same ones
        for key, value in saved["parameters"].get("options", {}).items():
            setattr(args, key, value)
        args.resume = True

    if args.samples < 1 or args.batch_size < 1:
        fail("--samples and --batch-size must be at least 1")
    if args.points_per_pass is not None and args.points_per_pass < 1:
        fail("--points-per-pass must be at least 1")
    if args.directions == "interpolate" and args.dims != 1:
        fail("interpolation between two checkpoints is a 1D landscape: use --dims 1")

    device = args.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        fail(f"--device {device}: this PyTorch has no usable CUDA GPU; use --device cpu")
    device = torch.device(device)
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", torch.cuda.current_device())
    dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16}[args.dtype]

    # ---- model, data, loss ----
    _, run_info = run_cwd(run_dir)
    project = None
    if args.setup:
        model, data, loss_fn = load_setup(args.setup)
        splits = {args.split: data}
        checkpoint = args.checkpoint
        if checkpoint:
            load_state(model, checkpoint)
        kind = None
    else:
        project = args.project or run_info.get("cwd")
        if not args.project and not is_project(project):
            # run.json without a cwd (a run the logger started): runs/<name>/ inside the project is the usual place.
            project = next((d for d in (os.path.dirname(os.path.dirname(run_dir)), os.path.dirname(run_dir)) if is_project(d)), project)
        if not is_project(project):
            fail(
                f"no scaffolded project found ({project or 'run.json has no cwd'}): pass --project DIR (with model.py, data.py, "
                "config.json), or --setup FILE.py defining landscape_setup() for another project"
            )
        model, splits, objective, kind, _config = load_project(project, run_info.get("hyperparameters"))
        checkpoint = args.checkpoint or default_checkpoint(run_dir, project)
        if not checkpoint:
            fail(f"the run {run_dir} has no checkpoint: train first, or pass --checkpoint PATH")
        load_state(model, checkpoint)
    if splits.get(args.split) is None:
        fail(f"the project has no {args.split} data: use --split train or val")
    model = model.to(device).eval()
    batches = select_batches(splits[args.split], args.samples, args.batch_size, args.seed, device, dtype, autoencode=kind == "autoencode")
    if args.setup:
        x0, y0 = batches[0]
        with torch.no_grad():
            out = model(x0.float() if x0.is_floating_point() else x0)
        out = out[0] if isinstance(out, (tuple, list)) else out
        classify = out.dim() == 2 and not y0.is_floating_point() and y0.dim() == 1
        objective = Objective(loss_fn, classify)
    val_batches = None
    if args.dims == 1 and not args.setup and args.split != "val" and splits.get("val") is not None:
        val_batches = select_batches(splits["val"], args.samples, args.batch_size, args.seed, device, dtype, autoencode=kind == "autoencode")

    params = {n: p.detach() for n, p in model.named_parameters()}
    n_params = sum(p.numel() for p in params.values())

    # ---- directions ----
    if args.name:
        name = args.name
    else:
        label = args.normalization if args.directions == "random" else args.directions
        name = f"{args.dims}d-{label}-{time.strftime('%Y%m%d-%H%M%S')}"
    out_dir = resume_dir or os.path.join(run_dir, "landscapes", name)
    if not resume_dir and os.path.exists(os.path.join(out_dir, RESULT_FILE)):
        fail(f"{out_dir} already exists: choose another --name, or add --resume to continue it")
    directions_path = os.path.join(out_dir, DIRECTIONS_FILE)
    info = {"kind": args.directions, "normalization": args.normalization, "ignore": args.ignore, "seed": args.seed, "file": DIRECTIONS_FILE}
    path = None
    x_axis, y_axis = args.x, args.y
    if saved:
        stored = torch.load(directions_path, map_location=device, weights_only=True)
        base, ds = stored["origin"], [stored["x"]] + ([stored["y"]] if "y" in stored else [])
        info = saved["directions"]
        path = saved.get("path")
        x_axis, y_axis = saved["grid"]["x"], saved["grid"].get("y")
    elif args.directions == "random":
        base = params
        ds = dirs.random_directions(params, args.dims, args.seed, args.normalization, args.ignore)
    elif args.directions == "interpolate":
        trajectory = trajectory_checkpoints(run_dir, project)
        start = args.from_ or (trajectory[0][0] if trajectory else None)
        end = args.to or checkpoint
        if not start:
            fail("interpolation needs a start: pass --from CKPT (the run logged no trajectory checkpoints)")
        states = [read_state(start), read_state(end)]
        # Parameters and floating-point buffers (batch-norm statistics) move together, so x=0 and x=1 are exactly
        # the two checkpoints.
        names = list(params) + [n for n, b in model.named_buffers() if b.is_floating_point()]
        for state, label in zip(states, (start, end)):
            missing = [n for n in names if n not in state or state[n].shape != dict(model.state_dict())[n].shape]
            if missing:
                fail(f"{label} does not fit the model (first mismatch: {missing[0]})")
        base = {n: states[0][n].to(device).float() for n in names}
        ds = [dirs.interpolation_direction(base, {n: states[1][n].to(device) for n in names})]
        info.update({"from": start, "to": end, "normalization": "none", "ignore": "none"})
        x_axis = x_axis or {"min": 0.0, "max": 1.0, "num": 41}
    else:
        trajectory = [(p, lbl) for p, lbl in trajectory_checkpoints(run_dir, project) if os.path.abspath(p) != os.path.abspath(checkpoint)]
        if len(trajectory) < 3:
            fail(
                f"PCA directions need at least 3 checkpoints of the training trajectory; found {len(trajectory)}. Train with "
                '"trajectory_checkpoints": true in config.json (one small weights file per epoch), or log several with log.checkpoint()'
            )
        states = []
        for p, _ in trajectory:
            state = read_state(p)
            if any(n not in state or state[n].shape != params[n].shape for n in params):
                fail(f"{p} does not fit the model")
            states.append({n: state[n] for n in params})
        d1, d2, explained, xs, ys = dirs.pca_directions({n: t.cpu() for n, t in params.items()}, states, args.ignore)
        base = params
        ds = [{n: t.to(device) for n, t in d1.items()}, {n: t.to(device) for n, t in d2.items()}][: args.dims]
        info.update({"explainedVariance": explained, "normalization": "none"})
        path = {"x": xs, "y": ys if args.dims == 2 else [0.0] * len(xs), "labels": [lbl for _, lbl in trajectory]}
        if abs(path["x"][-1]) + abs(path["y"][-1]) > 1e-9:  # the last checkpoint is often the final model itself
            path["x"].append(0.0)
            path["y"].append(0.0)
            path["labels"].append("final")

        def cover(values, given):
            if given:
                return given
            lo, hi = min(values), max(values)
            margin = max(hi - lo, 1e-3) * 0.25
            return {"min": lo - margin, "max": hi + margin, "num": 41}

        x_axis = cover(path["x"], x_axis)
        y_axis = cover(path["y"], y_axis) if args.dims == 2 else None
    x_axis = x_axis or {"min": -1.0, "max": 1.0, "num": 41}
    if args.dims == 2:
        y_axis = y_axis or dict(x_axis)

    os.makedirs(out_dir, exist_ok=True)
    if not saved:
        stored = {"origin": {n: t.detach().cpu() for n, t in base.items()}, "x": {n: t.cpu() for n, t in ds[0].items()}}
        if len(ds) > 1:
            stored["y"] = {n: t.cpu() for n, t in ds[1].items()}
        torch.save(stored, directions_path)

    evaluator = GridEvaluator(model, objective, batches, base, ds, dtype=dtype, points_per_pass=args.points_per_pass, use_vmap=not args.no_vmap)

    # ---- the result document ----
    rows = y_axis["num"] if args.dims == 2 else 1
    cols = x_axis["num"]
    options = {k: v for k, v in vars(args).items() if k not in ("resume", "name")}
    if saved:
        doc = saved
        doc["status"] = "running"
        doc.pop("error", None)
        doc.pop("finishedAt", None)
    else:
        doc = {
            "formatVersion": 1,
            "name": name,
            "status": "running",
            "engine": "torch",
            "device": str(device),
            "dtype": args.dtype,
            "model": {"source": "checkpoint", "path": os.path.abspath(checkpoint) if checkpoint else None, "parameters": n_params},
            "directions": info,
            "grid": {"dims": args.dims, "x": x_axis, **({"y": y_axis} if args.dims == 2 else {})},
            "data": {"split": args.split, "samples": sum(len(x) for x, _ in batches), "batchSize": args.batch_size},
            "metrics": {"loss": empty_grid(rows, cols), "accuracy": empty_grid(rows, cols) if objective.classify else None},
            "progress": {"done": 0, "total": rows * cols, "elapsedSeconds": 0.0, "pointsPerSecond": 0.0},
            "createdAt": now_iso(),
        }
        if project:
            doc["model"]["project"] = os.path.abspath(project)
        if val_batches:
            doc["valMetrics"] = {"loss": empty_grid(rows, cols), "accuracy": empty_grid(rows, cols) if objective.classify else None}
        if path:
            doc["path"] = path
    doc["parameters"] = {
        "options": options,
        "checkpoint": os.path.abspath(checkpoint) if checkpoint else None,
        "vmap": evaluator.vmap,
        "vmapReason": evaluator.vmap_reason,
        "pointsPerPass": evaluator.points_per_pass,
        "firstLayerShared": evaluator.first_layer,
        "firstLayerReason": evaluator.first_layer_reason,
        "firstLayerLayout": evaluator.first_layer_layout,
        "torch": torch.__version__,
    }
    result = Result(out_dir, doc)
    _current["result"] = result

    def check_stop():
        if _stop["signal"] is not None:
            result.doc["status"] = "cancelled"
            result.save(force=True)
            emit({"type": "cancelled", "dir": out_dir})
            raise Cancelled(_stop["signal"])

    # ---- the grid ----
    xs = axis_values(x_axis)
    ys = axis_values(y_axis) if args.dims == 2 else [0.0]
    result.save(force=True)
    for key, evaluator_batches in (("metrics", batches), ("valMetrics", val_batches)):
        if evaluator_batches is None:
            continue
        evaluator.batches = evaluator_batches
        todo = [(iy, ix) for iy in range(rows) for ix in range(cols) if doc[key]["loss"][iy][ix] is None]
        start = 0
        while start < len(todo):
            check_stop()
            part = todo[start:start + evaluator.points_per_call]  # may change while the engine measures K
            start += len(part)
            coords = torch.tensor([[xs[ix], ys[iy]][: args.dims] for iy, ix in part], dtype=torch.float32)
            losses, accs = evaluator.evaluate(coords)
            for i, (iy, ix) in enumerate(part):
                result.set_point(key, iy, ix, losses[i], accs[i] if accs is not None else None)
            result.save()
    evaluator.batches = batches
    check_stop()
    if "origin" not in doc:
        losses, accs = evaluator.evaluate(torch.zeros(1, args.dims))
        doc["origin"] = {"loss": losses[0], "accuracy": accs[0] if accs is not None else None}

    # ---- sharpness ----
    if args.sharpness and "sharpness" not in doc:
        result.save(force=True)
        sharp_batches = [(x.float() if x.is_floating_point() else x, y) for x, y in batches]
        eigenvalue, used = top_eigenvalue(model, objective.loss_fn, sharp_batches, iterations=args.sharpness_iterations, seed=args.seed)
        check_stop()
        trace = hutchinson_trace(model, objective.loss_fn, sharp_batches, samples=args.sharpness_iterations, seed=args.seed)
        doc["sharpness"] = {"topEigenvalue": eigenvalue, "trace": trace, "iterations": used, "samples": evaluator.count}

    doc["status"] = "done"
    doc["finishedAt"] = now_iso()
    result.save(force=True)
    emit({"type": "done", "dir": out_dir})
    return result


if __name__ == "__main__":
    sys.exit(main())
