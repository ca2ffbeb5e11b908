// Predictions saved as an .npz (y_true, y_pred, optional labels): `descent-eval --predictions` computes the matrix
// and metrics from them alone (how the pytest cross-check feeds scikit-learn's cases to Descent's metrics).
import { basename } from 'node:path';
import { readExactly } from './readers/bytes';
import { readNpyHeader, toInt32Labels, toStrings } from './readers/npy';
import { openZipEntry, readZipDirectory } from './readers/zip';
import { EvaluationError } from './types';

export interface SavedPredictions {
  yTrue: Int32Array;
  yPred: Int32Array;
  labels: string[] | undefined;
}

export async function readPredictionsNpz(path: string): Promise<SavedPredictions> {
  const file = basename(path);
  const entries = await readZipDirectory(path).catch((e: unknown) => {
    throw (e as NodeJS.ErrnoException).code === 'ENOENT' ? new EvaluationError(`${path} does not exist`) : e;
  });
  const read = async (key: string) => {
    const entry = entries.find((e) => e.name === `${key}.npy`);
    if (!entry) return undefined;
    const r = await openZipEntry(path, entry);
    try {
      const h = await readNpyHeader(r, `${key} in ${file}`);
      const bytes = await readExactly(r, h.shape.reduce((a, b) => a * b, 1) * h.itemSize, `${key} in ${file}`);
      return { h, bytes };
    } finally {
      await r.close();
    }
  };
  const t = await read('y_true');
  const p = await read('y_pred');
  if (!t || !p) throw new EvaluationError(`${file} needs arrays y_true and y_pred (np.savez(path, y_true=..., y_pred=..., labels=...))`);
  const yTrue = toInt32Labels(t.bytes, t.h.dtype, `y_true in ${file}`);
  const yPred = toInt32Labels(p.bytes, p.h.dtype, `y_pred in ${file}`);
  if (yTrue.length !== yPred.length) throw new EvaluationError(`${file}: y_true has ${yTrue.length} values, y_pred ${yPred.length}`);
  const l = await read('labels');
  const labels = l ? (l.h.dtype === 'unicode' ? toStrings(l.bytes, l.h.itemSize) : undefined) : undefined;
  if (l && !labels) throw new EvaluationError(`${file}: labels must be strings (dtype 'U')`);
  return { yTrue, yPred, labels };
}
