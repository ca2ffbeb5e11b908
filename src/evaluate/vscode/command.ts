// Descent: Evaluate Model: pick a model, data, preprocessing, batch size and threads (or re-use what was chosen for
// this model last time), run onnxruntime in a worker thread with progress and cancel, save the result as a run and
// open the confusion matrix panel.
import { availableParallelism } from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ConfusionSource } from '../../protocol/confusion';
import { NpzKeyError } from '../readers/arrays';
import { buildReport } from '../report';
import { EVALUATION_SPLIT, saveEvaluationRun } from '../runRecord';
import { EvaluationCancelled, EvaluationError, type DataSpec, type EvaluationRequest, type EvaluationResult, type Preprocessing } from '../types';
import { evaluateInWorker } from '../worker/client';
import { pickBatchAndThreads, pickData, pickModel, pickNpzKey, pickPreprocessing } from './pickers';
import { describePreprocessing, recall, remember, type RememberedEvaluation } from './settings';

/** `descent.evaluateModel` with this argument asks nothing (integration tests, other extensions, keybindings). */
export interface EvaluateModelArgs {
  model: string;
  data: DataSpec;
  preprocessing?: Preprocessing;
  batchSize?: number;
  threads?: number;
}

/** What the command resolves to when an evaluation finished (undefined when cancelled or failed). */
export interface EvaluateModelOutcome {
  runDir: string | undefined;
  accuracy: number;
  labels: string[];
  samples: number;
}

function asArgs(arg: unknown): EvaluateModelArgs | undefined {
  if (typeof arg !== 'object' || arg === null || arg instanceof vscode.Uri) return undefined;
  const a = arg as Partial<EvaluateModelArgs>;
  return typeof a.model === 'string' && typeof a.data === 'object' && a.data !== null && typeof a.data.path === 'string' ? (a as EvaluateModelArgs) : undefined;
}

function asUri(arg: unknown): vscode.Uri | undefined {
  if (arg instanceof vscode.Uri) return arg;
  if (typeof arg === 'string' && arg.toLowerCase().endsWith('.onnx')) return vscode.Uri.file(arg);
  return undefined;
}

async function choose(context: vscode.ExtensionContext, modelPath: string, forceNew: boolean): Promise<RememberedEvaluation | undefined> {
  const previous = recall(context.workspaceState, modelPath);
  if (previous && !forceNew) {
    const again = { label: `$(play) Evaluate on ${path.basename(previous.data.path)} again`, description: `${describePreprocessing(previous.preprocessing)}, batch ${previous.batchSize}, ${previous.threads} threads` };
    const change = { label: '$(settings) Choose data and preprocessing…' };
    const pick = await vscode.window.showQuickPick([again, change], { title: `Evaluate ${path.basename(modelPath)}` });
    if (!pick) return undefined;
    if (pick === again) return previous;
  }
  const data = await pickData();
  if (!data) return undefined;
  const preprocessing = await pickPreprocessing(data, previous?.data.kind === data.kind ? previous.preprocessing : undefined);
  if (!preprocessing) return undefined;
  const run = await pickBatchAndThreads(previous);
  if (!run) return undefined;
  return { data, preprocessing, ...run };
}

export async function evaluateModel(context: vscode.ExtensionContext, arg?: unknown): Promise<EvaluateModelOutcome | undefined> {
  if (!vscode.workspace.isTrusted) {
    const manage = 'Manage Workspace Trust';
    const pick = await vscode.window.showWarningMessage('Descent runs ONNX models only in a trusted workspace: a model file can exploit the runtime that loads it. Trust this folder to evaluate models.', manage);
    if (pick === manage) await vscode.commands.executeCommand('workbench.trust.manage');
    return undefined;
  }
  const given = asArgs(arg);
  if (given) {
    const request: EvaluationRequest = {
      modelPath: given.model,
      data: given.data,
      preprocessing: given.preprocessing ?? { scale: false },
      batchSize: given.batchSize ?? 256,
      threads: given.threads ?? availableParallelism(),
    };
    try {
      const result = await runWithProgress(context, request);
      return result ? await showResult(context, request, result) : undefined;
    } catch (e) {
      void vscode.window.showErrorMessage(e instanceof EvaluationError ? e.message : `The evaluation failed: ${(e as Error).message}`);
      return undefined;
    }
  }
  const model = asUri(arg) ?? (await pickModel());
  if (!model) return undefined;
  let choice = await choose(context, model.fsPath, false);
  while (choice) {
    const request: EvaluationRequest = { modelPath: model.fsPath, ...choice };
    try {
      const result = await runWithProgress(context, request);
      if (!result) return undefined;
      await remember(context.workspaceState, model.fsPath, choice);
      return await showResult(context, request, result);
    } catch (e) {
      if (e instanceof NpzKeyError && choice.data.kind === 'npz') {
        const key = await pickNpzKey(e.role, e.keys);
        if (!key) return undefined;
        choice = { ...choice, data: { ...choice.data, [e.role === 'x' ? 'xKey' : 'yKey']: key } };
        continue;
      }
      const message = e instanceof EvaluationError ? e.message : `The evaluation failed: ${(e as Error).message}`;
      const retry = 'Change Data or Preprocessing…';
      if ((await vscode.window.showErrorMessage(message, retry)) !== retry) return undefined;
      choice = await choose(context, model.fsPath, true);
    }
  }
  return undefined;
}

function runWithProgress(context: vscode.ExtensionContext, request: EvaluationRequest): Thenable<EvaluationResult | undefined> {
  const workerPath = path.join(context.extensionPath, 'dist', 'evaluateWorker.js');
  return vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `Evaluating ${path.basename(request.modelPath)}`, cancellable: true },
    async (progress, token) => {
      progress.report({ message: 'loading the model…' });
      let shown = 0;
      const run = evaluateInWorker(workerPath, request, (p) => {
        const pct = (p.done / Math.max(1, p.total)) * 100;
        const eta = p.eta !== undefined ? ` · ${Math.ceil(p.eta)} s left` : '';
        progress.report({ increment: pct - shown, message: `${p.done.toLocaleString()} / ${p.total.toLocaleString()} samples${eta}` });
        shown = pct;
      });
      const sub = token.onCancellationRequested(() => run.cancel());
      try {
        return await run.result;
      } catch (e) {
        if (e instanceof EvaluationCancelled) return undefined;
        throw e;
      } finally {
        sub.dispose();
      }
    },
  );
}

async function showResult(context: vscode.ExtensionContext, request: EvaluationRequest, result: EvaluationResult): Promise<EvaluateModelOutcome> {
  const report = buildReport(result.yTrue, result.yPred, result.labels);
  const folder = vscode.workspace.getWorkspaceFolder(vscode.Uri.file(request.modelPath)) ?? vscode.workspace.workspaceFolders?.[0];
  let runDir: string | undefined;
  let saveProblem = '';
  if (folder) {
    const setting = vscode.workspace.getConfiguration('descent', folder.uri).get<string>('train.runsDirectory') || 'runs';
    try {
      runDir = saveEvaluationRun(path.resolve(folder.uri.fsPath, setting), folder.uri.fsPath, request, result, report, new Date());
    } catch (e) {
      saveProblem = ` It could not be saved as a run: ${(e as Error).message}.`;
    }
  }
  const n = report.labels.length;
  const source: ConfusionSource = {
    title: `${path.basename(request.modelPath)} on ${path.basename(request.data.path)}`,
    labels: report.labels,
    matrices: [{ split: EVALUATION_SPLIT, counts: report.matrix.flat() }],
    samples: [
      {
        split: EVALUATION_SPLIT,
        yTrue: Array.from(result.yTrue),
        yPred: Array.from(result.yPred),
        confidence: Array.from(result.confidence),
        ...(result.samplePaths ? { samplePaths: result.samplePaths } : {}),
      },
    ],
    ...(runDir ? { runDir } : {}),
  };
  const { showConfusion } = await import('../../confusion/vscode/open');
  showConfusion(context, source);
  const acc = (report.summary.accuracy * 100).toFixed(2);
  void vscode.window.showInformationMessage(
    `Accuracy ${acc} % on ${result.yTrue.length.toLocaleString()} samples, ${n} classes (${Math.round(result.samplesPerSecond).toLocaleString()} samples/s).${runDir ? ` Saved as run ${path.basename(runDir)}.` : ''}${saveProblem}`,
  );
  return { runDir, accuracy: report.summary.accuracy, labels: report.labels, samples: result.yTrue.length };
}
