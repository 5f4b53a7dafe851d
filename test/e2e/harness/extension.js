// CI-only harness, side-loaded by scripts/vscode-e2e.sh. When code-server was started with VSCODE_EXT_TESTS=<module>,
// it require()s that module inside the real (Node) extension host, awaits run(), and writes {code, error} to
// VSCODE_EXT_TESTS_RESULT (the contract of @vscode/test-electron's extensionTestsPath, without Electron).
const fs = require('fs');
exports.activate = async function () {
  const entry = process.env.VSCODE_EXT_TESTS, out = process.env.VSCODE_EXT_TESTS_RESULT;
  if (!entry || !out || fs.existsSync(out)) return;
  try { await require(entry).run(); fs.writeFileSync(out, JSON.stringify({ code: 0 })); }
  catch (e) { fs.writeFileSync(out, JSON.stringify({ code: 1, error: String((e && e.stack) || e) })); }
};
