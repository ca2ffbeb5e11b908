import { calleeName, keywordArg, positionalArgs, receiver, unparen, type Analysis } from '../../analysis';
import { sameScope, stringValue } from '../../analysis/runtime';
import type { PyNode } from '../../parser';
import type { RawFix, Rule, RuleContext } from '../../types';

// `X = df.drop(['Id'], axis=1)` next to `y = df['SalePrice']`: the features still hold the target column.

interface Drop {
  call: PyNode;
  /** The list (or string) of dropped column names. */
  cols: PyNode;
  names: string[];
}

/** `D.drop(cols, axis=1)`, `D.drop(columns=cols)`, `D.drop(labels=cols, axis='columns')`; not inplace. */
function columnDrop(call: PyNode): Drop | undefined {
  if (calleeName(call) !== 'drop' || keywordArg(call, 'inplace')?.text === 'True') return undefined;
  let cols = keywordArg(call, 'columns');
  if (!cols) {
    const axis = keywordArg(call, 'axis') ?? positionalArgs(call)[1];
    if (axis?.text !== '1' && stringValue(axis) !== 'columns') return undefined;
    cols = keywordArg(call, 'labels') ?? positionalArgs(call)[0];
  }
  const c = unparen(cols);
  if (!c) return undefined;
  const single = stringValue(c);
  if (single !== undefined) return { call, cols: c, names: [single] };
  if (c.type !== 'list' && c.type !== 'tuple') return undefined;
  const items = c.namedChildren.filter((x) => x.type !== 'comment');
  const names = items.map(stringValue);
  return names.every((n) => n !== undefined) ? { call, cols: c, names: names as string[] } : undefined;
}

/** What a target expression reads, past conversions: `np.log1p(D['T'])`, `D['T'].values`, `.to_numpy()` -> `D['T']`. Shared with DT018. */
export function unwrapTarget(a: Analysis, e: PyNode | undefined): PyNode | undefined {
  let x = unparen(e);
  for (let i = 0; i < 4 && x; i++) {
    if (x.type === 'call' && /^numpy\.(log1p|log|sqrt|array|asarray)$/.test(a.callee(x) ?? '')) x = unparen(positionalArgs(x)[0]);
    else if (x.type === 'call' && /^(to_numpy|ravel|astype|reshape)$/.test(calleeName(x) ?? '')) x = unparen(receiver(x));
    else if (x.type === 'attribute' && /^(values|array)$/.test(x.child('attribute')?.text ?? '')) x = unparen(x.child('object'));
    else break;
  }
  return x;
}

/** `D['T']`, `D['T'].values`, `np.log1p(D['T'])`, `D[['T']]`: the target column T of frame D. */
function targetColumn(a: Analysis, e: PyNode | undefined): { frame: PyNode; column: string } | undefined {
  const x = unwrapTarget(a, e);
  if (x?.type !== 'subscript') return undefined;
  const frame = x.child('value');
  let key = x.child('subscript');
  if (key?.type === 'list' && key.namedChildren.length === 1) key = key.namedChildren[0];
  const column = stringValue(key);
  return frame?.type === 'identifier' && column !== undefined ? { frame, column } : undefined;
}

/**
 * The assignment of the drop's result to a name, through conversions that keep the columns
 * (`X = df.drop(['Id'], axis=1).values.astype(np.float32)`): the name and the assigned value.
 */
function assigned(drop: PyNode): { name: string; value: PyNode } | undefined {
  let v = drop;
  for (;;) {
    const p = v.parent;
    if (p?.type === 'attribute' && p.child('object') === v && /^(values|to_numpy|astype|fillna|copy|to_frame)$/.test(p.child('attribute')?.text ?? '')) {
      v = p.parent?.type === 'call' && p.parent.child('function') === p ? p.parent : p;
      continue;
    }
    if (p?.type === 'parenthesized_expression') {
      v = p;
      continue;
    }
    const left = p?.type === 'assignment' && p.child('right') === v ? p.child('left') : undefined;
    return left?.type === 'identifier' ? { name: left.text, value: v } : undefined;
  }
}

/**
 * Some call passes both bindings as arguments (`train_test_split(X, y)`, `model.fit(X, y)`, `cross_val_score(m, X, y)`):
 * X still the dropped frame, y still the target column.
 */
function usedTogether(a: Analysis, xValue: PyNode, yValue: PyNode): boolean {
  for (const fname of ['train_test_split', 'fit', 'cross_val_score', 'cross_validate', 'split']) {
    for (const c of a.callsNamed(fname)) {
      const args = positionalArgs(c).map(unparen);
      const holds = (v: PyNode) => args.some((n) => n?.type === 'identifier' && a.scopes.valueAt(n.text, n) === v);
      if (holds(xValue) && holds(yValue)) return true;
    }
  }
  return false;
}

/** The file drops, pops or deletes the column somewhere else (`X = X.drop('T', axis=1)`, `del X['T']`). */
function removedElsewhere(a: Analysis, column: string, target: PyNode): boolean {
  for (const name of ['drop', 'pop']) {
    for (const c of a.callsNamed(name)) {
      if (c === target) continue;
      let hit = false;
      c.child('arguments')?.walk((n) => void (stringValue(n) === column && (hit = true)));
      if (hit) return true;
    }
  }
  return a.index.of('delete_statement').some((d) => d.text.includes(column));
}

function addColumnFix(drop: Drop, column: string): RawFix | undefined {
  const quote = drop.cols.type === 'string' ? drop.cols.text[0] : (drop.cols.namedChildren.find((c) => c.type === 'string')?.text[0] ?? "'");
  if (drop.cols.type === 'string') {
    return { title: `Drop '${column}' from the features too`, edits: [{ start: drop.cols.start, end: drop.cols.end, newText: `[${drop.cols.text}, ${quote}${column}${quote}]` }] };
  }
  const items = drop.cols.namedChildren.filter((c) => c.type !== 'comment');
  const last = items[items.length - 1];
  if (!last) return undefined;
  return { title: `Drop '${column}' from the features too`, edits: [{ start: last.end, end: last.end, newText: `, ${quote}${column}${quote}` }] };
}

export const DT013: Rule = {
  meta: {
    id: 'DT013',
    name: 'target-left-in-features',
    group: 'data',
    defaultSeverity: 'error',
    summary: 'The features are the frame minus some columns, but the target column is not one of them: the model sees the answer.',
    why:
      '`X = df.drop(["Id"], axis=1)` keeps every other column, the target included, while `y = df["SalePrice"]` takes ' +
      'the target from the same frame. The model then learns to copy one of its inputs: training and validation scores ' +
      'look perfect, and the model is useless on data without the answer (the test set of a competition, production). ' +
      'Drop the target column from the features as well.',
    wrong: 'import pandas as pd\ndf = pd.read_csv("train.csv")\nX = df.drop(["Id"], axis=1)\ny = df["SalePrice"]\nmodel.fit(X, y)',
    right: 'import pandas as pd\ndf = pd.read_csv("train.csv")\nX = df.drop(["Id", "SalePrice"], axis=1)\ny = df["SalePrice"]\nmodel.fit(X, y)',
    concept: 'Data leakage: the target must not be a feature',
    fixable: true,
  },
  check(ctx) {
    const a = ctx.analysis;
    for (const call of a.callsNamed('drop')) {
      const drop = columnDrop(call);
      const frame = receiver(call);
      const bound = drop ? assigned(call) : undefined;
      if (!drop || frame?.type !== 'identifier' || !bound) continue;
      const x = bound.name;
      const frameValue = a.scopes.valueAt(frame.text, call);
      // y = frame['T'] bound in the same scope, from the same binding of the frame.
      for (const asg of a.index.of('assignment')) {
        const right = asg.child('right');
        const left = asg.child('left');
        const t = targetColumn(a, right);
        if (!t || left?.type !== 'identifier' || t.frame.text !== frame.text || drop.names.includes(t.column)) continue;
        if (a.scopes.valueAt(frame.text, t.frame) !== frameValue) continue;
        if (!right || !usedTogether(a, bound.value, right)) continue;
        if (removedElsewhere(a, t.column, call)) continue;
        ctx.report({
          node: call,
          message: `${left.text} is ${frame.text}['${t.column}'] but ${x} = ${frame.text}.drop(...) keeps the '${t.column}' column: the model sees the answer. Drop '${t.column}' from ${x} too.`,
          fixes: (() => {
            const f = addColumnFix(drop, t.column);
            return f ? [f] : undefined;
          })(),
        });
        break;
      }
    }
    for (const pop of a.callsNamed('pop')) checkCopiedBeforePop(ctx, pop);
  },
};

// ---- `X = df[num_cols]` taken before `y = df.pop('T')`: the copy still holds the target ----

/** Methods and attributes that keep a frame's columns (`df[cols].fillna(0).astype(float)`). */
const KEEPS_COLUMNS = /^(fillna|astype|copy|to_numpy|dropna|reset_index|values|select_dtypes|replace|interpolate|abs|clip)$/;

/**
 * The frame a feature expression copies with all its columns (or a computed selection of them, `df[num_cols]`,
 * `df.select_dtypes('number')`): its identifier, or undefined. A literal list of columns is left alone.
 */
function copiedFrame(e: PyNode | undefined): PyNode | undefined {
  let x = unparen(e);
  // `X = df` is the same object: popping from df pops from X too
  for (let i = 0; i < 8 && x; i++) {
    if (x.type === 'identifier') return i > 0 ? x : undefined;
    if (x.type === 'call') {
      const f = x.child('function');
      const name = calleeName(x) ?? '';
      if (f?.type !== 'attribute' || !KEEPS_COLUMNS.test(name)) return undefined;
      // `select_dtypes(include='object')` keeps text columns only, not a numeric target
      if (name === 'select_dtypes' && /object|category|str/.test(x.child('arguments')?.text ?? '')) return undefined;
      x = unparen(receiver(x));
    } else if (x.type === 'attribute') {
      if (!KEEPS_COLUMNS.test(x.child('attribute')?.text ?? '')) return undefined;
      x = unparen(x.child('object'));
    } else if (x.type === 'subscript') {
      const key = x.child('subscript');
      // a computed column selection (a name, a comprehension), not literal column names nor one column
      if (!key || !/^(identifier|list_comprehension|attribute|call)$/.test(key.type)) return undefined;
      x = unparen(x.child('value'));
    } else return undefined;
  }
  return undefined;
}

/**
 * Names that hold data derived from `seeds` after `from` in the same scope: assignments whose value reads one of them
 * (`data_np = X.values`, `xs = [tf.constant(data_np)]`).
 */
function derivedNames(ctx: RuleContext, seeds: string[], from: PyNode): Set<string> {
  const out = new Set(seeds);
  for (const asg of ctx.analysis.index.of('assignment')) {
    const left = asg.child('left');
    const right = asg.child('right');
    if (asg.start < from.end || left?.type !== 'identifier' || !right || !sameScope(asg, from)) continue;
    let reads = false;
    right.walk((n) => {
      if (reads) return false;
      if (n.type === 'identifier' && out.has(n.text) && !(n.parent?.type === 'attribute' && n.parent.child('attribute') === n) && !(n.parent?.type === 'keyword_argument' && n.parent.child('name') === n)) reads = true;
      return undefined;
    });
    if (reads) out.add(left.text);
  }
  return out;
}

/** A call after `after` that passes a name of `xs` and a name of `ys` (directly or in a list) as arguments. */
function passedTogether(ctx: RuleContext, xs: Set<string>, ys: Set<string>, after: PyNode): PyNode | undefined {
  // the name an argument reads its rows from: `X`, `y.values`, `X.to_numpy()`, `[X]`
  const root = (n: PyNode | undefined): string | undefined => {
    let v = unparen(n);
    for (let i = 0; i < 6 && v; i++) {
      if (v.type === 'identifier') return v.text;
      if (v.type === 'attribute') v = unparen(v.child('object'));
      else if (v.type === 'call' && v.child('function')?.type === 'attribute' && positionalArgs(v).length === 0) v = unparen(v.child('function')?.child('object'));
      else return undefined;
    }
    return undefined;
  };
  const holds = (set: Set<string>, arg: PyNode | undefined): boolean => {
    const v = unparen(arg?.type === 'keyword_argument' ? arg.child('value') : arg);
    if (v?.type === 'list' || v?.type === 'tuple') return v.namedChildren.some((c) => set.has(root(c) ?? ''));
    return set.has(root(v) ?? '');
  };
  return ctx.nodesOfType('call').find((c) => {
    if (c.start < after.end) return false;
    const args = c.child('arguments')?.namedChildren ?? [];
    return args.some((arg) => holds(xs, arg)) && args.some((arg) => holds(ys, arg));
  });
}

/** `X = df[num_cols]...` then `y = df.pop('T')`, and X and y reach one call together: X still has the T column. */
function checkCopiedBeforePop(ctx: RuleContext, pop: PyNode): void {
  const a = ctx.analysis;
  const frame = receiver(pop);
  const column = stringValue(positionalArgs(pop)[0]);
  const target = assigned(pop);
  if (frame?.type !== 'identifier' || column === undefined || !target) return;
  const frameValue = a.scopes.valueAt(frame.text, pop);
  for (const asg of a.index.of('assignment')) {
    const left = asg.child('left');
    if (asg.end > pop.start || left?.type !== 'identifier' || !sameScope(asg, pop) || left.text === frame.text) continue;
    const copied = copiedFrame(asg.child('right'));
    if (copied?.text !== frame.text || a.scopes.valueAt(frame.text, copied) !== frameValue) continue;
    // the selection names the target (`[c for c in df.columns if c != 'price']`): it was thought of
    const selection = asg.child('right')?.text ?? '';
    const selectionValues = [...selection.matchAll(/\[(\w+)\]/g)].map((m) => a.scopes.valueAt(m[1]!, asg)?.text ?? '');
    if ([selection, ...selectionValues].some((t) => t.includes(`'${column}'`) || t.includes(`"${column}"`))) continue;
    const together = passedTogether(ctx, derivedNames(ctx, [left.text], asg), derivedNames(ctx, [target.name], pop), pop);
    if (!together) continue;
    const line = ctx.lines.position(pop.start).line + 1;
    ctx.report({
      node: asg,
      message: `${left.text} copies ${frame.text}'s columns before ${frame.text}.pop('${column}') (line ${line}), so it still holds the target '${column}': the model sees the answer. Pop the target first, then select the features.`,
    });
    return;
  }
}
