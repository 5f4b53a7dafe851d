// The tiny causal-LM experiment of test/support/tiny-causal-files.ts (a random GPT-2 with a byte-level BPE tokenizer,
// no tfjs) for the browser-driven scripts, which are plain Node: the TypeScript module is bundled here by esbuild (a
// dev dependency, as scripts/vscode-e2e.sh uses it) and loaded from memory.
const Module = require('module');
const path = require('path');

let loaded;
function tinyCausalFiles() {
  if (loaded) return loaded;
  const entry = path.join(__dirname, '..', 'support', 'tiny-causal-files.ts');
  const out = require('esbuild').buildSync({ entryPoints: [entry], bundle: true, platform: 'node', format: 'cjs', target: 'node20', write: false, logLevel: 'warning' });
  const m = new Module(entry, module);
  m.filename = entry;
  m.paths = Module._nodeModulePaths(path.dirname(entry));
  m._compile(out.outputFiles[0].text, entry);
  return (loaded = m.exports);
}

/** Writes the experiment into `dir` (see writeTinyCausalFiles); resolves with { specFile, modelDir, vocab }. */
exports.writeTinyCausalFiles = (dir, opts) => tinyCausalFiles().writeTinyCausalFiles(dir, opts);
