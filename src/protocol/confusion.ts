// Messages of the confusion matrix panel (webview/confusion), imported by the host (src/confusion/vscode/) and the
// webview, and ConfusionSource: what any feature hands to showConfusion() (a run's logged matrices, or an
// evaluation's predictions). Matrices travel flat: counts[t * n + p] = samples of true class t predicted as p.

export const CONFUSION_VIEW_TYPE = 'descent.confusion';

export interface ConfusionMatrixEntry {
  /** "train", "val", "test", or "" when the logger gave none. */
  split: string;
  epoch?: number;
  step?: number;
  /** n * n counts, row = true class. */
  counts: number[];
}

/** Per-sample predictions of an evaluation: what lies behind each cell. */
export interface ConfusionSamples {
  split: string;
  yTrue: number[];
  yPred: number[];
  /** Probability of the predicted class, 0..1. */
  confidence?: number[];
  /** Image (or other) file of each sample, absolute; thumbnails are read by the host on request. */
  samplePaths?: string[];
}

export interface ConfusionComparison {
  title: string;
  labels: string[];
  matrices: ConfusionMatrixEntry[];
}

export interface ConfusionSource {
  title: string;
  labels: string[];
  matrices: ConfusionMatrixEntry[];
  samples?: ConfusionSamples[];
  comparison?: ConfusionComparison;
  /** The run folder the matrices were read from (a Descent run): lets a reloaded panel read them again. */
  runDir?: string;
}

export interface SampleThumbnail {
  index: number;
  /** data: URI of the image; absent when the file is not an image, too large, or unreadable (see `error`). */
  uri?: string;
  error?: string;
}

export type ConfusionToWebview =
  /** `storedId`: the host keeps this (evaluation) source under that id, see `stored`. */
  | { type: 'snapshot'; source: ConfusionSource; storedId?: string }
  | { type: 'comparison'; comparison: ConfusionComparison | undefined }
  | { type: 'thumbnails'; requestId: number; items: SampleThumbnail[] }
  /** An evaluation result was kept by the host under this id: the webview saves it in its state for a reload. */
  | { type: 'stored'; id: string };

export type ConfusionView = 'counts' | 'row' | 'column';
export type ConfusionOrder = 'index' | 'name' | 'clustered';

export type ConfusionToHost =
  | { type: 'ready' }
  | { type: 'pickComparison' }
  | { type: 'clearComparison' }
  | { type: 'thumbnails'; requestId: number; split: string; indices: number[] }
  | { type: 'openSample'; split: string; index: number }
  | { type: 'exportPng'; dataUrl: string; suggestedName: string }
  | { type: 'exportCsv'; what: 'matrix' | 'metrics'; matrix: number; view: ConfusionView; suggestedName: string }
  /** Sent after each full render: what the panel shows (integration tests read it through DescentApi). */
  | { type: 'rendered'; n: number; split: string; position: number; view: ConfusionView; compare: boolean; drawMs: number };

/** Kept with the webview's setState so a reload (or hiding the panel) restores the same view. */
export interface ConfusionState {
  /** Where the data came from: a run folder, or an evaluation result stored by the host under this id. */
  origin: { kind: 'run'; dir: string } | { kind: 'stored'; id: string } | undefined;
  view: ConfusionView;
  order: ConfusionOrder;
  split: string;
  /** Position in the split's matrices (epoch slider). */
  position: number;
  compare: boolean;
  /** Every split at once instead of tabs. */
  sideBySide: boolean;
}

/** Matrices of a ConfusionEvent-style nested array, flattened. */
export function flattenMatrix(matrix: readonly (readonly number[])[]): number[] {
  const n = matrix.length;
  const out = new Array<number>(n * n);
  for (let i = 0; i < n; i++) {
    const row = matrix[i]!;
    for (let j = 0; j < n; j++) out[i * n + j] = row[j]!;
  }
  return out;
}
