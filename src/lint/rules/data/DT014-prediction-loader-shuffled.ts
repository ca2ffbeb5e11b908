import { keywordArg, positionalArgs, type Analysis } from '../../analysis';
import { drawsOwnSamples, loadedDatasetClass } from '../../analysis/datasets';
import { isDataLoaderQname, loaderNamed } from '../../analysis/runtime';
import { shuffledPairing } from '../../analysis/shuffledPairing';
import type { Rule } from '../../types';
import type { PyNode } from '../../parser';

// A test/submission loader built with shuffle=True in a file that writes predictions to a CSV: the rows are
// written in loader order, so they no longer line up with the ids.

/** Loaders and datasets of unlabelled data to predict on (`test_loader`, `submission_dl`, `pred_ds`), not validation. */
const PREDICTION_DATA = /^(test|testing|submission|submit|pred|predict|prediction|inference|infer)_?(loader|dataloader|dl|iter|data|dataset|set|ds|gen|generator)?$/i;

/** A folder's name in a path (`config["pred_dir"]`, `args.pred_path`): says where a file goes, not what it holds. */
const FOLDER_WORD = /\w*(dir|folder|root|path)\b\w*/gi;

/**
 * `submission.to_csv(...)`, `df.to_csv("preds.csv")`, `pd.DataFrame({"pred": p}).to_csv(path)`: the frame, the file
 * name or what the frame was built from says predictions. A folder named so (`pred_dir`) does not.
 */
function writesPredictions(a: Analysis, c: PyNode): boolean {
  const frame = c.child('function')?.child('object');
  const path = (positionalArgs(c)[0]?.text ?? '').replace(FOLDER_WORD, '');
  if (/sub|pred/i.test(`${frame?.text ?? ''} ${path}`)) return true;
  const built = frame?.type === 'identifier' ? a.scopes.valueAt(frame.text, frame) : undefined;
  return !!built && /sub|pred/i.test(built.text);
}

export const DT014: Rule = {
  meta: {
    id: 'DT014',
    name: 'prediction-loader-shuffled',
    group: 'data',
    defaultSeverity: 'error',
    summary: 'The test loader shuffles while its predictions are written to a submission file, or paired with the test data, in loader order.',
    why:
      'A submission (or any prediction file) pairs each prediction with its id by position: row i of the predictions ' +
      'goes with row i of the test set. A `DataLoader(test_ds, shuffle=True)` hands the samples out in a random order, ' +
      'so the predictions are scrambled against the ids. Validation accuracy looks fine while the leaderboard score is ' +
      'at chance level. Prediction loaders must keep the order: `shuffle=False` (the default). Also reported without a ' +
      'file: the predictions the shuffled loader feeds (the names a call handed the loader returns, or a list a loop ' +
      'over it appends to, named as predictions) paired in one call, tuple or dict with the arrays or dataset the loader ' +
      'was built from (`accuracy_score(test_y, y_pred)`, `zip(test_x, preds)`): they are in dataset order, the ' +
      'predictions in shuffled order.',
    wrong:
      'import pandas as pd\nfrom torch.utils.data import DataLoader\ntest_loader = DataLoader(test_ds, batch_size=64, shuffle=True)\npreds = [model(x).argmax(1) for x in test_loader]\npd.DataFrame({"id": ids, "label": preds}).to_csv("submission.csv")',
    right:
      'import pandas as pd\nfrom torch.utils.data import DataLoader\ntest_loader = DataLoader(test_ds, batch_size=64, shuffle=False)\npreds = [model(x).argmax(1) for x in test_loader]\npd.DataFrame({"id": ids, "label": preds}).to_csv("submission.csv")',
    concept: 'Inference: predictions must keep the order of the ids',
    fixable: true,
  },
  nodeTypes: ['call'],
  // The test is statement-local (the loader call); the visit looks for a CSV written anywhere in the file.
  candidate: {
    reads: ['imports'],
    test: (call, ctx) => isDataLoaderQname(ctx.analysis.callee(call)) && keywordArg(call, 'shuffle')?.text === 'True',
  },
  visit(call, ctx) {
    if (!isDataLoaderQname(ctx.analysis.callee(call))) return;
    const shuffle = keywordArg(call, 'shuffle');
    if (shuffle?.text !== 'True') return;
    const name = loaderNamed(call, PREDICTION_DATA);
    if (!name) return;
    // a Dataset that picks its own sample whatever index it is asked for has no order to keep
    const dsClass = loadedDatasetClass(call, ctx.analysis);
    if (dsClass && drawsOwnSamples(dsClass, ctx.analysis)) return;
    // A submission or prediction file (`submission.to_csv(...)`, `df.to_csv("preds.csv")`), not a table of metrics.
    const fixes = [{ title: 'Use shuffle=False', edits: [{ start: shuffle.start, end: shuffle.end, newText: 'False' }] }];
    const writes = ctx.analysis.callsNamed('to_csv').find((c) => c.start > call.end && writesPredictions(ctx.analysis, c));
    if (writes) {
      ctx.report({
        node: shuffle.parent ?? shuffle,
        message: `${name} shuffles, but its predictions are written in loader order by to_csv (line ${ctx.lines.position(writes.start).line + 1}): they no longer match their ids. Use shuffle=False.`,
        fixes,
      });
      return;
    }
    // `y_pred = predict(model, test_loader)` then `accuracy_score(test_y, y_pred)` / `(test_x, y_pred)`: paired by position
    const pair = shuffledPairing(ctx.analysis, call);
    if (!pair) return;
    ctx.report({
      node: shuffle.parent ?? shuffle,
      message: `${name} shuffles, but its predictions (${pair.predictions.text}) are paired with ${pair.data.text} in dataset order (line ${ctx.lines.position(pair.predictions.start).line + 1}): each prediction meets another sample. Use shuffle=False.`,
      fixes,
    });
  },
};
