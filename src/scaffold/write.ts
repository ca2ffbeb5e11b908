// Writing a generated project to disk without overwriting anything, and checking the user's data before generating.
// Node's fs only (no vscode): the VS Code flow and the headless CLI both use it.
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { GeneratedFile } from './generate';
import type { ScaffoldOptions } from './options';

/** Files of `files` that already exist under `dir` (relative paths). Ask before overwriting them. */
export function findClashes(dir: string, files: GeneratedFile[]): string[] {
  return files.filter((f) => existsSync(join(dir, f.path))).map((f) => f.path);
}

/**
 * Writes the files under `dir` (created when missing). Refuses, writing nothing, when any file exists unless
 * `overwrite` is true; the error lists the clashes.
 */
export function writeProject(dir: string, files: GeneratedFile[], options: { overwrite?: boolean } = {}): string[] {
  const clashes = findClashes(dir, files);
  if (clashes.length && !options.overwrite) {
    throw new Error(`These files already exist in ${dir}: ${clashes.join(', ')}. Choose another folder, or confirm overwriting them.`);
  }
  const written: string[] = [];
  for (const f of files) {
    const path = join(dir, f.path);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, f.content, 'utf8');
    written.push(path);
  }
  return written;
}

/** Reads the first line of a file without loading all of it. */
function firstLine(path: string): string {
  const text = readFileSync(path, { encoding: 'utf8', flag: 'r' }).slice(0, 65536);
  return text.split(/\r?\n/, 1)[0] ?? '';
}

/** Splits one CSV header line (quotes handled, as Python's csv module reads it). */
export function parseCsvHeader(line: string): string[] {
  const out: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      out.push(field);
      field = '';
    } else field += c;
  }
  out.push(field);
  return out;
}

/**
 * Problems with the user's data that would stop training, as messages that say what to do (empty: fine, or
 * nothing on disk to check yet). Paths are relative to the project folder. A missing file is reported only when
 * `requireData` is true: a new project may be generated before its data is copied in.
 */
export function checkData(o: ScaffoldOptions, projectDir: string, requireData = false): string[] {
  const d = o.data;
  if (d.kind === 'sklearn' || d.kind === 'torchvision') return [];
  const problems: string[] = [];
  const paths: [string, string][] = [['data', d.path]];
  if (d.testPath !== undefined) paths.push(['test data', d.testPath]);
  for (const [what, rel] of paths) {
    const path = isAbsolute(rel) ? rel : resolve(projectDir, rel);
    if (!existsSync(path)) {
      if (requireData) problems.push(`The ${what} ${rel} does not exist.`);
      continue;
    }
    const isDir = statSync(path).isDirectory();
    if (d.kind === 'image-folder') {
      if (!isDir) {
        problems.push(`The ${what} ${rel} must be a folder with one sub-folder of images per class.`);
        continue;
      }
      const classes = readdirSync(path, { withFileTypes: true }).filter((e) => e.isDirectory());
      if (classes.length === 0) problems.push(`${rel} has no class sub-folders: put each class's images in a folder of its own, e.g. ${rel}/cat/1.png.`);
      else if (classes.length === 1 && o.task !== 'autoencoding') problems.push(`${rel} has only one class sub-folder (${classes[0]!.name}); a classifier needs at least two.`);
    } else if (isDir) {
      problems.push(`The ${what} ${rel} is a folder; give the ${d.kind === 'csv' ? 'CSV' : '.npz or .npy'} file.`);
    } else if (d.kind === 'csv' && o.task !== 'autoencoding') {
      const header = parseCsvHeader(firstLine(path).replace(/^\uFEFF/, ''));
      if (!header.includes(d.target)) problems.push(`${rel} has no column named "${d.target}"; its columns are: ${header.join(', ')}.`);
    } else if (d.kind === 'npz' && !/\.(npz|npy)$/i.test(rel)) {
      problems.push(`${rel} is neither an .npz nor an .npy file.`);
    }
  }
  return problems;
}
