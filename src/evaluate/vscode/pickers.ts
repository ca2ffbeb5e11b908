// The quick picks of Descent: Evaluate Model: model, data, preprocessing, batch size and threads.
import { availableParallelism } from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { dataKindOf } from '../readers/dataset';
import type { DataSpec, Preprocessing } from '../types';

const EXCLUDE = '{**/node_modules/**,**/.git/**,**/.venv/**,**/venv/**}';

type Pick<T> = vscode.QuickPickItem & { value?: T };

async function browse(filters: Record<string, string[]> | undefined, folders: boolean, title: string): Promise<vscode.Uri | undefined> {
  const picked = await vscode.window.showOpenDialog({ canSelectFiles: !folders, canSelectFolders: folders, canSelectMany: false, openLabel: 'Select', title, ...(filters ? { filters } : {}) });
  return picked?.[0];
}

function relative(uri: vscode.Uri): string {
  return vscode.workspace.asRelativePath(uri, false);
}

export async function pickModel(): Promise<vscode.Uri | undefined> {
  const found = await vscode.workspace.findFiles('**/*.onnx', EXCLUDE, 200);
  const items: Pick<vscode.Uri | 'browse'>[] = found.sort((a, b) => a.fsPath.localeCompare(b.fsPath)).map((u) => ({ label: path.basename(u.fsPath), description: relative(u), value: u }));
  items.push({ label: '$(folder-opened) Browse…', description: 'an .onnx file anywhere', value: 'browse' });
  const pick = await vscode.window.showQuickPick(items, { title: 'Evaluate Model (1/4): the ONNX model', placeHolder: found.length ? 'Pick a model' : 'No .onnx file in the workspace: browse for one' });
  if (!pick) return undefined;
  return pick.value === 'browse' ? browse({ 'ONNX models': ['onnx'] }, false, 'ONNX model') : (pick.value as vscode.Uri);
}

export async function pickData(): Promise<DataSpec | undefined> {
  const found = await vscode.workspace.findFiles('**/*.{npz,npy,csv}', EXCLUDE, 300);
  const items: Pick<vscode.Uri | 'file' | 'folder'>[] = found.sort((a, b) => a.fsPath.localeCompare(b.fsPath)).map((u) => ({ label: path.basename(u.fsPath), description: relative(u), value: u }));
  items.push({ label: '$(file-media) Image folder…', description: 'one sub-folder of PNG/JPEG images per class', value: 'folder' }, { label: '$(folder-opened) Browse for a file…', description: '.npz, .npy or .csv', value: 'file' });
  const pick = await vscode.window.showQuickPick(items, { title: 'Evaluate Model (2/4): the dataset', placeHolder: 'NPZ/NPY arrays, a CSV file, or an image folder' });
  if (!pick) return undefined;
  const uri = pick.value === 'folder' ? await browse(undefined, true, 'Image folder (one sub-folder per class)') : pick.value === 'file' ? await browse({ Datasets: ['npz', 'npy', 'csv'] }, false, 'Dataset') : (pick.value as vscode.Uri);
  if (!uri) return undefined;
  const isDir = (await vscode.workspace.fs.stat(uri)).type & vscode.FileType.Directory;
  const kind = dataKindOf(uri.fsPath, isDir !== 0);
  switch (kind) {
    case 'npz':
      return { kind, path: uri.fsPath };
    case 'csv': {
      const target = await vscode.window.showInputBox({ title: 'Target column of the CSV', prompt: 'Column name of the class labels; empty: the last column', placeHolder: 'label' });
      if (target === undefined) return undefined;
      return { kind, path: uri.fsPath, ...(target.trim() ? { target: target.trim() } : {}) };
    }
    case 'npy': {
      const labels = await pickLabelsNpy(uri);
      return labels ? { kind, path: uri.fsPath, labelsPath: labels.fsPath } : undefined;
    }
    case 'images':
      return { kind, path: uri.fsPath };
    default:
      void vscode.window.showErrorMessage(`${path.basename(uri.fsPath)}: Descent evaluates .npz, .npy and .csv files and image folders.`);
      return undefined;
  }
}

async function pickLabelsNpy(x: vscode.Uri): Promise<vscode.Uri | undefined> {
  const dir = vscode.Uri.file(path.dirname(x.fsPath));
  const siblings = (await vscode.workspace.fs.readDirectory(dir)).filter(([n, t]) => t === vscode.FileType.File && n.endsWith('.npy') && n !== path.basename(x.fsPath)).map(([n]) => n);
  const likely = (n: string) => /^(y|labels?|targets?)[_.-]?/i.test(n) ? 0 : 1;
  const items: Pick<vscode.Uri | 'browse'>[] = siblings.sort((a, b) => likely(a) - likely(b) || a.localeCompare(b)).map((n) => ({ label: n, value: vscode.Uri.joinPath(dir, n) }));
  items.push({ label: '$(folder-opened) Browse…', value: 'browse' });
  const pick = await vscode.window.showQuickPick(items, { title: 'Labels of the .npy samples', placeHolder: 'An .npy of integer class ids, one per sample' });
  if (!pick) return undefined;
  return pick.value === 'browse' ? browse({ NumPy: ['npy'] }, false, 'Labels (.npy)') : (pick.value as vscode.Uri);
}

export async function pickNpzKey(role: 'x' | 'y', keys: string[]): Promise<string | undefined> {
  return vscode.window.showQuickPick(keys, { title: role === 'x' ? 'Which array holds the samples?' : 'Which array holds the labels (class ids)?' });
}

const IMAGENET = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };
type Step = 'scale' | 'imagenet' | 'custom' | 'resize' | 'grayscale' | 'rgb';

export async function pickPreprocessing(data: DataSpec, previous: Preprocessing | undefined): Promise<Preprocessing | undefined> {
  const prev = previous ?? { scale: data.kind === 'images' };
  const isImagenet = JSON.stringify(prev.mean) === JSON.stringify(IMAGENET.mean);
  const items: (vscode.QuickPickItem & { step: Step })[] = [
    { step: 'scale', label: 'Scale to [0, 1]', description: 'divide by 255 (uint8 pixels)', picked: prev.scale },
    { step: 'imagenet', label: 'Normalise with ImageNet mean/std', description: 'per channel, after scaling', picked: isImagenet },
    { step: 'custom', label: 'Normalise with a custom mean/std…', description: prev.mean && !isImagenet ? `now: ${prev.mean.join(',')} / ${(prev.std ?? [1]).join(',')}` : '', picked: !!prev.mean && !isImagenet },
    { step: 'resize', label: 'Resize images…', description: prev.resize ? `now ${prev.resize.join('x')}` : 'bilinear; default: the model input size', picked: !!prev.resize },
    { step: 'grayscale', label: 'Grayscale', description: 'one channel', picked: prev.color === 'grayscale' },
    { step: 'rgb', label: 'RGB', description: 'three channels', picked: prev.color === 'rgb' },
  ];
  const picked = await vscode.window.showQuickPick(items, { title: 'Evaluate Model (3/4): preprocessing (none checked: feed the data as it is)', canPickMany: true, placeHolder: 'Layout (NCHW/NHWC) follows the model input' });
  if (!picked) return undefined;
  const has = (s: Step) => picked.some((p) => p.step === s);
  const out: Preprocessing = { scale: has('scale'), color: has('grayscale') ? 'grayscale' : has('rgb') ? 'rgb' : 'auto' };
  if (has('imagenet')) Object.assign(out, IMAGENET);
  if (has('custom')) {
    const list = (s: string) => s.split(',').map((x) => Number(x.trim()));
    const bad = (s: string) => (s.trim() === '' || list(s).some((x) => !Number.isFinite(x)) ? 'Comma-separated numbers, e.g. 0.5 or 0.485,0.456,0.406' : undefined);
    const mean = await vscode.window.showInputBox({ title: 'Mean (per channel, or one value)', value: prev.mean?.join(',') ?? '0.5', validateInput: bad });
    if (mean === undefined) return undefined;
    const std = await vscode.window.showInputBox({ title: 'Standard deviation (per channel, or one value)', value: prev.std?.join(',') ?? '0.5', validateInput: (s) => bad(s) ?? (list(s).some((x) => x === 0) ? 'std must not be 0' : undefined) });
    if (std === undefined) return undefined;
    out.mean = list(mean);
    out.std = list(std);
  }
  if (has('resize')) {
    const size = await vscode.window.showInputBox({ title: 'Resize to H x W', value: prev.resize?.join('x') ?? '28x28', validateInput: (s) => (/^\s*\d+\s*x\s*\d+\s*$/i.test(s) ? undefined : 'Height x width, e.g. 224x224') });
    if (size === undefined) return undefined;
    const [h, w] = size.toLowerCase().split('x').map((v) => Number(v.trim()));
    out.resize = [h!, w!];
  }
  return out;
}

export async function pickBatchAndThreads(previous: { batchSize: number; threads: number } | undefined): Promise<{ batchSize: number; threads: number } | undefined> {
  const positive = (s: string) => (/^\s*[1-9]\d*\s*$/.test(s) ? undefined : 'A whole number, at least 1');
  const batch = await vscode.window.showInputBox({ title: 'Evaluate Model (4/4): batch size', value: String(previous?.batchSize ?? 256), validateInput: positive });
  if (batch === undefined) return undefined;
  const threads = await vscode.window.showInputBox({ title: 'onnxruntime threads (intra-op)', value: String(previous?.threads ?? availableParallelism()), prompt: `This machine has ${availableParallelism()} logical CPUs`, validateInput: positive });
  if (threads === undefined) return undefined;
  return { batchSize: Number(batch), threads: Number(threads) };
}
