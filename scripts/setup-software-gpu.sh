#!/usr/bin/env bash
# A software GPU for the WebGPU backend, without touching the system's Mesa: Mesa 25 lavapipe (Vulkan on the CPU,
# Debian bookworm-backports) plus the Vulkan loader, fetched with `apt-get download` into a cache folder and unpacked
# there with `dpkg -x` (docs: shared/docs/tfjs-backends.md §3.2). Needs no root and no system change; the first run
# downloads about 12 MB (more on a bare system, whose missing libraries are fetched the same way), later runs only
# check the cache.
#
# Why lavapipe 25 and not the alternatives: bookworm's own lavapipe 22.3.6 is rejected by Dawn
# (shaderUniform*ArrayDynamicIndexing); Dawn's OpenGL ES backend on llvmpipe works but only in 'compatibility' mode,
# with 8 storage buffers per stage and a wrong packed matMul at inner dimension 65 536 (§3.4 item 5). Vulkan is also
# what the GPU machines run (NVIDIA's Vulkan driver), so the same Dawn backend is tested here.
#
# Usage:  eval "$(bash scripts/setup-software-gpu.sh)"     then run node/mocha in that shell
# Prints `export NAME='value'` lines on stdout (everything else goes to stderr); exit 1 with the reason if it fails.
# Settings: NTK_LENS_GPU_CACHE (default ~/.cache/ntk-lens-gpu).
set -euo pipefail

MESA_VERSION="25.0.7-2~bpo12+1"      # mesa-vulkan-drivers in bookworm-backports
DRM_VERSION="2.4.123-1~bpo12+1"      # Mesa 25 needs libdrm ≥ 2.4.121 (bookworm has 2.4.114)
MIRROR="${NTK_LENS_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
CACHE="${NTK_LENS_GPU_CACHE:-$HOME/.cache/ntk-lens-gpu}"
ROOT="$CACHE/root"                   # the unpacked packages
LIBDIR="$ROOT/usr/lib/x86_64-linux-gnu"
STAMP="$CACHE/ready-$MESA_VERSION"

say() { echo "setup-software-gpu: $*" >&2; }
fail() { say "$*"; exit 1; }

print_env() {
  cat <<EOF
export VK_DRIVER_FILES='$CACHE/lvp_icd.json'
export LD_LIBRARY_PATH='$LIBDIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}'
export XDG_RUNTIME_DIR='${XDG_RUNTIME_DIR:-$CACHE/xdg}'
export NTK_LENS_WEBGPU_OPTS='backend=vulkan'
EOF
}

# Every library that lavapipe needs must resolve (from the system or from the private copy).
missing_libs() { LD_LIBRARY_PATH="$LIBDIR" ldd "$LIBDIR/libvulkan_lvp.so" 2>/dev/null | awk '/not found/ {print $1}'; }

if [ -f "$STAMP" ] && [ -f "$LIBDIR/libvulkan.so.1" ] && [ -z "$(missing_libs)" ]; then
  print_env
  exit 0
fi

[ "$(uname -m)" = x86_64 ] || fail "only x86-64 Linux is supported (this is $(uname -m)); use the wasm backend."
command -v apt-get >/dev/null && command -v dpkg >/dev/null \
  || fail "needs apt-get and dpkg (Debian/Ubuntu); elsewhere install Mesa ≥ 25 lavapipe and libvulkan1 yourself."

mkdir -p "$CACHE/debs" "$CACHE/apt/lists/partial" "$CACHE/apt/archives/partial" "$CACHE/xdg"
chmod 700 "$CACHE/xdg"
printf 'deb %s bookworm main\ndeb %s bookworm-backports main\n' "$MIRROR" "$MIRROR" >"$CACHE/apt/sources.list"
# A private apt state: the system's package lists and sources stay untouched, and no root is needed.
APT=(-o "Dir::Etc::sourcelist=$CACHE/apt/sources.list" -o "Dir::Etc::sourceparts=-"
  -o "Dir::State::Lists=$CACHE/apt/lists" -o "Dir::Cache=$CACHE/apt" -o "Debug::NoLocking=1"
  -o "APT::Sandbox::User=$(id -un)" -o "Acquire::Retries=3")

say "fetching package lists (bookworm, bookworm-backports) into $CACHE/apt"
apt-get "${APT[@]}" update -qq >&2 || fail "apt-get update failed (no network to $MIRROR?); the WebGPU tests will skip."

wanted=("mesa-vulkan-drivers=$MESA_VERSION" "libdrm2=$DRM_VERSION" "libdrm-amdgpu1=$DRM_VERSION" libvulkan1)
# Plus every (recursive) dependency of lavapipe that the system lacks, except the C/C++ runtimes, which must be the
# system's own (a foreign libc unpacked beside the program would break it).
deps=$(apt-cache "${APT[@]}" depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
  --no-replaces --no-enhances --no-pre-depends "mesa-vulkan-drivers=$MESA_VERSION" 2>/dev/null \
  | grep -E '^[a-z0-9]' | sort -u || true)
for p in $deps; do
  case "$p" in
    mesa-vulkan-drivers|libdrm2|libdrm-amdgpu1|libvulkan1|libc6|libgcc-s1|libstdc++6|libc-bin|gcc-*-base) continue ;;
  esac
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then wanted+=("$p"); fi
done

say "downloading ${wanted[*]}"
rm -f "$CACHE"/debs/*.deb
(cd "$CACHE/debs" && apt-get "${APT[@]}" download "${wanted[@]}" >&2) || fail "apt-get download failed."

rm -rf "$ROOT"
for f in "$CACHE"/debs/*.deb; do dpkg -x "$f" "$ROOT"; done
[ -f "$LIBDIR/libvulkan_lvp.so" ] || fail "mesa-vulkan-drivers did not unpack libvulkan_lvp.so into $LIBDIR."
# The package's ICD manifest names the system path; point it at the private copy.
sed 's#"library_path": *"[^"]*"#"library_path": "'"$LIBDIR"'/libvulkan_lvp.so"#' \
  "$ROOT/usr/share/vulkan/icd.d/lvp_icd.json" >"$CACHE/lvp_icd.json"
miss=$(missing_libs)
[ -z "$miss" ] || fail "lavapipe still lacks: $miss (install them with apt-get, or unpack their packages into $ROOT)."
touch "$STAMP"
say "ready: Mesa $MESA_VERSION lavapipe in $ROOT"
print_env
