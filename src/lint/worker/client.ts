// The host side of the lint worker (no vscode: unit-testable). Parsing and linting run in a worker thread
// (dist/lintEngine.js started as a worker thread), so the extension host only posts edits (cheap) and receives findings. Edits are forwarded
// as they happen; each reply carries the version of the text it linted, and the caller drops stale ones.
// If the worker dies it is restarted once and every open document is re-opened from its current text; if it cannot
// start (or dies again), linting falls back to running in this thread (the old behaviour) with a logged warning.
import { Worker } from 'node:worker_threads';
import type { LintOptions } from '../config';
import type { CellFinding } from '../notebook';
import type { Finding } from '../types';
import type { LintCore } from './core';
import type { FromWorker, LintWorkerData, TextChange, ToWorker } from './protocol';

export type { TextChange } from './protocol';

export interface LintClientOptions {
  /** The bundled engine (dist/lintEngine.js), which runs the worker loop when started as a worker thread. */
  workerPath: string;
  /** Folder holding both .wasm files (dist/). */
  wasmDir?: string;
  /** The engine for the in-process fallback, loaded only if the fallback is needed. */
  loadEngine: () => { initParser: typeof import('../parser').initParser; LintCore: typeof LintCore };
  /** Current version and text of an open document: used to re-open it (worker restart, out of step). */
  document: (key: string) => { version: number; text: string } | undefined;
  log: { warn(message: string): void; error(message: string): void };
  /** Skip the worker (tests, or a host without worker_threads). */
  inProcess?: boolean;
}

export interface DocumentLintResult {
  /** The document version the findings were computed for. */
  version: number;
  findings: Finding[];
  /** Time the lint took in the worker (or in-process), ms. */
  ms: number;
  /** Project files the document imports definitions from (a change to one calls for a re-lint). */
  contextFiles: string[];
}

export interface NotebookLintResult {
  findings: CellFinding[];
  ms: number;
  /** Project files the notebook imports definitions from. */
  contextFiles: string[];
}

type Pending =
  | { message: Extract<ToWorker, { type: 'lint' }>; resolve: (r: DocumentLintResult | undefined) => void; resyncs: number }
  | { message: Extract<ToWorker, { type: 'lintNotebook' }>; resolve: (r: NotebookLintResult | undefined) => void; resyncs: number };

export type LintClientMode = 'starting' | 'worker' | 'in-process' | 'failed';

/** How many times a worker that died is replaced before linting moves into this thread. */
const MAX_RESTARTS = 1;

export class LintClient {
  private worker: Worker | undefined;
  private core: LintCore | undefined;
  private currentMode: LintClientMode = 'starting';
  private restartCount = 0;
  private disposed = false;
  private nextId = 1;
  /** Open documents and the latest version forwarded for each. */
  private readonly openKeys = new Map<string, number>();
  private readonly pending = new Map<number, Pending>();
  private settle!: { resolve: () => void; reject: (e: Error) => void };
  /** Resolves once linting can run (worker or in-process); rejects if neither could start. */
  readonly ready: Promise<void>;

  constructor(private readonly options: LintClientOptions) {
    this.ready = new Promise<void>((resolve, reject) => (this.settle = { resolve, reject }));
    if (options.inProcess) void this.fallBack();
    else this.startWorker();
  }

  get mode(): LintClientMode {
    return this.currentMode;
  }

  /** How many times the worker was restarted after dying. */
  get restarts(): number {
    return this.restartCount;
  }

  /** The worker thread, while one runs (tests use it to simulate a crash). */
  get workerThread(): Worker | undefined {
    return this.worker;
  }

  open(key: string, version: number, text: string): void {
    this.openKeys.set(key, version);
    this.send({ type: 'open', key, version, text });
  }

  /** Forwards one change event's edits; `length` is the document's length afterwards (a consistency check). */
  edit(key: string, version: number, changes: TextChange[], length: number): void {
    if (!this.openKeys.has(key)) return;
    this.openKeys.set(key, version);
    this.send({ type: 'edit', key, version, changes, length });
  }

  close(key: string): void {
    if (!this.openKeys.delete(key)) return;
    this.send({ type: 'close', key });
  }

  /**
   * Lints the document as the worker has it. Undefined when it was closed, the lint failed (logged), or the reply is
   * stale: computed for an older version than the latest edit forwarded since (that edit's own lint will answer).
   */
  lint(key: string, options: LintOptions, path?: string): Promise<DocumentLintResult | undefined> {
    if (!this.openKeys.has(key)) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const message: ToWorker = { type: 'lint', id: this.nextId++, key, options, ...(path ? { path } : {}) };
      this.pending.set(message.id, { message, resolve, resyncs: 0 });
      this.send(message);
    });
  }

  lintNotebook(cells: string[], options: LintOptions, path?: string): Promise<NotebookLintResult | undefined> {
    return new Promise((resolve) => {
      const message: ToWorker = { type: 'lintNotebook', id: this.nextId++, cells, options, ...(path ? { path } : {}) };
      this.pending.set(message.id, { message, resolve, resyncs: 0 });
      this.send(message);
    });
  }

  dispose(): void {
    this.disposed = true;
    const w = this.worker;
    this.worker = undefined;
    void w?.terminate();
    this.core?.dispose();
    this.core = undefined;
    for (const p of this.pending.values()) p.resolve(undefined);
    this.pending.clear();
    this.openKeys.clear();
  }

  private send(m: ToWorker): void {
    if (this.disposed) return;
    if (this.worker) this.worker.postMessage(m);
    else if (this.core) this.core.handle(m);
    // else: in-process fallback still loading; open documents and pending requests are replayed when it is up.
  }

  private startWorker(): void {
    let started = false;
    let worker: Worker;
    try {
      worker = new Worker(this.options.workerPath, { workerData: { role: 'descent-lint', wasmDir: this.options.wasmDir } satisfies LintWorkerData });
    } catch (e) {
      void this.fallBack(`the lint worker could not start: ${(e as Error).message}`);
      return;
    }
    this.worker = worker;
    worker.on('message', (m: FromWorker) => {
      if (this.worker !== worker) return;
      if (m.type === 'ready') {
        started = true;
        this.currentMode = 'worker';
        this.settle.resolve();
      } else if (m.type === 'initFailed') {
        this.worker = undefined;
        void worker.terminate();
        void this.fallBack(`the lint worker could not load the parser: ${m.message}`);
      } else this.receive(m);
    });
    worker.on('error', (e) => {
      if (this.worker === worker) this.options.log.error(`lint worker error: ${e?.stack ?? String(e)}`);
    });
    worker.on('exit', (code) => {
      if (this.worker !== worker || this.disposed) return;
      this.worker = undefined;
      if (!started) void this.fallBack(`the lint worker exited while starting (code ${code})`);
      else if (this.restartCount < MAX_RESTARTS) {
        this.restartCount++;
        this.options.log.warn(`the lint worker exited (code ${code}); restarting it`);
        this.startWorker();
        this.replay();
      } else void this.fallBack(`the lint worker exited again (code ${code})`);
    });
  }

  /** After a restart or fallback: re-open every open document from its current text, resend unanswered requests. */
  private replay(): void {
    for (const key of [...this.openKeys.keys()]) {
      const doc = this.options.document(key);
      if (doc) this.open(key, doc.version, doc.text);
      else this.openKeys.delete(key);
    }
    for (const p of this.pending.values()) this.send(p.message);
  }

  /** Lints in this thread from now on; `reason` (logged as a warning) is absent when that was asked for. */
  private async fallBack(reason?: string): Promise<void> {
    if (this.disposed) return;
    if (reason) this.options.log.warn(`${reason}; linting in the extension host instead (typing may stutter in large files)`);
    this.currentMode = 'starting';
    try {
      await this.options.loadEngine().initParser({ wasmDir: this.options.wasmDir });
    } catch (e) {
      this.currentMode = 'failed';
      for (const p of this.pending.values()) p.resolve(undefined);
      this.pending.clear();
      this.settle.reject(e as Error);
      return;
    }
    if (this.disposed) return;
    this.core = new (this.options.loadEngine().LintCore)((m) => this.receive(m));
    this.currentMode = 'in-process';
    this.settle.resolve();
    this.replay();
  }

  private receive(m: FromWorker): void {
    if (m.type === 'log') {
      if (m.level === 'error') this.options.log.error(m.message);
      else this.options.log.warn(m.message);
      return;
    }
    if (m.type === 'ready' || m.type === 'initFailed') return;
    const p = this.pending.get(m.id);
    if (!p) return; // answered already (a replayed request answered twice)
    if (m.type === 'outOfStep') {
      const doc = this.openKeys.has(m.key) ? this.options.document(m.key) : undefined;
      if (!doc || p.resyncs >= 2) {
        this.pending.delete(m.id);
        return p.resolve(undefined);
      }
      p.resyncs++;
      this.open(m.key, doc.version, doc.text);
      this.send(p.message);
      return;
    }
    this.pending.delete(m.id);
    if (m.type === 'failed') {
      this.options.log.error(`lint failed: ${m.message}`);
      p.resolve(undefined);
    } else if (m.type === 'findings' && p.message.type === 'lint') {
      const latest = this.openKeys.get(m.key);
      if (latest === undefined || m.version < latest) return p.resolve(undefined); // closed, or stale
      (p.resolve as (r: DocumentLintResult) => void)({ version: m.version, findings: m.findings, ms: m.ms, contextFiles: m.contextFiles });
    } else if (m.type === 'notebookFindings' && p.message.type === 'lintNotebook') {
      (p.resolve as (r: NotebookLintResult) => void)({ findings: m.findings, ms: m.ms, contextFiles: m.contextFiles });
    } else p.resolve(undefined);
  }
}
