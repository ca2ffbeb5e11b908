import { calleeName, keywordArg, positionalArgs, unparen } from '../../analysis';
import type { PyNode } from '../../parser';
import type { Rule } from '../../types';

const TRAIN_NAME = /^(train|training|trn)(_?(set|data|dataset|ds|loader|dataloader|dl|images|imgs|x|y|inputs|labels|targets|gen|generator))?$|^(x|y|X|Y)_?(train|trn|tr)$/;
const VAL_METRIC = /^(val|valid|validation)_?(loss|acc|accuracy|score|f1|auc|metrics?|err|error|ppl)$/i;
const TRAIN_LOADER = /^(train|training|trn)_?(loader|dataloader|dl|data_?loader|iter|iterator|ds|dataset|set|data)$/i;
const HELD_OUT = /^(val|valid|validation|test|testing|dev|holdout)_?(loader|dataloader|dl|data_?loader|iter|iterator|ds|dataset|set|data)$/i;
const VAL_TARGET = /^(val|valid|validation|test|testing|dev|eval)_?(set|data|dataset|ds|loader|dataloader|dl)$/i;

/** Last name of an expression: `self.train_loader` -> `train_loader`; `ds["train"]` -> `train`. */
function nameOf(n: PyNode | undefined): string | undefined {
  const e = unparen(n);
  if (!e) return undefined;
  if (e.type === 'identifier') return e.text;
  if (e.type === 'attribute') return e.child('attribute')?.text;
  if (e.type === 'subscript') {
    const s = e.child('subscript');
    if (s?.type === 'string') return s.text.replace(/^[rbuf]*['"]+|['"]+$/gi, '');
  }
  return undefined;
}

const isTrain = (n: PyNode | undefined) => TRAIN_NAME.test(nameOf(n) ?? '');

/** `TensorDataset(X_train, y_train)`: a dataset made of training arrays only. */
function trainTensors(n: PyNode | undefined, callee: string | undefined): boolean {
  const e = unparen(n);
  if (e?.type !== 'call' || !/(^|\.)TensorDataset$/.test(callee ?? e.child('function')?.text ?? '')) return false;
  const args = e.child('arguments')?.namedChildren.filter((x) => x.type !== 'comment') ?? [];
  return args.length > 0 && args.every((x) => x.type !== 'keyword_argument' && x.type !== 'list_splat' && isTrain(x));
}

export const EV004: Rule = {
  meta: {
    id: 'EV004',
    name: 'validation-is-training-data',
    group: 'evaluation',
    defaultSeverity: 'error',
    summary: 'The data passed as validation data is the training data.',
    why:
      'Validating on the training set (`validation_data=(X_train, y_train)`, `eval_dataset=train_ds`, `val_loader = ' +
      'train_loader`, the training loader passed twice to `trainer.fit`) measures how well the model memorises, not how it ' +
      'generalises: validation loss keeps falling while the model overfits, so early stopping, checkpoint selection and the ' +
      'reported score are all meaningless. Use a held-out split. A validation loader built from the training dataset with ' +
      'its own sampler (an index split) is not reported.',
    wrong: 'model.fit(X_train, y_train, epochs=10, validation_data=(X_train, y_train))',
    right: 'model.fit(X_train, y_train, epochs=10, validation_data=(X_val, y_val))',
    concept: 'Generalisation: validation data must be held out from training',
    fixable: false,
  },
  nodeTypes: ['call', 'assignment'],
  local: ['imports'],
  visit(n, ctx) {
    if (n.type === 'assignment') {
      const left = n.child('left');
      const right = unparen(n.child('right'));
      if (!left || !right || left.type === 'subscript') return;
      if (!VAL_TARGET.test(nameOf(left) ?? '') && !(right.type === 'call' && (left.type === 'pattern_list' || VAL_METRIC.test(nameOf(left) ?? '')))) return;
      if (right.type === 'identifier' || right.type === 'attribute') {
        if (isTrain(right)) ctx.report({ node: n, message: `${left.text} is the training data (${right.text}): validation would measure memorisation. Use a held-out split.` });
        return;
      }
      // val_loss = evaluate(model, train_loader): a validation metric computed on the training loader
      const target = left.type === 'pattern_list' || left.type === 'tuple_pattern' ? left.namedChildren : [left];
      if (right.type === 'call' && target.every((t) => VAL_METRIC.test(nameOf(t) ?? '')) && target.length > 0) {
        const args = right.child('arguments')?.namedChildren.map((x) => (x.type === 'keyword_argument' ? x.child('value') : x)) ?? [];
        const trainArg = args.find((x) => x && TRAIN_LOADER.test(nameOf(x) ?? ''));
        if (trainArg && !args.some((x) => x && HELD_OUT.test(nameOf(x) ?? ''))) {
          ctx.report({ node: n, message: `${left.text} is computed on ${trainArg.text}: the validation metric measures the training data. Pass the validation loader.` });
        }
        return;
      }
      if (right.type === 'call' && /(^|\.)DataLoader$/.test(ctx.analysis.callee(right) ?? right.child('function')?.text ?? '')) {
        const ds = positionalArgs(right)[0] ?? keywordArg(right, 'dataset');
        if (keywordArg(right, 'sampler') || keywordArg(right, 'batch_sampler')) return;
        if (isTrain(ds) || trainTensors(ds, ds?.type === 'call' ? ctx.analysis.callee(ds) : undefined)) ctx.report({ node: n, message: `${left.text} loads the training dataset (${ds!.text}): validation would measure memorisation. Build it from a held-out split.` });
      }
      return;
    }
    const name = calleeName(n);
    if (name === 'fit') {
      const vd = unparen(keywordArg(n, 'validation_data'));
      if (vd && (vd.type === 'tuple' || vd.type === 'list')) {
        const x = positionalArgs(n)[0] ?? keywordArg(n, 'x');
        const vx = vd.namedChildren[0];
        if (vx && ((x && vx.text === x.text) || isTrain(vx))) {
          ctx.report({ node: vd, message: `validation_data is the training data (${vd.text}): validation metrics will track memorisation. Pass a held-out split.` });
          return;
        }
      }
      // Lightning: trainer.fit(model, train_loader, train_loader) / val_dataloaders=train_loader
      const args = positionalArgs(n);
      const train = args[1] ?? keywordArg(n, 'train_dataloaders');
      const val = args[2] ?? keywordArg(n, 'val_dataloaders');
      if (train && val && (val.text === train.text || isTrain(val)) && unparen(val)?.type !== 'tuple') {
        ctx.report({ node: val, message: `The validation loader is the training loader (${val.text}): validation would measure memorisation. Pass a held-out loader.` });
      }
      return;
    }
    // Hugging Face Trainer(...train_dataset=ds, eval_dataset=ds)
    const evalDs = keywordArg(n, 'eval_dataset');
    const trainDs = keywordArg(n, 'train_dataset');
    if (evalDs && trainDs && (evalDs.text === trainDs.text || isTrain(evalDs))) {
      ctx.report({ node: evalDs, message: `eval_dataset is the training dataset (${evalDs.text}): evaluation would measure memorisation. Pass a held-out split.` });
    }
  },
};
