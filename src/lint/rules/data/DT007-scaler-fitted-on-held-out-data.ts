import { calleeName, positionalArgs, receiver } from '../../analysis';
import type { Rule } from '../../types';
import { rootName, scalerOf } from './DT003-scaler-fit-before-split';

/** Names of held-out arrays: X_test, x_val, test_df, validation_data, X_test_scaled (never anything with "train"). */
const HELD_OUT = /(^|_)(test|val|valid|validation|holdout)(_|$)/i;

export const DT007: Rule = {
  meta: {
    id: 'DT007',
    name: 'scaler-fitted-on-held-out-data',
    group: 'data',
    defaultSeverity: 'error',
    summary: '`scaler.fit_transform(X_test)` fits the scaler again on the test data instead of reusing the training fit.',
    why:
      'A scaler (StandardScaler, MinMaxScaler, an imputer...) learns statistics when it is fitted: means, spreads, ' +
      'ranges. Fitted on the training data, it must only `transform` the validation and test data, so that every split ' +
      'is scaled the same way. `fit_transform(X_test)` refits it on the test set: the test data is scaled with its ' +
      'own statistics (a leak of test information, and a different scaling from the one the model was trained on), and ' +
      'the training fit is lost for later use. The score looks fine and means little.',
    wrong: 'from sklearn.preprocessing import StandardScaler\nscaler = StandardScaler()\nX_train = scaler.fit_transform(X_train)\nX_test = scaler.fit_transform(X_test)',
    right: 'from sklearn.preprocessing import StandardScaler\nscaler = StandardScaler()\nX_train = scaler.fit_transform(X_train)\nX_test = scaler.transform(X_test)',
    concept: 'Data leakage: fit on training data only',
    fixable: true,
  },
  nodeTypes: ['call'],
  local: ['imports', 'scopes'],
  visit(call, ctx) {
    const method = calleeName(call);
    if (method !== 'fit_transform' && method !== 'fit') return;
    const data = positionalArgs(call)[0];
    const name = rootName(data);
    if (!name || !HELD_OUT.test(name) || /train/i.test(name)) return;
    const scaler = scalerOf(receiver(call), ctx);
    if (!scaler) return;
    const attr = call.child('function')?.child('attribute');
    ctx.report({
      node: call,
      message: `${scaler} is fitted on ${name}: held-out data must only be transformed with the fit from the training data. Use .transform(${data!.text}).`,
      fixes: method === 'fit_transform' && attr ? [{ title: 'Use transform (keep the training fit)', edits: [{ start: attr.start, end: attr.end, newText: 'transform' }] }] : undefined,
    });
  },
};
