#!/usr/bin/env bash
# The single test command (npm test / .ci/run): installs what is missing, then runs every tier in order and stops at
# the first failure, naming the stage that failed.
#   install (npm, tools, python venv) -> build -> typecheck -> lint -> unit -> python -> host (real VS Code) -> browser (Chromium driving VS Code)
#   -> package (VSIX within its size budget) -> demo (the README's demo command starts and answers)
# Environment: DESCENT_SKIP="host browser" skips stages by name (for a quick local run; CI runs them all).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
export ONNXRUNTIME_NODE_INSTALL=skip  # onnxruntime-node's postinstall would download CUDA libraries (fails offline)
SKIP=" ${DESCENT_SKIP:-} "
START=$(date +%s)
passed=()

banner() { printf '\n==================== %s ====================\n' "$*"; }
fail() {
  local stage="$1" rc="$2"
  banner "FAILED: stage '$stage' (exit $rc)"
  echo "[test-all] stages passed before it: ${passed[*]:-none}"
  echo "[test-all] screenshots and logs of the VS Code tiers: test-artifacts/"
  exit "$rc"
}
stage() {
  local name="$1"; shift
  if [[ "$SKIP" == *" $name "* ]]; then banner "SKIPPED: $name (DESCENT_SKIP)"; return 0; fi
  banner "stage: $name ($*)"
  local t0=$(date +%s)
  "$@"
  local rc=$?
  [ "$rc" -eq 0 ] || fail "$name" "$rc"
  echo "[test-all] stage '$name' passed in $(( $(date +%s) - t0 )) s"
  passed+=("$name")
}

install_npm() {
  # Reinstall when node_modules is missing or older than the lockfile.
  if [ -d node_modules ] && { [ ! -f package-lock.json ] || [ node_modules/.package-lock.json -nt package-lock.json ]; }; then
    echo "[test-all] node_modules is up to date"
    return 0
  fi
  if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
}

stage install-npm install_npm
stage install-tools bash test/tools/install-host.sh
# The Python venv (CPU PyTorch, onnx, onnxruntime...) before the unit tests: some export ONNX models with it.
stage install-python bash test/tools/pytest.sh --setup-only
stage build      npm run build
stage typecheck  npm run typecheck
stage lint       npm run lint
stage unit       npm run test:unit
stage python     npm run test:python
stage host       npm run test:host
stage browser    npm run test:browser
stage package    npm run package
stage demo       bash test/tools/demo.sh --no-wait

banner "all stages passed in $(( $(date +%s) - START )) s: ${passed[*]}"
