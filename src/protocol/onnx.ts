// Messages of the ONNX model view (custom editor descent.onnxModel): host src/onnx/vscode/editor.ts, webview
// webview/onnx. The host answers `ready` with `model` (or `invalid` when the file is not an ONNX model); the Try it
// box sends pixels and gets a `prediction` (or `predictionError`) back.
import type { InputScale, Prediction, TryItSpec } from '../onnx/tryIt';
import type { OnnxDim, OperatorCount } from '../onnx/read';

export interface OnnxTensorSummary {
  name: string;
  elemType: string;
  shape: OnnxDim[] | null;
}

export interface OnnxModelSummary {
  fileName: string;
  fileBytes: number;
  irVersion: number;
  opsets: { domain: string; version: number }[];
  producer: string;
  domain: string;
  modelVersion: number;
  docString: string;
  graphName: string;
  inputs: OnnxTensorSummary[];
  outputs: OnnxTensorSummary[];
  /** Weights also declared as graph inputs (a runtime may override them). */
  initializerInputs: number;
  parameterCount: number;
  parameterBytes: number;
  initializerCount: number;
  nodeCount: number;
  operators: OperatorCount[];
  metadata: [string, string][];
  /** Initializers stored in external files: their names and file. */
  externalData: string[];
  functions: string[];
}

export type TryItState =
  | { kind: 'ready'; spec: TryItSpec; scale: InputScale; labels: string[] | null }
  | { kind: 'untrusted' }
  | { kind: 'unsupported'; reason: string };

export interface PixelImage {
  width: number;
  height: number;
  /** 1 (grayscale) or 3 (RGB) values per pixel, each in [0, 1], row-major. */
  channels: number;
  data: number[];
}

export type OnnxToWebview =
  | { type: 'loading'; fileName: string }
  | { type: 'model'; model: OnnxModelSummary; tryIt: TryItState }
  | { type: 'invalid'; fileName: string; message: string }
  | { type: 'prediction'; id: number; prediction: Prediction; outputName: string; milliseconds: number; source: 'drawing' | 'image'; preview?: PixelImage; imageName?: string }
  | { type: 'predictionError'; id: number; message: string }
  | { type: 'busy'; id: number; what: string };

export type OnnxToHost =
  | { type: 'ready' }
  | { type: 'predictDrawing'; id: number; pixels: PixelImage }
  | { type: 'chooseImage'; id: number }
  | { type: 'setScale'; scale: InputScale }
  | { type: 'manageTrust' }
  /** The webview drew what it got (checked by the integration test). */
  | { type: 'rendered'; what: 'model' | 'invalid' | 'prediction'; detail: string };
