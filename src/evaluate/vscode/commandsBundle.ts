// Entry of dist/evaluate.js: what Descent: Evaluate Model runs (src/evaluate/vscode/index.ts loads it on first use).
export { evaluateModel } from './command';
