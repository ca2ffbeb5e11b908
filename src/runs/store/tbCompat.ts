// The TensorBoard reader's pieces the store uses, and the order in which scalars of several files are merged.
import type { TbScalar } from '../format/tensorboard';
export { TensorBoardFileReader, scalarToRecord, type TbScalar } from '../format/tensorboard';

export const TB_SCALAR_SORT = (a: { s: TbScalar; file: number }, b: { s: TbScalar; file: number }): number =>
  a.s.step - b.s.step || a.s.wallTime - b.s.wallTime || a.file - b.file;
