#!/usr/bin/env bash
# One command that builds Descent and opens it in a real VS Code (code-server 4.139.1, in your browser):
#   bash test/tools/demo.sh            # or: npm run demo      (PORT=8080 by default)
#   bash test/tools/demo.sh --no-wait  # start, check the URL answers, stop (CI smoke test)
# It installs npm dependencies if node_modules is missing, builds, installs the host tools outside the repository
# (test/tools/install-host.sh), creates test/demo-workspace/.venv with the CPU build of PyTorch 2.13, then serves
# test/demo-workspace on 127.0.0.1:$PORT with the repository installed as the extension descent-dev.descent.
# Ctrl-C stops code-server.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROOT="$PWD"
PORT="${PORT:-8080}"
WAIT=1
for arg in "$@"; do
  case "$arg" in
    --no-wait) WAIT=0 ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "demo: unknown argument $arg" >&2; exit 2 ;;
  esac
done
say() { echo "[demo] $*"; }

if [ ! -d node_modules ]; then
  say "installing npm dependencies"
  if [ -f package-lock.json ]; then ONNXRUNTIME_NODE_INSTALL=skip npm ci; else ONNXRUNTIME_NODE_INSTALL=skip npm install; fi
fi

say "building"
npm run --silent build

say "checking the VS Code host tools"
bash test/tools/install-host.sh >/dev/null

WS="$ROOT/test/demo-workspace"
VENV="$WS/.venv"
if ! "$VENV/bin/python" -c 'import torch, numpy' >/dev/null 2>&1; then
  say "creating $VENV with PyTorch 2.13 (CPU build)"
  PYTHON="${DESCENT_DEMO_PYTHON:-python3}"
  [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
  pip_args=(install --quiet torch==2.13.0 numpy)
  if [ -n "${DESCENT_TORCH_INDEX_URL:-}" ]; then
    pip_args+=(--index-url "$DESCENT_TORCH_INDEX_URL" --extra-index-url https://pypi.org/simple)
  elif [ -z "${PIP_FIND_LINKS:-}" ] && [ "$(uname -s)" = Linux ]; then
    # PyPI's Linux wheel is the CUDA build (several GB); the CPU build lives on PyTorch's own index.
    pip_args+=(--index-url https://download.pytorch.org/whl/cpu --extra-index-url https://pypi.org/simple)
  fi
  # Here PIP_FIND_LINKS points at a local CPU wheel, so plain `pip install torch==2.13.0` finds it offline.
  "$VENV/bin/python" -m pip "${pip_args[@]}"
fi
say "$("$VENV/bin/python" -c 'import sys, torch; print(f"Python {sys.version.split()[0]}, PyTorch {torch.__version__}")')"

node_args=(test/tools/codeserver.mjs --workspace "$WS" --port "$PORT" --extension "$ROOT"
  --settings '{"workbench.startupEditor":"readme","workbench.secondarySideBar.defaultVisibility":"hidden","git.openRepositoryInParentFolders":"never"}')
[ "$WAIT" = 1 ] || node_args+=(--no-wait)
exec node "${node_args[@]}"
