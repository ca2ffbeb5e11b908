// One onnxruntime session per open model view, created on the first Try it and released with the view.
// onnxruntime-node is a native module of ~45 MB: required here, on first use, never at activation.
import type * as OrtModule from 'onnxruntime-node';
import { pixelsToTensor, topK, type InputScale, type Prediction, type TryItSpec } from '../tryIt';

type Ort = typeof OrtModule;
let ort: Ort | undefined;

function loadOrt(): Ort {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    ort ??= require('onnxruntime-node') as Ort;
    return ort;
  } catch (e) {
    throw new Error(`onnxruntime-node could not be loaded (${(e as Error).message.split('\n')[0]}). Reinstall Descent for this platform.`);
  }
}

export interface TryItResult {
  prediction: Prediction;
  outputName: string;
  milliseconds: number;
}

export class ModelSession {
  private session: Promise<OrtModule.InferenceSession> | undefined;

  /** `source`: the file path (external data next to it is found) or the model bytes. */
  constructor(private readonly source: string | Uint8Array) {}

  private get(): Promise<OrtModule.InferenceSession> {
    this.session ??= (async () => {
      const o = loadOrt();
      const options: OrtModule.InferenceSession.SessionOptions = { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all' };
      try {
        return typeof this.source === 'string' ? await o.InferenceSession.create(this.source, options) : await o.InferenceSession.create(this.source, options);
      } catch (e) {
        this.session = undefined;
        throw new Error(`onnxruntime could not load the model: ${(e as Error).message.split('\n')[0]}`);
      }
    })();
    return this.session;
  }

  /** Runs one sample of pixels ([0, 1], `channels` per pixel) and returns the top-k classes of the first score output. */
  async predict(pixels: ArrayLike<number>, channels: number, spec: TryItSpec, scale: InputScale, labels: readonly string[] | undefined, k = 5): Promise<TryItResult> {
    const session = await this.get();
    const o = loadOrt();
    const data = pixelsToTensor(pixels, channels, spec, scale);
    const started = performance.now();
    let results: OrtModule.InferenceSession.ReturnType;
    try {
      results = await session.run({ [spec.inputName]: new o.Tensor(spec.elemType, data, spec.dims) });
    } catch (e) {
      throw new Error(`the model failed on a ${spec.dims.join('×')} input: ${(e as Error).message.split('\n')[0]}`);
    }
    const milliseconds = performance.now() - started;
    for (const name of session.outputNames) {
      const t = results[name];
      if (!t || (t.type !== 'float32' && t.type !== 'float64')) continue;
      const batch = t.dims.length >= 2 ? t.dims[0]! : 1;
      const perSample = batch > 0 ? t.size / batch : 0;
      if (perSample < 2) continue;
      const values = (t.data as Float32Array | Float64Array).subarray(0, perSample);
      return { prediction: topK(values, k, labels), outputName: name, milliseconds };
    }
    const kinds = session.outputNames.map((n) => `${n}: ${results[n]?.type ?? '?'} ${results[n]?.dims.join('×') ?? ''}`);
    throw new Error(`no output holds class scores (a float tensor with at least 2 values per sample); outputs are ${kinds.join(', ')}`);
  }

  async dispose(): Promise<void> {
    const s = this.session;
    this.session = undefined;
    if (s) await (await s.catch(() => undefined))?.release();
  }
}
