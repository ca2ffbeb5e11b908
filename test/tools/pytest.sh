#!/usr/bin/env bash
# Runs the python/ tests (npm run test:python; `pytest.sh python/tests/test_x.py` runs one file; `--setup-only` only
# makes the venv) in a virtual environment outside the repository, with the CPU build of
# PyTorch, pytest and numpy; creates the venv on first use and reuses it afterwards. Extra arguments go to pytest.
#   DESCENT_PYVENV   where the venv lives (default ~/.cache/descent-tools/pyvenv)
#   DESCENT_PYTHON   the interpreter that creates it (default python3)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${DESCENT_PYVENV:-$HOME/.cache/descent-tools/pyvenv}"
BASE_PYTHON="${DESCENT_PYTHON:-python3}"
# Always pinned: an unpinned `pip install torch` pulls gigabytes of CUDA wheels on Linux.
TORCH_SPEC="torch==2.13.0"
CPU_INDEX="https://download.pytorch.org/whl/cpu"

if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1; then
  echo "[pytest] reusing venv $VENV"
else
  # A venv whose base interpreter went away cannot be repaired in place: --clear starts it afresh.
  echo "[pytest] creating venv $VENV with $BASE_PYTHON"
  mkdir -p "$(dirname "$VENV")"
  "$BASE_PYTHON" -m venv --clear "$VENV"
fi
PY="$VENV/bin/python"

if "$PY" -c 'import torch, pytest' >/dev/null 2>&1; then
  echo "[pytest] torch and pytest already installed: $("$PY" -c 'import torch; print(torch.__version__)')"
else
  # A local CPU wheel (PIP_FIND_LINKS, e.g. /opt/wheels) wins; torch alone and offline first, so pip cannot fall
  # through to PyPI's CUDA build. Its dependencies then come from the configured indexes.
  if "$PY" -m pip install -q --no-index --no-deps "$TORCH_SPEC" >/dev/null 2>&1; then
    echo "[pytest] installed $TORCH_SPEC from a local wheel"
  else
    echo "[pytest] no local wheel for $TORCH_SPEC: installing the CPU build from $CPU_INDEX"
    "$PY" -m pip install -q "$TORCH_SPEC" --index-url "$CPU_INDEX"
  fi
  echo "[pytest] installing torch's dependencies, pytest and numpy"
  "$PY" -m pip install -q "$TORCH_SPEC" pytest numpy
fi

# tensorboard (pinned): its SummaryWriter and reader are the baselines of bench/ingest and the writers of
# test/fixtures/runs/generate.py.
TENSORBOARD_SPEC="tensorboard==2.21.0"
if ! "$PY" -c 'import tensorboard, sys; sys.exit(tensorboard.__version__ != "2.21.0")' >/dev/null 2>&1; then
  echo "[pytest] installing $TENSORBOARD_SPEC"
  "$PY" -m pip install -q "$TENSORBOARD_SPEC"
fi

# scikit-learn and pillow (pinned): generated scaffold projects train on scikit-learn's bundled datasets and on
# folders of PNG images written with pillow (python/tests/test_scaffold.py).
SCAFFOLD_SPECS=("scikit-learn==1.8.0" "pillow==13.0.0")
if ! "$PY" -c 'import sklearn, PIL, sys; sys.exit(sklearn.__version__ != "1.8.0" or PIL.__version__ != "13.0.0")' >/dev/null 2>&1; then
  echo "[pytest] installing ${SCAFFOLD_SPECS[*]}"
  "$PY" -m pip install -q "${SCAFFOLD_SPECS[@]}"
fi

# onnx, onnxscript and onnxruntime (pinned): torch.onnx.export needs onnx (and onnxscript for the dynamo exporter);
# onnxruntime's Python API, at the same version as onnxruntime-node, is the baseline of bench/confusion and the
# cross-check of the ONNX evaluation and landscape engines.
ONNX_SPECS=("onnx==1.23.2" "onnxscript==0.7.2" "onnxruntime==1.30.0")
if ! "$PY" -c 'import onnx, onnxscript, onnxruntime, sys; sys.exit(onnx.__version__ != "1.23.2" or onnxruntime.__version__ != "1.30.0")' >/dev/null 2>&1; then
  echo "[pytest] installing ${ONNX_SPECS[*]}"
  "$PY" -m pip install -q "${ONNX_SPECS[@]}"
fi

# torchvision (pinned, for the transfer-learning projects of python/tests/test_scaffold.py): PyPI's only wheel for
# torch 2.13.0 is a CUDA build, so it goes beside the venv, not into it (an `import torchvision` anywhere else would
# fail), without dependencies; the tests put it on PYTHONPATH with test/tools/torchvision-on-cpu (see there why).
TORCHVISION_SPEC="torchvision==0.28.0"
TORCHVISION_DIR="${DESCENT_TORCHVISION_DIR:-$HOME/.cache/descent-tools/torchvision-0.28.0}"
if [ ! -f "$TORCHVISION_DIR/torchvision/version.py" ]; then
  echo "[pytest] installing $TORCHVISION_SPEC (no dependencies) into $TORCHVISION_DIR"
  rm -rf "$TORCHVISION_DIR.partial"
  "$PY" -m pip install -q --no-deps --target "$TORCHVISION_DIR.partial" "$TORCHVISION_SPEC"
  rm -rf "$TORCHVISION_DIR" && mv "$TORCHVISION_DIR.partial" "$TORCHVISION_DIR"
fi
export DESCENT_TORCHVISION_DIR="$TORCHVISION_DIR"

# --setup-only: stop here (test-all.sh makes the venv before the unit tests, some of which export models with it).
if [ "${1:-}" = "--setup-only" ]; then
  echo "[pytest] venv ready: $PY"
  exit 0
fi

cd "$ROOT"
# Test files or folders given: only those; otherwise every test under python/tests. Other arguments go to pytest.
targets=(python/tests)
for a in "$@"; do
  if [[ "$a" != -* ]] && [ -e "${a%%::*}" ]; then targets=(); break; fi
done
echo "[pytest] $PY -m pytest ${targets[*]} -q $*"
exec "$PY" -m pytest "${targets[@]}" -q "$@"
