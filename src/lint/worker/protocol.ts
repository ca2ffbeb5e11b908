// Messages between the extension host (LintClient) and the lint worker (dist/lintEngine.js in a worker thread). Plain data only
// (structured clone). Documents are identified by a key (the URI string) and carry the editor's version number.
import type { LintOptions } from '../config';
import type { CellFinding } from '../notebook';
import type { Finding } from '../types';

/** One content change, as VS Code reports it: offsets valid after the previous changes of the same event. */
export interface TextChange {
  offset: number;
  length: number;
  text: string;
}

export type ToWorker =
  | { type: 'open'; key: string; version: number; text: string }
  | { type: 'edit'; key: string; version: number; changes: TextChange[]; /** The document's length after the edit. */ length: number }
  | { type: 'close'; key: string }
  /** `path`: the file on disk, when there is one: the definitions it imports from its project are linted with it. */
  | { type: 'lint'; id: number; key: string; options: LintOptions; path?: string }
  | { type: 'lintNotebook'; id: number; cells: string[]; options: LintOptions; path?: string };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'initFailed'; message: string }
  | {
      type: 'findings';
      id: number;
      key: string;
      version: number;
      findings: Finding[];
      /** Worker-side lint time. */
      ms: number;
      /** Project files whose definitions were linted with the document (a change to one calls for a re-lint). */
      contextFiles: string[];
    }
  | { type: 'notebookFindings'; id: number; findings: CellFinding[]; ms: number; contextFiles: string[] }
  /** The worker's copy of the document is out of step (or unknown): the host re-opens it and asks again. */
  | { type: 'outOfStep'; id: number; key: string }
  | { type: 'failed'; id: number; message: string }
  | { type: 'log'; level: 'warn' | 'error'; message: string };

/** What the worker receives as workerData. */
export interface LintWorkerData {
  /** Marks the worker thread as the lint worker (dist/lintEngine.js starts its loop only then). */
  role: 'descent-lint';
  wasmDir?: string;
}
