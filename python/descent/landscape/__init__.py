"""Loss landscapes of a trained model (Li et al., NeurIPS 2018), computed with PyTorch: Descent's "torch" engine.

    python -m descent.landscape --run runs/my-run --dims 2 --directions random --normalization filter

Nothing here imports torch at package import time (``descent`` must stay importable without it); the modules below
import it themselves. Modules: ``directions`` (random / filter-normalised, interpolation, PCA of the trajectory),
``grid`` (the grid evaluated with ``torch.func.functional_call`` + ``torch.vmap``), ``first_layer`` (the first
layer's outputs computed once for the whole grid), ``hessian`` (sharpness),
``load`` (model, data and loss of a scaffolded project or of a ``--setup`` file), ``trajectory`` (the run's
checkpoints), ``store`` (the result file, resume), ``__main__`` (the command line).

Any other project: ``--setup FILE.py`` with

    def landscape_setup():
        return model, dataset_or_loader, loss_fn

``model`` an ``nn.Module`` (its weights are the origin unless ``--checkpoint`` names a state dict to load),
``dataset_or_loader`` a Dataset of (input, target) pairs or an iterable of (input, target) batches, ``loss_fn(outputs,
targets)`` returning the batch's mean loss (e.g. ``nn.CrossEntropyLoss()``). Accuracy is reported when the outputs are
(batch, classes) scores and the targets class indices.

Result format, version 1 (shared with the VS Code panel, src/protocol/landscape.ts; do not rename fields)
--------------------------------------------------------------------------------------------------------
A landscape is a directory ``<runDir>/landscapes/<name>/`` (name default ``<kind>-<directions>-<YYYYMMDD-HHMMSS>``):

- ``landscape.json``, rewritten atomically (write tmp + rename) every few points, so a reader always sees a whole file::

    { "formatVersion": 1,
      "name": "2d-filter-20261121-171500",
      "status": "running" | "done" | "cancelled" | "failed",   "error": "message when failed",
      "engine": "torch" | "onnx", "device": "cpu" | "cuda:0", "dtype": "float32" | "bfloat16",
      "model": { "source": "checkpoint" | "onnx", "path": "relative to runDir or absolute", "parameters": 12345,
                 "project": "dir with model.py/data.py when scaffolded" },
      "directions": { "kind": "random" | "interpolate" | "pca", "normalization": "filter" | "layer" | "none",
                      "ignore": "biasbn" | "none", "seed": 0, "file": "directions.pt",
                      "from": "checkpoint path (interpolate)", "to": "checkpoint path",
                      "explainedVariance": [0.61, 0.22] },
      "grid": { "dims": 1 | 2, "x": { "min": -1, "max": 1, "num": 41 }, "y": { "min": -1, "max": 1, "num": 41 } },
      "data": { "split": "train" | "val" | "test", "samples": 1000, "batchSize": 1000 },
      "metrics": { "loss": [[...]], "accuracy": [[...]] },      // row-major [yIndex][xIndex] (1D: one row); null = not computed yet
      "valMetrics": { "loss": [[...]], "accuracy": [[...]] },   // optional, 1D mostly
      "progress": { "done": 120, "total": 1681, "elapsedSeconds": 12.3, "pointsPerSecond": 9.7 },
      "origin": { "loss": 0.123, "accuracy": 0.97 },            // the unperturbed model evaluated on the same data
      "minimum": { "x": 0.0, "y": 0.05, "loss": 0.12 },
      "path": { "x": [...], "y": [...], "labels": ["epoch 1", ...] },   // PCA: checkpoints projected on the plane
      "sharpness": { "topEigenvalue": 12.3, "trace": 45.6, "iterations": 20, "samples": 1000 },
      "parameters": { "...every option used, so the computation can be reproduced": true },
      "createdAt": "ISO time", "finishedAt": "ISO time" }

- ``directions.pt`` (torch engine; a dict of tensors) or ``directions.bin`` (onnx engine), reused on resume.
- Resume: running the engine again on the same directory with ``--resume`` keeps computed points (non-null) and
  fills the rest.
- Progress on stdout as JSON Lines, one per flush: ``{"type":"progress","done":120,"total":1681,"eta":38.1}``, final
  ``{"type":"done","dir":"..."}`` or ``{"type":"error","message":"..."}``; this engine adds
  ``{"type":"cancelled","dir":"..."}`` when stopped by SIGINT/SIGTERM (the file is saved first, status "cancelled").

Additions of this engine (all optional to a reader): ``parameters.vmap`` (false when the model could not be
evaluated with ``torch.vmap``, then ``parameters.vmapReason`` says why) and ``parameters.pointsPerPass``; accuracy
is null for models that are not classifiers; ``sharpness`` appears only with ``--sharpness``.
"""
