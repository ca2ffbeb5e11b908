"""Model, data and loss: from a Descent-scaffolded project (model.py, data.py, config.json, train.py) or from a
user's ``--setup FILE.py`` exposing ``landscape_setup() -> (model, dataset_or_loader, loss_fn)``."""

import importlib.util
import json
import os
import re
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

from .grid import Objective, plain_cross_entropy


class LandscapeError(Exception):
    """Bad input: the message says what is wrong and what to do."""


# ---- checkpoints ----


def read_state(path):
    """The model's state dict in a checkpoint: {"model": state_dict, ...} (the scaffold's) or a bare state dict."""
    if not path or not os.path.exists(path):
        raise LandscapeError(f"checkpoint not found: {path}. Train the model first, or pass --checkpoint PATH.")
    try:
        doc = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise LandscapeError(f"cannot read checkpoint {path}: {error}") from error
    if isinstance(doc, dict) and isinstance(doc.get("model"), dict):
        doc = doc["model"]
    elif isinstance(doc, dict) and isinstance(doc.get("state_dict"), dict):
        doc = doc["state_dict"]
    if not isinstance(doc, dict) or not doc or not all(torch.is_tensor(v) for v in doc.values()):
        raise LandscapeError(f"{path} holds no state dict (expected {{'model': model.state_dict(), ...}} or a state dict)")
    return doc


def load_state(model, path):
    state = read_state(path)
    try:
        model.load_state_dict(state)
    except RuntimeError as error:
        first = str(error).strip().splitlines()
        raise LandscapeError(
            f"the checkpoint {path} does not fit the model (shapes or names differ): {' '.join(first[:3])[:500]}. "
            "Was it saved by another version of model.py or with other settings (e.g. hidden_size)?"
        ) from error
    return state


# ---- a scaffolded project ----


def is_project(folder):
    return bool(folder) and all(os.path.exists(os.path.join(folder, f)) for f in ("model.py", "data.py", "config.json"))


def _import_fresh(name, folder):
    sys.modules.pop(name, None)
    spec = importlib.util.spec_from_file_location(name, os.path.join(folder, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def scaffold_loss(train_source):
    """(loss_fn(outputs, targets), kind) from the criterion line of a scaffolded train.py.

    kind: 'classify' (class indices; BCE classifiers get one-hot targets as train.py does), 'autoencode' (the
    target is the input), 'regress'."""
    match = re.search(r"^\s*criterion\s*=\s*(.+?)\s*(#.*)?$", train_source, re.M)
    if not match:
        raise LandscapeError("train.py has no `criterion = ...` line: use --setup FILE.py to give the loss")
    expr = match.group(1)
    autoencode = "criterion(outputs, inputs)" in train_source
    one_hot = "F.one_hot(targets" in train_source
    if expr.startswith("elbo_loss"):
        raise LandscapeError(
            "VAE (ELBO) landscapes are not supported: the loss samples the latent code, so it is not a function of the "
            "weights alone. Use --setup FILE.py with a deterministic loss (e.g. the reconstruction at the mean code)."
        )
    if expr.startswith("nn.CrossEntropyLoss("):
        return plain_cross_entropy, "classify"
    if expr.startswith("nn.BCEWithLogitsLoss("):
        if autoencode:
            return (lambda out, y: F.binary_cross_entropy_with_logits(out, y)), "autoencode"
        if one_hot:
            return (lambda out, y: F.binary_cross_entropy_with_logits(out, F.one_hot(y, out.shape[-1]).float())), "classify"
        return (lambda out, y: F.binary_cross_entropy_with_logits(out, y.float())), "regress"
    simple = {"nn.MSELoss(": F.mse_loss, "nn.L1Loss(": F.l1_loss}
    for prefix, fn in simple.items():
        if expr.startswith(prefix):
            return fn, ("autoencode" if autoencode else "regress")
    if expr.startswith("nn.HuberLoss("):
        delta = re.search(r"delta\s*=\s*([0-9.eE+-]+)", expr)
        d = float(delta.group(1)) if delta else 1.0
        return (lambda out, y: F.huber_loss(out, y, delta=d)), ("autoencode" if autoencode else "regress")
    raise LandscapeError(f"unknown loss in train.py ({expr}): use --setup FILE.py to give the loss")


def load_project(project_dir, hyperparameters=None):
    """(model, {split: dataset}, objective, kind, config) of a scaffolded project; the model has fresh weights."""
    if not is_project(project_dir):
        raise LandscapeError(
            f"{project_dir} is not a Descent project (model.py, data.py and config.json): pass --project DIR, "
            "or --setup FILE.py for another project"
        )
    project_dir = os.path.abspath(project_dir)
    with open(os.path.join(project_dir, "config.json"), encoding="utf-8") as f:
        config = json.load(f)
    # The run's logged hyperparameters are the settings it trained with (config.json plus command-line overrides).
    for key, value in (hyperparameters or {}).items():
        if key in config:
            config[key] = value
    train_path = os.path.join(project_dir, "train.py")
    source = open(train_path, encoding="utf-8").read() if os.path.exists(train_path) else ""
    loss_fn, kind = scaffold_loss(source)
    previous = os.getcwd()
    sys.path.insert(0, project_dir)
    try:
        os.chdir(project_dir)  # data.py reads paths relative to the project
        try:
            data = _import_fresh("data", project_dir)
            model_module = _import_fresh("model", project_dir)
        except SystemExit as error:
            raise LandscapeError(f"importing the project stopped: {error}") from error
        except Exception as error:
            raise LandscapeError(f"cannot import model.py / data.py of {project_dir}: {type(error).__name__}: {error}") from error
        try:
            train_set, val_set, test_set, info = data.load_data(config)
        except SystemExit as error:
            raise LandscapeError(f"data.py stopped: {error}") from error
        model = model_module.build_model(config, info)
    finally:
        os.chdir(previous)
        sys.path.remove(project_dir)
    splits = {"train": train_set, "val": val_set, "test": test_set}
    return model, splits, Objective(loss_fn, kind == "classify", sample_mean=True), kind, config


# ---- a --setup file ----


def load_setup(path):
    """(model, data, objective) from FILE.py's landscape_setup()."""
    if not os.path.exists(path):
        raise LandscapeError(f"setup file not found: {path}")
    folder = os.path.dirname(os.path.abspath(path))
    sys.path.insert(0, folder)
    try:
        spec = importlib.util.spec_from_file_location("descent_landscape_setup", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        if not hasattr(module, "landscape_setup"):
            raise LandscapeError(f"{path} has no landscape_setup() function returning (model, dataset_or_loader, loss_fn)")
        result = module.landscape_setup()
    except LandscapeError:
        raise
    except Exception as error:
        raise LandscapeError(f"{path} failed: {type(error).__name__}: {error}") from error
    finally:
        sys.path.remove(folder)
    if not (isinstance(result, tuple) and len(result) == 3 and isinstance(result[0], nn.Module) and callable(result[2])):
        raise LandscapeError("landscape_setup() must return (model: nn.Module, dataset_or_loader, loss_fn(outputs, targets))")
    model, data, loss_fn = result
    return model, data, loss_fn


# ---- the samples, in batches on the device ----


def select_batches(data, samples, batch_size, seed, device, dtype, autoencode=False):
    """Up to `samples` examples (a seeded random subset of a dataset; the first ones of a loader), as a list of
    (inputs, targets) batches on the device, inputs in the evaluation dtype. Autoencoders: the target is the input."""
    xs, ys = [], []
    if hasattr(data, "__getitem__") and hasattr(data, "__len__") and not isinstance(data, torch.utils.data.DataLoader):
        n = len(data)
        if n == 0:
            raise LandscapeError("the dataset is empty")
        order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))[: min(samples, n)].sort().values
        if isinstance(data, torch.utils.data.TensorDataset):
            xs, ys = [data.tensors[0][order]], [data.tensors[1][order] if len(data.tensors) > 1 else data.tensors[0][order]]
        else:
            collated = torch.utils.data.default_collate([data[int(i)] for i in order])
            xs, ys = [collated[0]], [collated[1]]
    else:
        count = 0
        for batch in data:
            x, y = batch[0], batch[1]
            xs.append(x)
            ys.append(y)
            count += len(x)
            if count >= samples:
                break
        if not xs:
            raise LandscapeError("the data loader yielded no batch")
    x, y = torch.cat(xs)[:samples], torch.cat(ys)[:samples]
    if autoencode:
        y = x
    batches = []
    for start in range(0, len(x), batch_size):
        bx, by = x[start:start + batch_size], y[start:start + batch_size]
        bx = bx.to(device=device, dtype=dtype) if bx.is_floating_point() else bx.to(device)
        by = by.to(device=device, dtype=torch.float32) if (by.is_floating_point() and not autoencode) else by.to(device)
        if autoencode:
            by = by.float()
        batches.append((bx, by))
    return batches
