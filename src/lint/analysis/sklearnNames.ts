// scikit-learn's old module paths (removed in 0.20-0.22, still in many tutorials and posts) mapped to today's, so
// the data rules that look for a split, a cross-validation or a fitted transformer also match old scripts:
// `from sklearn.cross_validation import train_test_split`, `sklearn.grid_search.GridSearchCV`,
// `sklearn.preprocessing.Imputer`.
import type { PyNode } from '../parser';
import type { Analysis } from './index';

/** Modules whose contents moved to `sklearn.model_selection`. */
const MOVED_TO_MODEL_SELECTION = /^sklearn\.(cross_validation|grid_search|learning_curve)\.(\w+)$/;
/** Single names that moved to another module. */
const RENAMED: ReadonlyMap<string, string> = new Map([
  ['sklearn.preprocessing.Imputer', 'sklearn.impute.SimpleImputer'],
  ['sklearn.preprocessing.imputation.Imputer', 'sklearn.impute.SimpleImputer'],
]);

/** The current qualified name of a scikit-learn name spelled with an old module path (other names unchanged). */
export function modernSklearn(q: string | undefined): string | undefined {
  if (!q?.startsWith('sklearn.')) return q;
  const moved = MOVED_TO_MODEL_SELECTION.exec(q);
  if (moved) return `sklearn.model_selection.${moved[2]}`;
  return RENAMED.get(q) ?? q;
}

/** `a.callee(call)`, with old scikit-learn module paths mapped to today's. */
export function dataCallee(a: Analysis, call: PyNode): string | undefined {
  return modernSklearn(a.callee(call));
}
