// Asks the Python extension (ms-python.python) for its selected interpreter through its public API.
import * as vscode from 'vscode';
import type { PythonExtensionAnswer } from './interpreter';

const PYTHON_EXTENSION_ID = 'ms-python.python';

export function isPythonExtensionInstalled(): boolean {
  return vscode.extensions.getExtension(PYTHON_EXTENSION_ID) !== undefined;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ms / 1000} s`)), ms))]);
}

export async function askPythonExtension(resource: vscode.Uri | undefined): Promise<PythonExtensionAnswer> {
  if (!isPythonExtensionInstalled()) return { installed: false };
  try {
    // Loaded lazily: most users of this code path are those who have the Python extension.
    const { PythonExtension } = await import('@vscode/python-extension');
    const api = await withTimeout(PythonExtension.api(), 15_000);
    const active = api.environments.getActiveEnvironmentPath(resource);
    const env = await withTimeout(api.environments.resolveEnvironment(active), 15_000);
    const path = env?.executable.uri?.fsPath ?? active.path;
    return { installed: true, path: path || undefined };
  } catch (e) {
    return { installed: true, error: (e as Error).message };
  }
}

/** Fires when the Python extension's selected interpreter changes; a no-op disposable when it is not installed. */
export async function onPythonInterpreterChanged(listener: () => void): Promise<vscode.Disposable> {
  if (!isPythonExtensionInstalled()) return new vscode.Disposable(() => undefined);
  try {
    const { PythonExtension } = await import('@vscode/python-extension');
    const api = await PythonExtension.api();
    return api.environments.onDidChangeActiveEnvironmentPath(() => listener());
  } catch {
    return new vscode.Disposable(() => undefined);
  }
}
