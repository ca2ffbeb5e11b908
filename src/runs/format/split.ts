// Which split a metric belongs to, guessed from the names other tools use: TensorBoard tags ("train/loss",
// "Loss/val"), Lightning and Keras columns ("val_loss", "train_acc_epoch", "loss_val"). Descent's own records carry
// the split explicitly and never come here.

const SPLITS: Record<string, string> = {
  train: 'train',
  training: 'train',
  val: 'val',
  valid: 'val',
  validation: 'val',
  test: 'test',
  testing: 'test',
};

export interface SplitName {
  metric: string;
  split: string | undefined;
}

/**
 * Splits a name into metric and split: a prefix or suffix word train/training, val/valid/validation, test/testing
 * joined by "/", "_", "-" or "." (case-insensitive). "val_loss" -> loss/val, "Loss/train" -> Loss/train,
 * "train_loss_epoch" -> loss_epoch/train. A name without one ("lr", "loss") has no split. The metric never becomes
 * empty: "val" alone stays a metric.
 */
export function inferSplit(name: string): SplitName {
  const prefix = /^([A-Za-z]+)[/_.-](.+)$/.exec(name);
  if (prefix) {
    const split = SPLITS[prefix[1]!.toLowerCase()];
    if (split) return { metric: prefix[2]!, split };
  }
  const suffix = /^(.+)[/_.-]([A-Za-z]+)$/.exec(name);
  if (suffix) {
    const split = SPLITS[suffix[2]!.toLowerCase()];
    if (split) return { metric: suffix[1]!, split };
  }
  // TensorBoard tags often put the split in the middle of a path: "metrics/val/loss".
  const parts = name.split('/');
  if (parts.length > 2) {
    for (let i = 1; i < parts.length - 1; i++) {
      const split = SPLITS[parts[i]!.toLowerCase()];
      if (split) return { metric: [...parts.slice(0, i), ...parts.slice(i + 1)].join('/'), split };
    }
  }
  return { metric: name, split: undefined };
}
