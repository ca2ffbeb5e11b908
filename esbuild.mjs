// One build for everything that ships: the extension host bundle and the lint worker (CommonJS, Node) and one IIFE
// per webview app.
// `node esbuild.mjs` builds once; `--watch` rebuilds on change; `--production` minifies the host bundle too.
import * as esbuild from 'esbuild';
import { chmodSync, cpSync, mkdirSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

/** Each folder under webview/ with a main.ts is one panel app, written to dist/webview/<name>.js. */
const webviewApps = readdirSync('webview', { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(join('webview', d.name, 'main.ts')))
  .map((d) => d.name);

const builds = [
  {
    // Heavy features are their own bundles, required on first use: environment, training and runs
    // (src/features.ts, see src/extension.ts), the linter's engine (src/lint/vscode/engine.ts) and the scaffold flow
    // (src/scaffold/vscode/index.ts).
    entryPoints: { extension: 'src/extension.ts', features: 'src/features.ts', lintEngine: 'src/lint/engineBundle.ts', scaffold: 'src/scaffold/vscode/commandsBundle.ts', landscape: 'src/landscape/vscode/bundle.ts', landscapeOnnxWorker: 'src/landscape/onnx/worker.ts', evaluate: 'src/evaluate/vscode/commandsBundle.ts', onnxView: 'src/onnx/vscode/editorBundle.ts', confusion: 'src/confusion/vscode/bundle.ts' },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outdir: 'dist',
    // vscode is provided by the host; onnxruntime-node is native and ships as-is in node_modules.
    external: ['vscode', 'onnxruntime-node'],
    sourcemap: !production,
    minify: production,
    logLevel: 'warning',
  },
  {
    entryPoints: Object.fromEntries(webviewApps.map((n) => [n, `webview/${n}/main.ts`])),
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
    outdir: 'dist/webview',
    minify: true,
    sourcemap: false,
    logLevel: 'warning',
  },
  {
    // descent-lint, the linter's command line (`bin` of the package). Finds the .wasm files in dist/.
    // descent-scaffold, the generator's (src/scaffold/cli.ts); reads python/descent/log.py from the package root.
    entryPoints: { 'descent-lint': 'src/lint/cli.ts', 'descent-scaffold': 'src/scaffold/cli.ts' },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outdir: 'dist/cli',
    banner: { js: '#!/usr/bin/env node' },
    sourcemap: false,
    minify: production,
    logLevel: 'warning',
  },
  {
    // descent-eval, the ONNX evaluation's command line (`bin`), and the evaluation worker thread of Descent: Evaluate
    // Model. Both require onnxruntime-node from node_modules at run time (native, not bundled).
    entryPoints: { 'cli/descent-eval': 'src/evaluate/cli.ts', evaluateWorker: 'src/evaluate/worker/main.ts' },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outdir: 'dist',
    external: ['onnxruntime-node'],
    // For the bin; harmless in the worker (Node skips a leading #! line).
    banner: { js: '#!/usr/bin/env node' },
    sourcemap: false,
    minify: production,
    logLevel: 'warning',
  },
  {
    // The integration suite runs inside the extension host; mocha stays a runtime require from node_modules.
    entryPoints: { index: 'test/integration/index.ts' },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outdir: 'dist/test/integration',
    external: ['vscode', 'mocha', 'onnxruntime-node'],
    sourcemap: true,
    logLevel: 'warning',
  },
];

function copyAssets() {
  // Codicons for @vscode-elements/elements (it looks for a stylesheet with id vscode-codicon-stylesheet).
  mkdirSync('dist/webview', { recursive: true });
  for (const f of ['codicon.css', 'codicon.ttf']) {
    cpSync(join('node_modules/@vscode/codicons/dist', f), join('dist/webview', f));
  }
  // The linter's parser: runtime and Python grammar, next to dist/extension.js (the CLI in dist/cli/ looks one up).
  cpSync('node_modules/web-tree-sitter/web-tree-sitter.wasm', 'dist/web-tree-sitter.wasm');
  cpSync('node_modules/tree-sitter-python/tree-sitter-python.wasm', 'dist/tree-sitter-python.wasm');
  for (const cli of ['descent-lint', 'descent-scaffold', 'descent-eval']) {
    if (existsSync(`dist/cli/${cli}.js`)) chmodSync(`dist/cli/${cli}.js`, 0o755);
  }
}

const started = Date.now();
if (watch) {
  copyAssets();
  for (const b of builds) (await esbuild.context(b)).watch();
  console.log('[esbuild] watching');
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
  copyAssets();
  console.log(`[esbuild] built host + ${webviewApps.length} webview app(s) in ${Date.now() - started} ms`);
}
