import { calleeName, keywordArg, positionalArgs, receiver, type Analysis } from '../../analysis';
import type { PyNode } from '../../parser';
import type { Rule, RuleContext } from '../../types';
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
      'the training fit is lost for later use. The score looks fine and means little. The same holds for a helper that ' +
      'builds a new scaler and fits it on its data argument (`def preprocess(df): return MinMaxScaler().fit_transform(df)`) ' +
      'when the file calls it on held-out data; calls made item by item (per-sample normalisation) are left alone.',
    wrong: 'from sklearn.preprocessing import StandardScaler\nscaler = StandardScaler()\nX_train = scaler.fit_transform(X_train)\nX_test = scaler.fit_transform(X_test)',
    right: 'from sklearn.preprocessing import StandardScaler\nscaler = StandardScaler()\nX_train = scaler.fit_transform(X_train)\nX_test = scaler.transform(X_test)',
    concept: 'Data leakage: fit on training data only',
    fixable: true,
  },
  nodeTypes: ['call'],
  // The fit of a scaler, read from its statement; whether a helper's data parameter receives held-out data reads the
  // helper's call sites.
  candidate: { reads: ['imports', 'scopes'], test: (call, ctx) => fittedScaler(call, ctx) !== undefined },
  visit(call, ctx) {
    const scaler = fittedScaler(call, ctx);
    if (!scaler) return;
    const data = positionalArgs(call)[0];
    const name = rootName(data);
    if (!name) return;
    if (!HELD_OUT.test(name) || /train/i.test(name)) {
      reportHelperFit(call, name, scaler, ctx);
      return;
    }
    const attr = call.child('function')?.child('attribute');
    ctx.report({
      node: call,
      message: `${scaler} is fitted on ${name}: held-out data must only be transformed with the fit from the training data. Use .transform(${data!.text}).`,
      fixes: calleeName(call) === 'fit_transform' && attr ? [{ title: 'Use transform (keep the training fit)', edits: [{ start: attr.start, end: attr.end, newText: 'transform' }] }] : undefined,
    });
  },
};

/** `<scaler>.fit(X)` / `.fit_transform(X)` on a scaler the code builds: the scaler's class name. */
function fittedScaler(call: PyNode, ctx: RuleContext): string | undefined {
  const method = calleeName(call);
  if (method !== 'fit_transform' && method !== 'fit') return undefined;
  return scalerOf(receiver(call), ctx);
}

/**
 * A helper that builds a fresh scaler and fits it on its own data parameter (`def preprocess(df): ... return
 * MinMaxScaler().fit_transform(df)`), called on held-out data (`test = preprocess(test)`): the held-out split is scaled
 * with its own statistics. Calls made item by item (in a loop or a comprehension) normalise each sample on its own and
 * are left alone.
 */
function reportHelperFit(call: PyNode, name: string, scaler: string, ctx: RuleContext): void {
  const a = ctx.analysis;
  const fn = call.ancestor('function_definition');
  if (!fn || fn.ancestor('class_definition') || !builtIn(receiver(call), fn, a) || conditional(call, fn)) return;
  const fnName = fn.child('name')?.text;
  const params = (fn.child('parameters')?.namedChildren ?? []).filter((p) => p.type !== 'comment');
  const index = params.findIndex((p) => (p.type === 'identifier' ? p : p.child('name') ?? p.namedChildren[0])?.text === name);
  if (!fnName || index < 0 || params.slice(0, index).some((p) => /splat|separator/.test(p.type))) return;
  for (const site of a.callsNamed(fnName)) {
    if (site.child('function')?.type !== 'identifier' || (site.start >= fn.start && site.end <= fn.end) || perItem(site)) continue;
    const arg = positionalArgs(site)[index] ?? keywordArg(site, name);
    const held = rootName(arg);
    if (!held || !HELD_OUT.test(held) || /train/i.test(held)) continue;
    const line = ctx.lines.position(site.start).line + 1;
    ctx.report({
      node: call,
      message: `${fnName}() fits a new ${scaler} on each call, and line ${line} calls it on ${held}: held-out data is scaled with its own statistics. Fit once on the training data and only transform the rest.`,
    });
    return;
  }
}

/** The scaler is built in the helper itself (inline, or a name bound there): every call fits a new one. */
function builtIn(recv: PyNode | undefined, fn: PyNode, a: Analysis): boolean {
  const v = recv?.type === 'identifier' ? a.scopes.valueAt(recv.text, recv) : recv;
  return v?.type === 'call' && v.start >= fn.start && v.end <= fn.end;
}

/** The fit runs only on some calls (`if scaler is None: scaler = MinMaxScaler().fit(df)`): a fit passed in is reused. */
function conditional(call: PyNode, fn: PyNode): boolean {
  for (let p = call.parent; p && p !== fn; p = p.parent) if (/^(if_statement|conditional_expression|try_statement|for_statement|while_statement)$/.test(p.type)) return true;
  return false;
}

/** The call runs once per item: inside a loop or a comprehension of its own function. */
function perItem(site: PyNode): boolean {
  for (let p = site.parent; p && p.type !== 'function_definition' && p.type !== 'module'; p = p.parent) {
    if (/^(for_statement|while_statement|list_comprehension|generator_expression|dictionary_comprehension|set_comprehension|lambda)$/.test(p.type)) return true;
  }
  return false;
}
