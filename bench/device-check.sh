#!/usr/bin/env bash
# The GPU device check (docs: shared/docs/tfjs-backends.md §3.6), one run on a machine with nothing installed:
#   bash scripts/prepare-device-bundle.sh                       # here, once: builds .device/ and .gl/
#   device tool: run(command: 'bash bench/device-check.sh', carry: ['.device', '.gl'], timeout_s: 420)
# It unpacks Node and dawn.node from .device/, the Vulkan loader from .gl/ (into / on the GPU machine, as the device
# README says; only there), then runs .device/device-check.js: adapter probe, the engine on webgpu against cpu,
# and the bench (webgpu and the wasm baseline on the same machine). Results: $OUT/device-check.json and .log
# (or .cache/device-check/ when $OUT is unset). Pass --quick (and other device-check.ts flags) through "$@".
# To try the same bundle here, on the software driver: eval "$(bash scripts/setup-software-gpu.sh)"; bash bench/device-check.sh --quick
set -uo pipefail
cd "$(dirname "$0")/.."
D=.device
[ -f $D/device-check.js ] && [ -f $D/node.xz ] || { echo "device-check: no $D bundle; run scripts/prepare-device-bundle.sh first and carry .device and .gl"; exit 2; }
OUTDIR="${OUT:-.cache/device-check}"; mkdir -p "$OUTDIR"
TMP=$(mktemp -d /tmp/ntk-device.XXXXXX)

xz -dc $D/node.xz >"$TMP/node" && chmod +x "$TMP/node"
xz -dc $D/node_modules/webgpu/dist/linux-x64/dawn.node.xz >$D/node_modules/webgpu/dist/linux-x64/dawn.node

if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1' && [ -z "${VK_DRIVER_FILES:-}" ]; then
  if [ -d /usr/local/nvidia ] && [ "$(id -u)" = 0 ] && ls .gl/*.deb >/dev/null 2>&1; then
    for f in .gl/*.deb; do dpkg -x "$f" /; done; ldconfig            # the device README's recipe (GPU machine only)
  else
    echo "device-check: no Vulkan loader; on this machine run: eval \"\$(bash scripts/setup-software-gpu.sh)\""; exit 2
  fi
fi
if [ -z "${VK_DRIVER_FILES:-}" ] && [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ] \
  && ! ls /usr/share/vulkan/icd.d/*nvidia* /etc/vulkan/icd.d/*nvidia* >/dev/null 2>&1; then
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
fi
export NTK_LENS_WEBGPU_OPTS="${NTK_LENS_WEBGPU_OPTS:-backend=vulkan}"

{ echo "device-check: $(uname -m), $(nproc) cores; VK_DRIVER_FILES=${VK_DRIVER_FILES:-<loader default>}"
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
} 2>&1 | tee "$OUTDIR/device-check.log"
"$TMP/node" --no-warnings $D/device-check.js --wasm-dir "$PWD/$D/wasm" --out "$OUTDIR/device-check.json" "$@" 2>&1 \
  | grep -v 'artificially reduced' | tee -a "$OUTDIR/device-check.log"
rc=${PIPESTATUS[0]}
rm -rf "$TMP" $D/node_modules/webgpu/dist/linux-x64/dawn.node
exit "$rc"
