// descent-eval: evaluates an ONNX classifier on a dataset outside VS Code and prints the confusion matrix and
// per-class metrics. Also computes metrics from saved predictions alone (--predictions).
// Exit codes: 0 ok, 1 evaluation error (message on stderr), 2 usage error.
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { runEvaluation, type Ort } from './engine';
import { readPredictionsNpz } from './predictions';
import { dataKindOf } from './readers/dataset';
import { buildReport, formatText } from './report';
import { EvaluationError, type ColorMode, type DataSpec, type EvaluationRequest } from './types';

const USAGE = `Usage: descent-eval --model MODEL.onnx --data DATA [options]
       descent-eval --predictions PREDS.npz [--format json|text]

Runs an ONNX classifier over a dataset with onnxruntime and prints the confusion matrix and per-class precision,
recall, F1 and support (scikit-learn's definitions, zero_division=0).

Data: an .npz (samples x/X/images/data, labels y/labels/targets; optional class_names), an .npy of samples with
--labels LABELS.npy, a CSV (header row; --target column, default the last), or a folder with one sub-folder of
PNG/JPEG images per class.

Options:
  --x-key KEY / --y-key KEY    .npz keys of the samples and labels
  --labels FILE.npy            labels of an .npy dataset
  --target COLUMN              CSV target column (default: the last)
  --scale                      divide by 255 (uint8 pixels to [0, 1])
  --mean a,b,c --std a,b,c     per-channel normalisation after scaling
  --resize HxW                 resize images (bilinear)
  --color auto|grayscale|rgb   channels fed to the model (default auto: what the model input has)
  --batch N                    batch size (default 256)
  --threads N                  onnxruntime intra-op threads (default: the CPU count)
  --format json|text           output (default json)
  --include-predictions        add yTrue, yPred and confidence per sample to the JSON
  --predictions FILE.npz       only compute metrics from y_true, y_pred (and labels) in FILE
  -h, --help                   this help
Exit status: 0 ok, 1 evaluation error, 2 usage error.`;

class UsageError extends Error {}

export interface CliArgs {
  model?: string;
  data?: string;
  labels?: string;
  xKey?: string;
  yKey?: string;
  target?: string;
  scale: boolean;
  mean?: number[];
  std?: number[];
  resize?: [number, number];
  color: ColorMode;
  batch: number;
  threads: number;
  format: 'json' | 'text';
  includePredictions: boolean;
  predictions?: string;
  help: boolean;
}

const numbers = (s: string, flag: string): number[] => {
  const v = s.split(',').map((x) => Number(x.trim()));
  if (v.length === 0 || v.some((x) => !Number.isFinite(x))) throw new UsageError(`${flag} takes comma-separated numbers, e.g. 0.485,0.456,0.406`);
  return v;
};
const positive = (s: string, flag: string): number => {
  const v = Number(s);
  if (!Number.isInteger(v) || v < 1) throw new UsageError(`${flag} takes a positive integer, got '${s}'`);
  return v;
};

export function parseArgs(argv: string[]): CliArgs {
  const a: CliArgs = { scale: false, color: 'auto', batch: 256, threads: availableParallelism(), format: 'json', includePredictions: false, help: false };
  for (let i = 0; i < argv.length; i++) {
    const raw = argv[i]!;
    const eq = raw.indexOf('=');
    const [flag, inline] = raw.startsWith('--') && eq > 0 ? [raw.slice(0, eq), raw.slice(eq + 1)] : [raw, undefined];
    const take = (): string => {
      if (inline !== undefined) return inline;
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw new UsageError(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--model': a.model = take(); break;
      case '--data': a.data = take(); break;
      case '--labels': a.labels = take(); break;
      case '--x-key': a.xKey = take(); break;
      case '--y-key': a.yKey = take(); break;
      case '--target': a.target = take(); break;
      case '--scale': a.scale = true; break;
      case '--mean': a.mean = numbers(take(), flag); break;
      case '--std': a.std = numbers(take(), flag); break;
      case '--resize': {
        const m = /^(\d+)x(\d+)$/i.exec(take());
        if (!m || Number(m[1]) < 1 || Number(m[2]) < 1) throw new UsageError('--resize takes HxW, e.g. 28x28');
        a.resize = [Number(m[1]), Number(m[2])];
        break;
      }
      case '--color': {
        const c = take();
        if (c !== 'auto' && c !== 'grayscale' && c !== 'rgb') throw new UsageError(`--color is auto, grayscale or rgb, not '${c}'`);
        a.color = c;
        break;
      }
      case '--batch': a.batch = positive(take(), flag); break;
      case '--threads': a.threads = positive(take(), flag); break;
      case '--format': {
        const f = take();
        if (f !== 'json' && f !== 'text') throw new UsageError(`--format is json or text, not '${f}'`);
        a.format = f;
        break;
      }
      case '--include-predictions': a.includePredictions = true; break;
      case '--predictions': a.predictions = take(); break;
      case '-h':
      case '--help': a.help = true; break;
      default: throw new UsageError(`unknown argument '${raw}'`);
    }
  }
  if (!a.help && !a.predictions && (!a.model || !a.data)) throw new UsageError('--model and --data are required (or --predictions)');
  return a;
}

export async function requestFromArgs(a: CliArgs): Promise<EvaluationRequest> {
  const { stat } = await import('node:fs/promises');
  const dataPath = resolve(a.data!);
  const st = await stat(dataPath).catch(() => undefined);
  if (!st) throw new EvaluationError(`${dataPath} does not exist`);
  const kind = dataKindOf(dataPath, st.isDirectory());
  let data: DataSpec;
  switch (kind) {
    case 'npz': data = { kind, path: dataPath, ...(a.xKey ? { xKey: a.xKey } : {}), ...(a.yKey ? { yKey: a.yKey } : {}) }; break;
    case 'npy':
      if (!a.labels) throw new UsageError('an .npy dataset needs --labels LABELS.npy (or save both in one .npz)');
      data = { kind, path: dataPath, labelsPath: resolve(a.labels) };
      break;
    case 'csv': data = { kind, path: dataPath, ...(a.target ? { target: a.target } : {}) }; break;
    case 'images': data = { kind, path: dataPath }; break;
    default: throw new UsageError(`${a.data}: use an .npz, .npy or .csv file or an image folder`);
  }
  return {
    modelPath: resolve(a.model!),
    data,
    preprocessing: { scale: a.scale, ...(a.mean ? { mean: a.mean } : {}), ...(a.std ? { std: a.std } : {}), ...(a.resize ? { resize: a.resize } : {}), color: a.color },
    batchSize: a.batch,
    threads: a.threads,
  };
}

export async function main(argv: string[], out: (s: string) => void, err: (s: string) => void): Promise<number> {
  let args: CliArgs;
  try {
    args = parseArgs(argv);
  } catch (e) {
    err(`descent-eval: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    out(USAGE);
    return 0;
  }
  try {
    if (args.predictions) {
      const p = await readPredictionsNpz(resolve(args.predictions));
      let n = p.labels?.length ?? 0;
      if (!p.labels) for (let i = 0; i < p.yTrue.length; i++) n = Math.max(n, p.yTrue[i]! + 1, p.yPred[i]! + 1);
      const report = buildReport(p.yTrue, p.yPred, p.labels ?? Array.from({ length: n }, (_, i) => String(i)));
      out(args.format === 'json' ? JSON.stringify(report) : formatText(report, [`predictions: ${args.predictions}`]));
      return 0;
    }
    const req = await requestFromArgs(args);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const ort = require('onnxruntime-node') as Ort;
    const r = await runEvaluation(ort, req);
    const report = buildReport(r.yTrue, r.yPred, r.labels);
    if (args.format === 'text') {
      out(formatText(report, [`model: ${r.modelPath}`, `data:  ${r.dataPath}`, `${r.yTrue.length} samples in ${r.seconds.toFixed(2)} s (${Math.round(r.samplesPerSecond)} samples/s, batch ${r.batchSize}, ${r.threads} threads)`, '']));
    } else {
      out(
        JSON.stringify({
          model: r.modelPath,
          data: r.dataPath,
          labelSource: r.labelSource,
          input: { name: r.inputName, shape: r.inputShape },
          samples: r.yTrue.length,
          seconds: r.seconds,
          samplesPerSecond: r.samplesPerSecond,
          batchSize: r.batchSize,
          threads: r.threads,
          ...report,
          ...(args.includePredictions ? { yTrue: Array.from(r.yTrue), yPred: Array.from(r.yPred), confidence: Array.from(r.confidence) } : {}),
        }),
      );
    }
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      err(`descent-eval: ${e.message}`);
      return 2;
    }
    err(`descent-eval: ${e instanceof EvaluationError ? e.message : ((e as Error).stack ?? String(e))}`);
    return 1;
  }
}

if (require.main === module) {
  void main(
    process.argv.slice(2),
    (s) => process.stdout.write(s + '\n'),
    (s) => process.stderr.write(s + '\n'),
  ).then((code) => {
    process.exitCode = code;
  });
}
