// Types of the ONNX evaluation: what the user chooses (dataset, preprocessing, batch size, threads) and what comes
// back (labels and one prediction per sample). Plain data: crosses the worker boundary with structured clone.

/** Thrown for every problem the user can fix (bad file, shape mismatch, label out of range): its message is shown as is. */
export class EvaluationError extends Error {
  override name = 'EvaluationError';
}

/** Raised inside the engine when the user cancelled; never shown as an error. */
export class EvaluationCancelled extends Error {
  override name = 'EvaluationCancelled';
  constructor() {
    super('evaluation cancelled');
  }
}

/** Where the samples come from. */
export type DataSpec =
  | { kind: 'npz'; path: string; xKey?: string; yKey?: string }
  | { kind: 'npy'; path: string; labelsPath: string }
  | { kind: 'csv'; path: string; target?: string }
  | { kind: 'images'; path: string };

export type ColorMode = 'auto' | 'grayscale' | 'rgb';

/** Input preprocessing, applied in this order: colour, resize, scale, normalise, layout (to the model's). */
export interface Preprocessing {
  /** Divide by 255 (uint8 pixels -> [0, 1]). */
  scale: boolean;
  /** Per-channel (or one value for all) mean and standard deviation: x = (x - mean) / std after scaling. */
  mean?: number[];
  std?: number[];
  /** Resize images to [height, width] (bilinear). Default for images: the model input's height and width. */
  resize?: [number, number];
  /** Channels fed to the model; auto: what the model input asks for. */
  color?: ColorMode;
}

export interface EvaluationRequest {
  modelPath: string;
  data: DataSpec;
  preprocessing: Preprocessing;
  batchSize: number;
  /** onnxruntime intra-op threads. */
  threads: number;
}

export interface EvaluationProgress {
  done: number;
  total: number;
  /** Seconds since the first batch started. */
  elapsed: number;
  /** Estimated seconds left; undefined before the first batch finished. */
  eta: number | undefined;
}

/** One evaluation: predictions for every sample, in dataset order. */
export interface EvaluationResult {
  modelPath: string;
  dataPath: string;
  /** Class names, index = class id. */
  labels: string[];
  /** Where the class names came from. */
  labelSource: 'dataset' | 'model metadata' | 'indices';
  yTrue: Int32Array;
  yPred: Int32Array;
  /** Probability of the predicted class (softmax of logits when the model outputs logits). */
  confidence: Float32Array;
  /** Image folder only: the file of each sample. */
  samplePaths?: string[];
  inputName: string;
  /** Model input shape as the session reports it (symbolic dimensions as strings). */
  inputShape: (number | string)[];
  batchSize: number;
  threads: number;
  /** Wall time of the whole evaluation (session creation excluded), seconds. */
  seconds: number;
  samplesPerSecond: number;
}
