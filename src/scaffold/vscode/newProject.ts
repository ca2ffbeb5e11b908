// "Descent: New Model Project": a multi-step quick input (Enter, Enter, Enter gives a project that trains offline),
// or, with a { options, folder } argument, no pickers at all (tests and automation).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import {
  checkData,
  defaultOptions,
  findClashes,
  generateProject,
  parseCsvHeader,
  validateOptions,
  writeProject,
  type Architecture,
  type DataSource,
  type Loss,
  type OptionProblem,
  type Optimizer,
  type Regularization,
  type ScaffoldOptions,
  type Task,
} from '..';
import {
  architectureChoices,
  dataChoices,
  dataFromChoice,
  freeFolder,
  integerProblem,
  isNewProjectArgument,
  learningRateProblem,
  lossChoices,
  optimizerChoices,
  optionsFromArgument,
  optionsOf,
  regularizerChoices,
  regularizerOn,
  setAnswer,
  taskChoices,
  withDataRelativeTo,
  type Answers,
  type Choice,
  type DataChoice,
} from './flow';
import { BACK, inputText, pickMany, pickOne, type PickItem } from './quickInput';

export type NewProjectResult =
  | { ok: true; folder: string; files: string[]; trainPy: string }
  | { ok: false; message: string; problems?: OptionProblem[]; cancelled?: boolean };

const TITLE = 'Descent: New Model Project';
const TOTAL_STEPS = 10;

function items<T>(choices: Choice<T>[]): PickItem<T>[] {
  return choices.map((c) => ({ label: c.label, description: c.description, detail: c.detail, value: c.value }));
}

function workspaceRoot(): string | undefined {
  return vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
}

function dataSummary(problems: string[]): string {
  return problems.length === 1 ? problems[0]! : problems.map((p, i) => `${i + 1}. ${p}`).join(' ');
}

/** Asks for the file or folder of a file-based data source and checks it; undefined: back to the data step. */
async function askDataPath(task: Task, choice: DataChoice & { kind: 'csv' | 'npz' | 'image-folder' }): Promise<DataSource | undefined> {
  const isFolder = choice.kind === 'image-folder';
  const filters: Record<string, string[]> | undefined = choice.kind === 'csv' ? { CSV: ['csv'] } : choice.kind === 'npz' ? { 'NumPy arrays': ['npz', 'npy'] } : undefined;
  const root = workspaceRoot();
  const picked = await vscode.window.showOpenDialog({
    canSelectFiles: !isFolder,
    canSelectFolders: isFolder,
    canSelectMany: false,
    defaultUri: root ? vscode.Uri.file(root) : undefined,
    filters,
    title: isFolder ? 'The image folder: one sub-folder of images per class' : choice.kind === 'csv' ? 'The CSV file with the training data' : 'The .npz file (x, y), or x.npy with y.npy beside it',
    openLabel: 'Use this data',
  });
  const file = picked?.[0]?.fsPath;
  if (!file) return undefined;
  let data: DataSource;
  if (choice.kind === 'csv') {
    let columns: string[] = [];
    try {
      columns = parseCsvHeader(fs.readFileSync(file, 'utf8').slice(0, 65536).split(/\r?\n/, 1)[0]!.replace(/^\uFEFF/, '')).filter((c) => c !== '');
    } catch (e) {
      void vscode.window.showErrorMessage(`Could not read ${file}: ${(e as Error).message}`);
      return undefined;
    }
    let target = columns.includes('target') ? 'target' : columns[columns.length - 1] ?? 'target';
    if (task !== 'autoencoding') {
      if (columns.length < 2) {
        void vscode.window.showErrorMessage(`${path.basename(file)} needs a header row with at least two columns (the features and the target); found: ${columns.join(', ') || 'nothing'}.`);
        return undefined;
      }
      const pick = await vscode.window.showQuickPick(
        [target, ...columns.filter((c) => c !== target)].map((c, i) => ({ label: c, description: i === 0 ? 'suggested' : undefined })),
        { title: `${TITLE}: which column is the target?`, placeHolder: `Columns of ${path.basename(file)}; every other column is a feature`, ignoreFocusOut: true },
      );
      if (!pick) return undefined;
      target = pick.label;
    }
    data = { kind: 'csv', path: file, target };
  } else if (choice.kind === 'npz') {
    data = { kind: 'npz', path: file };
  } else {
    data = { kind: 'image-folder', path: file, imageSize: 32 };
  }
  const problems = checkData(defaultOptions(task, { data }), path.dirname(file), true);
  if (problems.length) {
    void vscode.window.showErrorMessage(`This data cannot train a model yet: ${dataSummary(problems)}`, { modal: false });
    return undefined;
  }
  return data;
}

/** Where the project goes: a new folder inside (default) or next to the workspace folder, or one the user chooses. */
async function askFolder(o: ScaffoldOptions, step: number, avoid: string | undefined): Promise<string | typeof BACK | undefined> {
  const root = workspaceRoot();
  const taken = (p: string) => fs.existsSync(p) || p === avoid;
  const candidates: PickItem<string>[] = [];
  if (root) {
    const inside = freeFolder(root, o.name, taken);
    candidates.push({ label: `$(new-folder) ${path.basename(inside)}`, description: 'inside the workspace folder', detail: inside, value: inside });
    const next = freeFolder(path.dirname(root), o.name, taken);
    candidates.push({ label: `$(new-folder) ${path.basename(next)}`, description: 'next to the workspace folder', detail: next, value: next });
  } else {
    const home = freeFolder(os.homedir(), o.name, taken);
    candidates.push({ label: `$(new-folder) ${path.basename(home)}`, description: 'in your home folder', detail: home, value: home });
  }
  candidates.push({ label: '$(folder-opened) Choose a folder…', detail: 'An empty folder, or one without these files', value: '' });
  const picked = await pickOne({ title: TITLE, step, totalSteps: TOTAL_STEPS, placeholder: 'Where should the project go? Nothing existing is overwritten.', items: candidates });
  if (picked !== '') return picked;
  const uris = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, canSelectMany: false, openLabel: 'Create the project here', defaultUri: root ? vscode.Uri.file(root) : undefined });
  return uris?.[0]?.fsPath ?? askFolder(o, step, avoid); // dialog cancelled: back to this step
}

/** Runs the pickers; undefined when cancelled. */
async function askOptions(): Promise<{ options: ScaffoldOptions; folder: string } | undefined> {
  const a: Answers = {};
  let step = 1;
  let avoid: string | undefined;
  for (;;) {
    const o = optionsOf(a);
    let r: unknown;
    switch (step) {
      case 1:
        r = await pickOne({ title: TITLE, step, totalSteps: TOTAL_STEPS, placeholder: 'What should the model do?', items: items(taskChoices()), active: a.task });
        if (r !== BACK && r !== undefined) setAnswer(a, 'task', r as Task);
        break;
      case 2: {
        const activeKey = JSON.stringify(a.data && (a.data.kind === 'sklearn' || a.data.kind === 'torchvision' ? { kind: a.data.kind, name: a.data.name } : { kind: a.data.kind }));
        const choices = items(dataChoices(o.task));
        const picked = await pickOne({
          title: TITLE,
          step,
          totalSteps: TOTAL_STEPS,
          placeholder: 'Which data? scikit-learn\'s bundled datasets train offline at once.',
          items: choices,
          active: choices.find((c) => JSON.stringify(c.value) === activeKey)?.value,
        });
        r = picked;
        if (picked === BACK || picked === undefined) break;
        const data = dataFromChoice(o.task, picked) ?? (await askDataPath(o.task, picked as DataChoice & { kind: 'csv' | 'npz' | 'image-folder' }));
        if (!data) continue; // cancelled or bad data: ask again
        setAnswer(a, 'data', data);
        break;
      }
      case 3:
        r = await pickOne({ title: TITLE, step, totalSteps: TOTAL_STEPS, placeholder: 'Which architecture?', items: items(architectureChoices(o.task, o.data)), active: o.architecture });
        if (r !== BACK && r !== undefined) {
          setAnswer(a, 'architecture', r as Architecture);
          const check = validateOptions(optionsOf(a)).find((p) => p.field === 'data.kind');
          if (check) {
            void vscode.window.showWarningMessage(check.message);
            delete a.architecture;
            continue;
          }
        }
        break;
      case 4:
        r = await pickOne({ title: TITLE, step, totalSteps: TOTAL_STEPS, placeholder: 'Which loss?', items: items(lossChoices(o.task, o.architecture)), active: o.loss });
        if (r !== BACK && r !== undefined) setAnswer(a, 'loss', r as Loss);
        break;
      case 5:
        r = await pickOne({ title: TITLE, step, totalSteps: TOTAL_STEPS, placeholder: 'Which optimizer?', items: items(optimizerChoices(o)), active: o.optimizer });
        if (r !== BACK && r !== undefined) setAnswer(a, 'optimizer', r as Optimizer);
        break;
      case 6:
        r = await inputText({ title: TITLE, step, totalSteps: TOTAL_STEPS, value: String(o.lr), prompt: `Learning rate for ${o.optimizer} (the default suits it)`, validate: (t) => learningRateProblem(o, t) });
        if (typeof r === 'string') setAnswer(a, 'lr', Number(r));
        break;
      case 7: {
        const regs = regularizerChoices(o);
        r = await pickMany({
          title: TITLE,
          step,
          totalSteps: TOTAL_STEPS,
          placeholder: 'Regularizers (Space toggles, Enter accepts)',
          items: regs.map((c) => ({ label: c.label, detail: c.detail, value: c.id })),
          selected: regs.filter((c) => regularizerOn(o.regularization, c.id)).map((c) => c.id),
        });
        if (Array.isArray(r)) setAnswer(a, 'regularizers', r as (keyof Regularization)[]);
        break;
      }
      case 8:
        r = await inputText({ title: TITLE, step, totalSteps: TOTAL_STEPS, value: String(o.epochs), prompt: 'Epochs (passes over the training data; early stopping may end sooner)', validate: (t) => integerProblem(t, 1, 100000) });
        if (typeof r === 'string') setAnswer(a, 'epochs', Number(r));
        break;
      case 9:
        r = await inputText({ title: TITLE, step, totalSteps: TOTAL_STEPS, value: String(o.batchSize), prompt: 'Batch size (examples per optimizer step)', validate: (t) => integerProblem(t, 1, 65536) });
        if (typeof r === 'string') setAnswer(a, 'batchSize', Number(r));
        break;
      default: {
        r = await askFolder(o, step, avoid);
        if (typeof r !== 'string') break;
        const folder = r;
        const options = withDataRelativeTo(o, folder);
        const problems = validateOptions(options);
        if (problems.length) {
          void vscode.window.showErrorMessage(`The project cannot be generated: ${problems.map((p) => p.message).join(' ')}`);
          continue;
        }
        const clashes = fs.existsSync(folder) ? findClashes(folder, generateProject(options, { loggerSource: '' }).files) : [];
        if (clashes.length) {
          avoid = folder;
          void vscode.window.showWarningMessage(`${folder} already has ${clashes.join(', ')}. Nothing was overwritten: choose another folder.`);
          continue;
        }
        return { options, folder };
      }
    }
    if (r === undefined) return undefined;
    step = r === BACK ? Math.max(1, step - 1) : step + 1;
  }
}

function inside(folder: string): boolean {
  return (vscode.workspace.workspaceFolders ?? []).some((w) => {
    const rel = path.relative(w.uri.fsPath, folder);
    return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
  });
}

/** Generates and writes the project, then shows train.py and offers Train now. */
async function create(context: vscode.ExtensionContext, options: ScaffoldOptions, folder: string, open: boolean): Promise<NewProjectResult> {
  const fail = (message: string, problems?: OptionProblem[]): NewProjectResult => {
    void vscode.window.showErrorMessage(message);
    return { ok: false, message, problems };
  };
  const problems = validateOptions(options);
  if (problems.length) {
    return fail(`Descent: the project options are not valid: ${problems.map((p) => `${p.field || 'options'}: ${p.message}`).join(' ')}`, problems);
  }
  const dataProblems = checkData(options, folder);
  if (dataProblems.length) return fail(`Descent: ${dataSummary(dataProblems)}`);
  let loggerSource: string;
  try {
    loggerSource = fs.readFileSync(context.asAbsolutePath('python/descent/log.py'), 'utf8');
  } catch (e) {
    return fail(`Descent: could not read its logger (python/descent/log.py): ${(e as Error).message}`);
  }
  const project = generateProject(options, { loggerSource });
  const clashes = findClashes(folder, project.files);
  if (clashes.length) return fail(`Descent: ${folder} already has ${clashes.join(', ')}. Nothing was written; choose another folder.`);
  let written: string[];
  try {
    written = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Creating ${options.name} in ${folder}…` },
      async () => writeProject(folder, project.files),
    );
  } catch (e) {
    return fail(`Descent: ${(e as Error).message}`);
  }
  const trainPy = path.join(folder, 'train.py');
  const trainUri = vscode.Uri.file(trainPy);
  if (open) {
    await vscode.window.showTextDocument(trainUri, { preview: false });
    void offerNextSteps(folder, trainUri, inside(folder));
  }
  return { ok: true, folder, files: written, trainPy };
}

/** What Train now passes to descent.train: train.py, run in the project folder. */
export function trainRequest(folder: string, trainUri: vscode.Uri): { script: string; cwd: string } {
  return { script: trainUri.fsPath, cwd: folder };
}

async function offerNextSteps(folder: string, trainUri: vscode.Uri, inWorkspace: boolean): Promise<void> {
  const buttons = inWorkspace ? ['Train now'] : ['Train now', 'Open Folder', 'Open in New Window'];
  const choice = await vscode.window.showInformationMessage(
    `Created ${path.basename(folder)}: README.md explains each choice.${inWorkspace ? '' : ' Open its folder to work on it.'}`,
    ...buttons,
  );
  // The project reads config.json from the working directory: run it in its own folder.
  if (choice === 'Train now') await vscode.commands.executeCommand('descent.train', trainRequest(folder, trainUri));
  else if (choice === 'Open Folder') await vscode.commands.executeCommand('vscode.openFolder', vscode.Uri.file(folder), { forceNewWindow: false });
  else if (choice === 'Open in New Window') await vscode.commands.executeCommand('vscode.openFolder', vscode.Uri.file(folder), { forceNewWindow: true });
}

/** `descent.newProject`: no argument runs the pickers; `{ options, folder, open? }` skips them. */
export async function newProject(context: vscode.ExtensionContext, arg?: unknown): Promise<NewProjectResult> {
  if (isNewProjectArgument(arg)) {
    if (typeof arg.folder !== 'string' || arg.folder.trim() === '') {
      const message = 'Descent: give the folder of the new project ({ options, folder }).';
      void vscode.window.showErrorMessage(message);
      return { ok: false, message };
    }
    return create(context, optionsFromArgument(arg.options), path.resolve(arg.folder), arg.open !== false);
  }
  const answer = await askOptions();
  if (!answer) return { ok: false, message: 'cancelled', cancelled: true };
  return create(context, answer.options, answer.folder, true);
}
