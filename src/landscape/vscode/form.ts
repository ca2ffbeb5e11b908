// The form of Descent: Plot Loss Landscape: five quick picks with a step counter and Back (kind, grid, data,
// device, sharpness). Enter at every step gives a 21x21 2D landscape on 1000 training samples — under a minute on a
// laptop CPU for a course-sized model.
import * as vscode from 'vscode';
import { BACK, pickOne, type PickItem } from '../../scaffold/vscode/quickInput';
import { DEFAULT_OPTIONS, KIND_LABELS, is2d, type LandscapeKind, type LandscapeOptions } from '../options';

const TITLE = 'Descent: Plot Loss Landscape';
const STEPS = 5;

/** undefined when the user pressed Escape. */
/** `onnx`: the ONNX engine (random directions, CPU, no sharpness): three steps. */
export async function askOptions(runName: string, gpus: string[], hasTrajectory: boolean, onnx = false): Promise<LandscapeOptions | undefined> {
  const o: LandscapeOptions = { ...DEFAULT_OPTIONS };
  const steps = onnx ? 3 : STEPS;
  let step = 1;
  while (step <= steps) {
    const title = `${TITLE}: ${runName}`;
    let answer: unknown;
    if (step === 1) {
      const kinds: LandscapeKind[] = onnx ? ['2d', '1d'] : ['2d', '1d', 'pca', 'interpolate'];
      answer = await pickOne<LandscapeKind>({
        title,
        step,
        totalSteps: steps,
        placeholder: 'What to plot',
        active: o.kind,
        items: kinds.map((k) => ({
          label: KIND_LABELS[k].label,
          detail: KIND_LABELS[k].detail,
          description: (k === 'pca' || k === 'interpolate') && !hasTrajectory ? 'needs several checkpoints of the run' : undefined,
          value: k,
        })),
      });
      if (typeof answer === 'string') o.kind = answer as LandscapeKind;
    } else if (step === 2) {
      const sizes = is2d(o.kind) ? [21, 41, 51] : [51, 101, 201];
      const cost = (n: number) => (is2d(o.kind) ? n * n : n);
      const items: PickItem<[number, number]>[] = [];
      for (const n of sizes) {
        for (const range of o.kind === 'interpolate' ? [1] : [1, 0.5, 2]) {
          const where = o.kind === 'interpolate' ? 'alpha -0.5 … 1.5' : o.kind === 'pca' ? 'range fitted to the path' : `range ±${range}`;
          if (o.kind === 'pca' && range !== 1) continue;
          items.push({ label: is2d(o.kind) ? `${n} × ${n}` : `${n} points`, description: where, detail: `${cost(n)} model evaluations`, value: [n, range] });
        }
      }
      answer = await pickOne<[number, number]>({ title, step, totalSteps: steps, placeholder: 'Grid', items, active: items.find((i) => i.value[0] === o.resolution || i.value[0] === sizes[0])?.value });
      if (Array.isArray(answer)) [o.resolution, o.range] = answer as [number, number];
    } else if (step === 3) {
      const items: PickItem<[LandscapeOptions['split'], number]>[] = [];
      for (const split of onnx ? (['train'] as const) : (['train', 'val'] as const)) {
        for (const samples of [1000, 5000, 100_000]) {
          items.push({
            label: `${onnx ? 'The data file' : split === 'train' ? 'Training data' : 'Validation data'}, ${samples === 100_000 ? 'all samples' : `${samples} samples`}`,
            description: samples === 1000 ? 'quick' : undefined,
            value: [split, samples],
          });
        }
      }
      answer = await pickOne({ title, step, totalSteps: steps, placeholder: 'Data the loss is computed on', items, active: items[0]!.value });
      if (Array.isArray(answer)) [o.split, o.samples] = answer as [LandscapeOptions['split'], number];
    } else if (step === 4) {
      const items: PickItem<LandscapeOptions['device']>[] = [
        { label: 'Automatic', description: gpus.length > 0 ? 'the GPU when PyTorch can use it' : 'CPU here', value: 'auto' },
        { label: 'CPU', value: 'cpu' },
      ];
      if (gpus.length > 0) items.push({ label: 'CUDA GPU', description: gpus.join(', '), value: 'cuda' });
      answer = await pickOne({ title, step, totalSteps: steps, placeholder: 'Device', items, active: o.device });
      if (typeof answer === 'string') o.device = answer as LandscapeOptions['device'];
    } else {
      const items: PickItem<boolean>[] = [
        { label: 'No sharpness', value: false },
        { label: 'Also compute sharpness', detail: 'top Hessian eigenvalue (power iteration) and Hessian trace (Hutchinson) at the model: a few seconds more', value: true },
      ];
      answer = await pickOne({ title, step, totalSteps: steps, placeholder: 'Sharpness', items, active: o.sharpness });
      if (typeof answer === 'boolean') o.sharpness = answer;
    }
    if (answer === undefined) return undefined;
    step += answer === BACK ? -1 : 1;
    if (step < 1) step = 1;
  }
  return o;
}

export async function confirmTrust(): Promise<boolean> {
  if (vscode.workspace.isTrusted) return true;
  const choice = await vscode.window.showWarningMessage(
    'Descent: plotting a loss landscape runs Python on this workspace’s model and data, and this workspace is not trusted. Trust it first (Manage Workspace Trust), then run the command again.',
    'Manage Workspace Trust',
  );
  if (choice) await vscode.commands.executeCommand('workbench.trust.manage');
  return false;
}
