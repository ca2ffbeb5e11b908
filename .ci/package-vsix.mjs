// npm run package [-- --target linux-x64 | --all]
// Builds the production bundle, then one VSIX per platform with only that platform's onnxruntime-node binaries
// (vsce's --target alone keeps them all: 115 MB instead of about 19 MB). Fails if the VSIX is over budget.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** vsce target -> folder under node_modules/onnxruntime-node/bin/napi-v6 (darwin-x64 has no binary upstream). */
const TARGETS = {
  'linux-x64': 'linux/x64',
  'linux-arm64': 'linux/arm64',
  'darwin-arm64': 'darwin/arm64',
  'win32-x64': 'win32/x64',
  'win32-arm64': 'win32/arm64',
};
const BUDGET_MB = { 'linux-x64': 25, 'linux-arm64': 25, 'darwin-arm64': 40, 'win32-x64': 40, 'win32-arm64': 40 };

function run(cmd, args) {
  const r = spawnSync(cmd, args, { stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`[package] ${cmd} ${args.join(' ')} failed (exit ${r.status})`);
    process.exit(1);
  }
}

const argv = process.argv.slice(2);
const current = `${process.platform}-${process.arch}`;
const targets = argv.includes('--all') ? Object.keys(TARGETS) : [argv[argv.indexOf('--target') + 1] ?? current].filter(Boolean);
for (const t of targets) {
  if (!TARGETS[t]) {
    console.error(`[package] unknown target "${t}"; use one of: ${Object.keys(TARGETS).join(', ')}`);
    process.exit(2);
  }
}

run(process.execPath, ['esbuild.mjs', '--production']);
const version = JSON.parse(readFileSync('package.json', 'utf8')).version;
const base = readFileSync('.vscodeignore', 'utf8');
const scratch = mkdtempSync(join(tmpdir(), 'descent-vsix-'));
const vsce = join('node_modules', '.bin', 'vsce');
let failed = false;
for (const t of targets) {
  const binDir = `node_modules/onnxruntime-node/bin/napi-v6/${TARGETS[t]}`;
  if (!existsSync(binDir)) console.warn(`[package] ${binDir} is missing: the ${t} VSIX will not evaluate ONNX models`);
  const ignoreFile = join(scratch, `${t}.vscodeignore`);
  writeFileSync(ignoreFile, `${base}\n!${binDir}/**\n`);
  const out = `descent-${t}-${version}.vsix`;
  run(vsce, ['package', '--target', t, '--ignoreFile', ignoreFile, '--out', out]);
  const mb = statSync(out).size / 1e6;
  const ok = mb <= BUDGET_MB[t];
  failed ||= !ok;
  console.log(`[package] ${out}: ${mb.toFixed(1)} MB (budget ${BUDGET_MB[t]} MB) ${ok ? 'ok' : 'OVER BUDGET'}`);
}
rmSync(scratch, { recursive: true, force: true });
// Leave a development build behind, as the other scripts expect (source maps, test bundle).
run(process.execPath, ['esbuild.mjs']);
process.exit(failed ? 1 : 0);
