#!/usr/bin/env bash
# ntk-lens in a real VS Code, offline: code-server 4.100.3 (VS Code 1.100.3 server + web workbench, Node extension
# host) driven by playwright-core + Debian chromium (recipe: shared/docs/vscode-testing.md §5). The worker runs the
# REAL engine (dist/worker.js → src/engine/run/experiment.ts) on the built-in model models/ntk-mini, wasm backend.
#   1) packaging: `npm run package` (build + vsce) must give a .vsix with the bundled worker, the .wasm files, the
#      built-in model and the example, and no node_modules (size printed)
#   2) mocha suite inside the real extension host (test/e2e/suite, via the side-loaded test/e2e/harness)
#   3) UI end to end as a user (test/e2e/ui.e2e.js), the extension side-loaded from the repo
#   4) the .vsix installed into a FRESH code-server profile, run from its CodeLens (test/e2e/vsix.e2e.js): the
#      engine runs from the installed extension, not from the repo
# Every workspace is a copy of examples/quickstart made small by small_workspace (8 FT steps, 16 dev, 16 test) so
# that a real run takes ~1 min on 2 shared cores. Screenshots go to test/e2e/screenshots/.
# The last line is "N passed, N failed" (every check of every stage, read by scripts/test.sh); exit 1 on a failure.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CS_VERSION="${CS_VERSION:-4.100.3}"                         # last code-server whose engines.node is 20
CACHE="${VSCODE_TEST_CACHE:-$HOME/.cache/ntk-lens-e2e}"     # outside the repo: reruns reuse the 300 MB install
CSDIR="$CACHE/code-server-$CS_VERSION"
RUN="$(mktemp -d /tmp/ntk-e2e.XXXXXX)"
SHOTS="${SHOTS:-$ROOT/test/e2e/screenshots}"
PORT_TESTS="${PORT_TESTS:-18180}"; PORT_UI="${PORT_UI:-18181}"; PORT_VSIX="${PORT_VSIX:-18182}"
PIDS=()
passed=0; fail=0; summary_printed=0
cleanup() {
  local rc=$?
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$RUN"
  # an early exit (install or build failure) still ends with the one summary line scripts/test.sh reads
  if ((summary_printed == 0)); then echo "vscode-e2e stopped early (exit $rc)"; echo "$passed passed, $((fail + 1)) failed"; exit 1; fi
}
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

# --- 2. packaging (also the build: `npm run package` = scripts/build.mjs + vsce) and the in-host suite -------------
cd "$ROOT"
T0=$SECONDS
# a stage's drivers print "<stage>: P passed, F failed"; add_counts adds the last such line of a log (none: 1 failure)
add_counts() {  # add_counts LOG
  local line; line=$(grep -E ': [0-9]+ passed, [0-9]+ failed' "$1" | tail -n 1 || true)
  if [[ -z "$line" ]]; then fail=$((fail + 1)); return; fi
  passed=$((passed + $(sed -E 's/.*: ([0-9]+) passed.*/\1/' <<<"$line")))
  fail=$((fail + $(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")))
}
check() {  # check NAME COMMAND...: one counted check
  if "${@:2}"; then passed=$((passed + 1)); log "ok   $1"; else fail=$((fail + 1)); log "FAIL $1"; fi
}
VSIX="$RUN/ntk-lens.vsix"
vsix_ok() {
  npm run --silent package -- -o "$VSIX" > "$RUN/vsce.log" 2>&1 || { tail -20 "$RUN/vsce.log"; return 1; }
  local list; list=$(unzip -Z1 "$VSIX")
  for f in dist/extension.js dist/worker.js dist/cli.js dist/tfjs-backend-wasm.wasm dist/tfjs-backend-wasm-simd.wasm \
           dist/webview/main.js models/ntk-mini/config.json models/ntk-mini/model.safetensors \
           models/ntk-mini/tokenizer.json examples/quickstart/sentiment.ntk.yaml examples/quickstart/data/train.tsv; do
    grep -qx "extension/$f" <<<"$list" || { echo "the .vsix lacks $f"; return 1; }
  done
  if grep -qE '^extension/(node_modules|src|test)/|\.map$' <<<"$list"; then echo "the .vsix holds sources, maps or node_modules"; return 1; fi
  log "vsix: $(du -k "$VSIX" | cut -f1) KB, $(wc -l <<<"$list") files"
}
check "npm run package gives a self-contained .vsix" vsix_ok
node -e '
  require("esbuild").build({ bundle: true, platform: "node", format: "cjs", target: "node20", sourcemap: "inline",
    logLevel: "warning", external: ["vscode", "mocha"],
    entryPoints: { index: "test/e2e/suite/index.ts", "extension.test": "test/e2e/suite/extension.test.ts",
      "study.test": "test/e2e/suite/study.test.ts" }, outdir: "out/e2e/suite",
  }).catch(e => { console.error(e); process.exit(1); });'

# A copy of the example, made small so that a real run takes ~1 min here; the example itself stays a full demo.
small_workspace() {  # small_workspace SRC DST
  cp -r "$1" "$2"; rm -rf "$2/.ntk"
  local f="$2/sentiment.ntk.yaml"
  sed -i -E 's/^(finetune: \{.*)steps: [0-9]+(.*)eval_every: [0-9]+/\1steps: 8\2eval_every: 4/; s/^max_length: (.*)$/max_length: \1\ndev_limit: 16\ntest_limit: 16/' "$f"
  grep -q 'steps: 8,' "$f" && grep -q '^test_limit: 16' "$f" || { echo "small_workspace: $f did not take the edits"; cat "$f"; return 1; }
}

# --- 3. a throwaway VS Code profile + a running server ------------------------------------------------------------
write_settings() {  # write_settings DATA_DIR
  mkdir -p "$1/User"
  cat > "$1/User/settings.json" <<'JSON'
{ "workbench.startupEditor": "none", "security.workspace.trust.enabled": false,
  "telemetry.telemetryLevel": "off", "update.mode": "none", "extensions.autoCheckUpdates": false,
  "extensions.autoUpdate": false, "workbench.tips.enabled": false, "workbench.enableExperiments": false,
  "workbench.colorTheme": "Default Light Modern", "editor.codeLens": true, "editor.hover.delay": 200,
  "files.exclude": { ".ntk": true }, "ntkLens.backend": "wasm" }
JSON
}
serve() {  # serve DIR PORT [ENV=VAL ...]: code-server on DIR/data, DIR/exts, DIR/ws (cwd DIR, outside the repo); sets URL
  local d=$1 port=$2; shift 2
  ( cd "$d" && exec env "$@" "$CODE_SERVER" --auth none \
    --bind-addr "127.0.0.1:$port" --user-data-dir "$d/data" --extensions-dir "$d/exts" \
    --disable-telemetry --disable-update-check --disable-workspace-trust \
    --disable-getting-started-override "$d/ws" ) > "$d/server.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 1 300); do curl -sf -o /dev/null "http://127.0.0.1:$port/healthz" && break; sleep 0.1; done
  curl -sf -o /dev/null "http://127.0.0.1:$port/healthz" || { cat "$d/server.log" >&2; return 1; }
  URL="http://127.0.0.1:$port/?folder=$d/ws"
}
start_server() {  # start_server NAME PORT [ENV=VAL ...]: the extension side-loaded from the repo
  local name=$1 port=$2; shift 2
  local d="$RUN/$name"; mkdir -p "$d/exts"; write_settings "$d/data"
  # symlinks must exist BEFORE the first server start writes exts/extensions.json
  ln -s "$ROOT/test/e2e/harness" "$d/exts/ntk-lens-ci.exthost-test-harness-0.0.1"
  ln -s "$ROOT" "$d/exts/ntk-lens.ntk-lens-0.1.0"
  small_workspace "$ROOT/examples/quickstart" "$d/ws"
  serve "$d" "$port" "$@"
}
show_logs() {  # show_logs DIR: the server log and the ntk-lens output channel, after a failure
  tail -20 "$1/server.log"
  find "$1/data/logs" -name '*ntk-lens*.log' -exec tail -40 {} \; 2>/dev/null || true
}

# --- 4. mocha suite inside the real extension host ----------------------------------------------------------------
mkdir -p "$RUN/tests"
start_server tests "$PORT_TESTS" VSCODE_EXT_TESTS="$ROOT/out/e2e/suite/index.js" \
  VSCODE_EXT_TESTS_RESULT="$RUN/tests/result.json" VSCODE_EXT_TESTS_REPORT="$RUN/tests/report.txt"
log "extension-host tests on $URL"
timeout 660 node test/e2e/run-exthost-tests.js "$URL" "$RUN/tests/result.json" "$SHOTS" || true
cat "$RUN/tests/report.txt" 2>/dev/null || { echo "(no report from the extension-host suite)"; show_logs "$RUN/tests"; }
add_counts "$RUN/tests/report.txt" 2>/dev/null || fail=$((fail + 1))
grep -q FAIL "$RUN/tests/report.txt" 2>/dev/null && show_logs "$RUN/tests"
kill "${PIDS[-1]}" 2>/dev/null || true   # its worker exits with the extension host; frees the cores for the next stage

# --- 5. UI end-to-end as a user ----------------------------------------------------------------------------------
start_server ui "$PORT_UI"
log "UI e2e on $URL"
timeout 420 node test/e2e/ui.e2e.js "$URL" "$SHOTS" "$RUN/ui/ws" 2>&1 | tee "$RUN/ui.log" || true
add_counts "$RUN/ui.log"
grep -q '^FAIL' "$RUN/ui.log" && show_logs "$RUN/ui"
kill "${PIDS[-1]}" 2>/dev/null || true

# --- 6. the .vsix in a fresh code-server profile --------------------------------------------------------------------
if [[ -f "$VSIX" ]]; then
  d="$RUN/vsix"; mkdir -p "$d/exts"; write_settings "$d/data"
  "$CODE_SERVER" --user-data-dir "$d/data" --extensions-dir "$d/exts" --install-extension "$VSIX" > "$d/install.log" 2>&1 \
    || { cat "$d/install.log"; }
  ext_dir=$(ls -d "$d/exts"/ntk-lens.ntk-lens-* 2>/dev/null | head -1)
  if [[ -n "$ext_dir" ]] && small_workspace "$ext_dir/examples/quickstart" "$d/ws"; then   # the example as installed
    serve "$d" "$PORT_VSIX"
    log "installed .vsix e2e on $URL (extension in $ext_dir)"
    timeout 300 node test/e2e/vsix.e2e.js "$URL" "$SHOTS" "$d/ws" "$ext_dir" 2>&1 | tee "$RUN/vsix.log" || true
    add_counts "$RUN/vsix.log"
    grep -q '^FAIL' "$RUN/vsix.log" && show_logs "$d"
  else
    log "FAIL the .vsix did not install into a fresh profile"; cat "$d/install.log"; fail=$((fail + 1))
  fi
else
  log "FAIL no .vsix to install"; fail=$((fail + 1))
fi

log "screenshots in $SHOTS; e2e took $((SECONDS - T0)) s"
summary_printed=1
echo "$passed passed, $fail failed"
exit $((fail > 0))
