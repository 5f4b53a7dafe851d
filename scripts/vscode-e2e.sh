#!/usr/bin/env bash
# ntk-lens in a real VS Code, offline: code-server 4.100.3 (VS Code 1.100.3 server + web workbench, Node extension
# host) driven by playwright-core + Debian chromium (recipe: shared/docs/vscode-testing.md §5).
#   1) packaging: `vsce package` must succeed (size printed)
#   2) mocha suite inside the real extension host (test/e2e/suite, via the side-loaded test/e2e/harness)
#   3) UI end to end as a user (test/e2e/ui.e2e.js), screenshots into test/e2e/screenshots/
# The worker runs the real engine (src/engine/run/experiment.ts + models/ntk-mini) when both exist, else the test-only
# fake engine (test/support/fake-engine.ts); every summary line says which. NTK_E2E_ENGINE=real|fake forces one.
# Prints "vscode-e2e: N passed, N failed".
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CS_VERSION="${CS_VERSION:-4.100.3}"                         # last code-server whose engines.node is 20
CACHE="${VSCODE_TEST_CACHE:-$HOME/.cache/ntk-lens-e2e}"     # outside the repo: reruns reuse the 300 MB install
CSDIR="$CACHE/code-server-$CS_VERSION"
RUN="$(mktemp -d /tmp/ntk-e2e.XXXXXX)"
SHOTS="${SHOTS:-$ROOT/test/e2e/screenshots}"
PORT_TESTS="${PORT_TESTS:-18180}"; PORT_UI="${PORT_UI:-18181}"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$RUN"; }
trap cleanup EXIT
mkdir -p "$CACHE" "$SHOTS"
log() { echo "[vscode-e2e $(date +%T)] $*"; }

# --- 0. system packages (Debian) ---------------------------------------------------------------------------------
need=()
command -v chromium >/dev/null || need+=(chromium)
command -v rg >/dev/null || need+=(ripgrep)                 # stands in for @vscode/ripgrep's GitHub download
dpkg -s libkrb5-dev >/dev/null 2>&1 || need+=(libkrb5-dev)   # code-server's kerberos module builds from source
command -v pkg-config >/dev/null || need+=(pkg-config)
if ((${#need[@]})); then
  log "apt-get install ${need[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

# --- 1. code-server, cached per version (~45 s the first time) ----------------------------------------------------
if [[ ! -x "$CSDIR/node_modules/.bin/code-server" ]]; then
  log "installing code-server@$CS_VERSION into $CSDIR"
  rm -rf "$CSDIR"; mkdir -p "$CSDIR"
  echo '{"private": true}' > "$CSDIR/package.json"          # else npm installs into the nearest parent package.json
  for spec in 1.15.11:v13.0.0-10 1.15.10:v13.0.0-10 1.15.9:v13.0.0-10; do   # seed @vscode/ripgrep's download cache
    d="${TMPDIR:-/tmp}/vscode-ripgrep-cache-${spec%%:*}"; mkdir -p "$d"
    t="$(mktemp -d)"; cp "$(command -v rg)" "$t/rg"
    tar czf "$d/ripgrep-${spec##*:}-x86_64-unknown-linux-musl.tar.gz" -C "$t" rg; rm -rf "$t"
  done
  ( cd "$CSDIR" && npm_config_yes=true npm_config_unsafe_perm=true \
      npm install --no-audit --no-fund --no-save "code-server@$CS_VERSION" > install.log 2>&1 ) \
    || { tail -40 "$CSDIR/install.log"; exit 1; }
fi
CODE_SERVER="$CSDIR/node_modules/.bin/code-server"
export XDG_CONFIG_HOME="$RUN/xdg" XDG_DATA_HOME="$RUN/xdg"     # else code-server writes ~/.config/code-server
log "$("$CODE_SERVER" --version 2>/dev/null | tail -1)"

# --- 2. build the extension, the in-host suite and (if needed) the fake engine ------------------------------------
cd "$ROOT"
node scripts/build.mjs
ENGINE="${NTK_E2E_ENGINE:-}"
# real once both the engine entry and the built-in model exist (NTK_E2E_ENGINE=real|fake overrides)
[[ -z "$ENGINE" ]] && { [[ -f src/engine/run/experiment.ts && -f models/ntk-mini/config.json ]] && ENGINE=real || ENGINE=fake; }
node -e '
  const esbuild = require("esbuild");
  const common = { bundle: true, platform: "node", format: "cjs", target: "node20", sourcemap: "inline", logLevel: "warning",
    external: ["vscode", "mocha", "@tensorflow/*", "webgpu"] };
  Promise.all([
    esbuild.build({ ...common, entryPoints: { index: "test/e2e/suite/index.ts", "extension.test": "test/e2e/suite/extension.test.ts" }, outdir: "out/e2e/suite" }),
    esbuild.build({ ...common, entryPoints: ["test/support/fake-engine.ts"], outfile: "out/e2e/fake-engine.js" }),
  ]).catch(e => { console.error(e); process.exit(1); });'
ENGINE_ENV=(NTK_E2E_ENGINE="$ENGINE")
if [[ "$ENGINE" == fake ]]; then
  log "engine: FAKE (test/support/fake-engine.ts): figures are made up (the real engine needs src/engine/run/experiment.ts and models/ntk-mini/config.json)"
  ENGINE_ENV+=(NTK_LENS_ENGINE="$ROOT/out/e2e/fake-engine.js" FAKE_ENGINE_STEPS=150 FAKE_ENGINE_STEP_MS=40)
else
  log "engine: real (src/engine/run/experiment.ts, model ntk-mini)"
fi

fail=0; passed=0
# --- 3. packaging -------------------------------------------------------------------------------------------------
if npx vsce package --no-dependencies --allow-missing-repository --skip-license -o "$RUN/ntk-lens.vsix" > "$RUN/vsce.log" 2>&1; then
  log "vsce package: ok, $(du -k "$RUN/ntk-lens.vsix" | cut -f1) KB, $(unzip -l "$RUN/ntk-lens.vsix" | tail -1 | awk '{print $2}') files"
  passed=$((passed+1))
else
  log "vsce package FAILED:"; tail -20 "$RUN/vsce.log"; fail=$((fail+1))
fi

# --- 4. a throwaway VS Code profile + a running server, the extension side-loaded from the repo -------------------
# (side-loaded rather than the .vsix so that the worker finds @tensorflow/* in node_modules; see the report)
start_server() {  # start_server NAME PORT [ENV=VAL ...]; sets URL
  local name=$1 port=$2; shift 2
  local d="$RUN/$name"; mkdir -p "$d/data/User" "$d/exts"
  cat > "$d/data/User/settings.json" <<'JSON'
{ "workbench.startupEditor": "none", "security.workspace.trust.enabled": false,
  "telemetry.telemetryLevel": "off", "update.mode": "none", "extensions.autoCheckUpdates": false,
  "extensions.autoUpdate": false, "workbench.tips.enabled": false, "workbench.enableExperiments": false,
  "workbench.colorTheme": "Default Light Modern", "editor.codeLens": true, "editor.hover.delay": 200,
  "files.exclude": { ".ntk": true } }
JSON
  # symlinks must exist BEFORE the first server start writes exts/extensions.json
  ln -s "$ROOT/test/e2e/harness" "$d/exts/ntk-lens-ci.exthost-test-harness-0.0.1"
  ln -s "$ROOT" "$d/exts/ntk-lens.ntk-lens-0.1.0"
  cp -r "$ROOT/examples/quickstart" "$d/ws"
  env "$@" "${ENGINE_ENV[@]}" "$CODE_SERVER" --auth none \
    --bind-addr "127.0.0.1:$port" --user-data-dir "$d/data" --extensions-dir "$d/exts" \
    --disable-telemetry --disable-update-check --disable-workspace-trust \
    --disable-getting-started-override "$d/ws" > "$d/server.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 1 300); do curl -sf -o /dev/null "http://127.0.0.1:$port/healthz" && break; sleep 0.1; done
  curl -sf -o /dev/null "http://127.0.0.1:$port/healthz" || { cat "$d/server.log" >&2; return 1; }
  URL="http://127.0.0.1:$port/?folder=$d/ws"
}

# --- 5. mocha suite inside the real extension host ----------------------------------------------------------------
mkdir -p "$RUN/tests"
start_server tests "$PORT_TESTS" VSCODE_EXT_TESTS="$ROOT/out/e2e/suite/index.js" \
  VSCODE_EXT_TESTS_RESULT="$RUN/tests/result.json" VSCODE_EXT_TESTS_REPORT="$RUN/tests/report.txt"
log "extension-host tests ($ENGINE engine) on $URL"
if NTK_E2E_ENGINE="$ENGINE" node test/e2e/run-exthost-tests.js "$URL" "$RUN/tests/result.json" "$SHOTS"; then passed=$((passed+1)); else fail=$((fail+1)); fi
cat "$RUN/tests/report.txt" 2>/dev/null || { tail -40 "$RUN/tests/server.log"; find "$RUN/tests/data/logs" -name '*exthost*.log' -exec tail -30 {} \; 2>/dev/null; }

# --- 6. UI end-to-end as a user ----------------------------------------------------------------------------------
start_server ui "$PORT_UI"
log "UI e2e ($ENGINE engine) on $URL"
if NTK_E2E_ENGINE="$ENGINE" node test/e2e/ui.e2e.js "$URL" "$SHOTS"; then passed=$((passed+1)); else fail=$((fail+1)); fi

log "screenshots in $SHOTS"
echo "vscode-e2e ($ENGINE engine): $passed passed, $fail failed"
exit $((fail > 0))
