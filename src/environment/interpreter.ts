// Which Python Descent runs, and why. Pure: the Python extension, settings and file system are passed in.
import * as path from 'node:path';
import type { InterpreterChoice } from '../protocol/environment';

export interface PythonExtensionAnswer {
  installed: boolean;
  /** The interpreter selected for the workspace, when the extension has one. */
  path?: string;
  /** Why the extension could not answer (activation failed, API error). */
  error?: string;
}

export interface InterpreterInputs {
  pythonExtension: PythonExtensionAnswer;
  /** Raw `descent.pythonPath` value. */
  setting: string;
  workspaceFolder?: string;
  homeDir: string;
  platform: NodeJS.Platform;
  /** Absolute path of an executable named `name` on PATH, if any. */
  findOnPath: (name: string) => string | undefined;
}

export type InterpreterResolution = { ok: true; choice: InterpreterChoice } | { ok: false; message: string };

/** Expands `${workspaceFolder}`, `${userHome}` and a leading `~` the way VS Code users expect in path settings. */
export function expandSettingPath(value: string, workspaceFolder: string | undefined, homeDir: string): string | undefined {
  let out = value.trim();
  if (out.includes('${workspaceFolder}')) {
    if (!workspaceFolder) return undefined;
    out = out.split('${workspaceFolder}').join(workspaceFolder);
  }
  out = out.split('${userHome}').join(homeDir);
  if (out === '~' || out.startsWith('~/') || out.startsWith('~\\')) out = homeDir + out.slice(1);
  // A relative path is relative to the workspace, as in the Python extension's own settings.
  if (workspaceFolder && !path.isAbsolute(out) && /[\\/]/.test(out)) out = path.join(workspaceFolder, out);
  return out;
}

/** Order: the Python extension's selected interpreter, then `descent.pythonPath`, then python3/python on PATH. */
export function resolveInterpreter(inputs: InterpreterInputs): InterpreterResolution {
  const ext = inputs.pythonExtension;
  if (ext.installed && ext.path) {
    return { ok: true, choice: { path: ext.path, source: 'python-extension', reason: 'Selected in the Python extension.' } };
  }
  const extNote = ext.installed
    ? ext.error
      ? ` (the Python extension could not answer: ${ext.error})`
      : ' (the Python extension has no interpreter selected)'
    : '';

  if (inputs.setting.trim() !== '') {
    const expanded = expandSettingPath(inputs.setting, inputs.workspaceFolder, inputs.homeDir);
    if (expanded === undefined) {
      return {
        ok: false,
        message: `The setting descent.pythonPath ("${inputs.setting}") uses \${workspaceFolder}, but no folder is open. Open a folder or use an absolute path.`,
      };
    }
    return { ok: true, choice: { path: expanded, source: 'setting', reason: `From the setting descent.pythonPath${extNote}.` } };
  }

  const names = inputs.platform === 'win32' ? ['python', 'python3'] : ['python3', 'python'];
  for (const name of names) {
    const found = inputs.findOnPath(name);
    if (found) {
      return { ok: true, choice: { path: found, source: 'path', reason: `"${name}" found on PATH${extNote}.` } };
    }
  }
  return {
    ok: false,
    message: `No Python found: the Python extension gave none${extNote}, descent.pythonPath is empty, and neither ${names.join(' nor ')} is on PATH. Select an interpreter or set descent.pythonPath.`,
  };
}

export interface PathLookupEnv {
  PATH?: string;
  PATHEXT?: string;
}

/** Finds an executable on PATH like the shell would, without running a shell. */
export function findOnPath(
  name: string,
  env: PathLookupEnv,
  platform: NodeJS.Platform,
  isExecutableFile: (file: string) => boolean,
): string | undefined {
  const sep = platform === 'win32' ? ';' : ':';
  const dirs = (env.PATH ?? '').split(sep).filter((d) => d !== '');
  const exts = platform === 'win32' ? (env.PATHEXT ?? '.EXE;.CMD;.BAT;.COM').split(';').filter(Boolean) : [''];
  const join = platform === 'win32' ? path.win32.join : path.posix.join;
  for (const dir of dirs) {
    for (const ext of exts) {
      const candidate = join(dir, name + ext.toLowerCase());
      // The Windows Store alias opens the Store instead of running Python: never pick it.
      if (platform === 'win32' && /WindowsApps/i.test(dir)) continue;
      if (isExecutableFile(candidate)) return candidate;
    }
  }
  return undefined;
}

/** Interpreters worth offering in a picker: workspace virtual environments first, then PATH. */
export function interpreterCandidates(
  workspaceFolders: readonly string[],
  platform: NodeJS.Platform,
  exists: (file: string) => boolean,
  fromPath: (string | undefined)[],
): string[] {
  const bin = platform === 'win32' ? path.join('Scripts', 'python.exe') : path.join('bin', 'python');
  const out: string[] = [];
  for (const folder of workspaceFolders) {
    for (const env of ['.venv', 'venv', 'env', '.env']) {
      const candidate = path.join(folder, env, bin);
      if (exists(candidate)) out.push(candidate);
    }
  }
  for (const p of fromPath) if (p && !out.includes(p)) out.push(p);
  return out;
}
