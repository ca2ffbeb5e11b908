// The scaffold feature's public API (pure TypeScript; write.ts uses node:fs). The VS Code flow uses only this module.
export * from './options';
export { generateProject, renderReadme, renderRequirements, type GeneratedFile, type GeneratedProject, type GenerateInput } from './generate';
export { configEntries, renderConfig, type ConfigEntry } from './config';
export { checkData, findClashes, writeProject, parseCsvHeader } from './write';
