// Bundles the extension with esbuild:
//   dist/extension.js  (vscode external)       dist/worker.js (engine worker process)
//   dist/cli.js        (from src/engine/run/cli.ts, when it exists)
//   dist/webview/main.js + main.css (panel UI)  dist/*.wasm (tfjs-backend-wasm binaries; setWasmPaths(dist/))
//   dist/webview/study.js + study.css (study panel)
// @tensorflow/tfjs and @tensorflow/tfjs-backend-wasm are bundled (pure JS), so the .vsix needs no node_modules; the
// optional backends stay external and are require()d in try/catch (src/engine/backend/init-backend.ts): the native
// @tensorflow/tfjs-node(-gpu), @tensorflow/tfjs-backend-webgpu and its Dawn binding `webgpu`. tfjs keeps its engine
// and kernel registry on the global object, so an external backend registers into the bundled tfjs.
// Usage: node scripts/build.mjs [--watch] [--dev]   (--dev: no minify, inline source maps)
import * as esbuild from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dev = process.argv.includes('--dev');
const watch = process.argv.includes('--watch');
const exists = p => fs.existsSync(path.join(root, p));

const node = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  sourcemap: dev ? 'inline' : true,
  minify: !dev,
  logLevel: 'warning',
  external: ['vscode', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-backend-webgpu', 'webgpu'],
  absWorkingDir: root,
};

const builds = [
  { ...node, entryPoints: ['src/extension.ts'], outfile: 'dist/extension.js' },
  {
    ...node,
    entryPoints: ['src/engine/run/worker-main.ts'],
    outfile: 'dist/worker.js',
    // until the engine entry exists the worker still builds; it then needs NTK_LENS_ENGINE to run
    external: [...node.external, ...(exists('src/engine/run/experiment.ts') ? [] : ['./experiment'])],
  },
  {
    bundle: true, platform: 'browser', format: 'iife', target: 'es2022', minify: !dev, sourcemap: dev ? 'inline' : false,
    entryPoints: { main: 'webview/main.ts', study: 'webview/study.ts' }, outdir: 'dist/webview', absWorkingDir: root, logLevel: 'warning',
  },
];
if (exists('src/engine/run/cli.ts')) {
  builds.push({ ...node, entryPoints: ['src/engine/run/cli.ts'], outfile: 'dist/cli.js' }); // keeps cli.ts's own #! line
} else console.warn('build: src/engine/run/cli.ts does not exist yet: dist/cli.js not built');
if (!exists('src/engine/run/experiment.ts')) console.warn('build: src/engine/run/experiment.ts does not exist yet: dist/worker.js needs NTK_LENS_ENGINE');

function copyStatic() {
  fs.mkdirSync(path.join(root, 'dist', 'webview'), { recursive: true });
  for (const css of ['main.css', 'study.css']) fs.copyFileSync(path.join(root, 'webview', css), path.join(root, 'dist', 'webview', css));
  const wasmDir = path.join(root, 'node_modules', '@tensorflow', 'tfjs-backend-wasm', 'dist');
  for (const f of fs.readdirSync(wasmDir).filter(f => f.endsWith('.wasm'))) fs.copyFileSync(path.join(wasmDir, f), path.join(root, 'dist', f));
}

const t0 = Date.now();
if (watch) {
  for (const b of builds) await (await esbuild.context(b)).watch();
  copyStatic();
  console.log('build: watching');
} else {
  await Promise.all(builds.map(b => esbuild.build(b)));
  copyStatic();
  console.log(`build: dist/ in ${Date.now() - t0} ms`);
}
