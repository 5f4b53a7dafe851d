#!/usr/bin/env bash
# The whole test command (README, .ci/run): type-check, build, engine and editor unit tests, then the real-VS-Code
# tests when their harness is present. Each stage prints its own "N passed, N failed" line; the last line of this
# script sums them, so CI reads one total.
set -uo pipefail
cd "$(dirname "$0")/.."
total_pass=0; total_fail=0; total_skip=0; status=0
tally() { # $1 = log file of a stage whose last summary line is "N passed, N failed[, N skipped]"
  local line; line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$1" | tail -n 1)
  if [ -z "$line" ]; then echo "!! no summary line from $2"; total_fail=$((total_fail + 1)); return; fi
  local p f s; p=$(echo "$line" | sed -E 's/^([0-9]+) passed.*/\1/'); f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
  s=$(echo "$line" | grep -oE '[0-9]+ skipped' | grep -oE '[0-9]+' || echo 0)
  total_pass=$((total_pass + p)); total_fail=$((total_fail + f)); total_skip=$((total_skip + s))
}
logdir=$(mktemp -d)

echo "== type-check"
if ! npx tsc -p . --noEmit; then echo "type-check failed"; total_fail=$((total_fail + 1)); status=1; fi

if [ -f scripts/build.mjs ]; then
  echo "== build"
  if ! node scripts/build.mjs; then echo "build failed"; total_fail=$((total_fail + 1)); status=1; fi
fi

gpu_env=""  # a software WebGPU driver (Mesa lavapipe, private copy) for test/unit/engine/backend/webgpu.test.ts
if [ -z "${NTK_LENS_SKIP_GPU:-}" ]; then
  echo "== software GPU driver (scripts/setup-software-gpu.sh; NTK_LENS_SKIP_GPU=1 skips it and the webgpu tests)"
  gpu_env=$(bash scripts/setup-software-gpu.sh) || { gpu_env=""; echo "(no software GPU driver: the webgpu tests will skip)"; }
fi

echo "== unit tests (mocha)"
(eval "$gpu_env"; exec npx mocha) 2>&1 | tee "$logdir/unit.log"; [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
tally "$logdir/unit.log" "unit tests"

if [ -f scripts/vscode-e2e.sh ] && [ "${NTK_SKIP_E2E:-0}" != 1 ]; then
  echo "== real VS Code tests (code-server + chromium)"
  bash scripts/vscode-e2e.sh 2>&1 | tee "$logdir/e2e.log"; [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
  tally "$logdir/e2e.log" "VS Code tests"
fi

echo
echo "${total_pass} passed, ${total_fail} failed, ${total_skip} skipped"
[ "$total_fail" -eq 0 ] || status=1
exit $status
