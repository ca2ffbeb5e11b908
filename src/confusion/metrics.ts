// Confusion matrix arithmetic shared by the host (evaluation, CSV export) and the webview (metrics table, orders,
// difference view). Plain TypeScript, no vscode, no DOM. A matrix is a flat n*n row-major array: row = true class,
// column = predicted class, so counts[t * n + p] = samples of class t predicted as p.
// Definitions follow scikit-learn's confusion_matrix / classification_report with zero_division=0, checked against it
// in python/tests (a metric whose denominator is 0 is 0).

export interface ClassMetrics {
  index: number;
  label: string;
  precision: number;
  recall: number;
  f1: number;
  /** Samples whose true class is this one (row sum). */
  support: number;
  /** Samples predicted as this class (column sum). */
  predicted: number;
}

export interface ConfusionSummary {
  n: number;
  total: number;
  accuracy: number;
  classes: ClassMetrics[];
  macro: { precision: number; recall: number; f1: number };
  weighted: { precision: number; recall: number; f1: number };
}

export interface ConfusedPair {
  trueIndex: number;
  predIndex: number;
  count: number;
  /** count / support of the true class: the share of that class sent to the wrong one. */
  rate: number;
}

export type Normalization = 'counts' | 'row' | 'column';
export type ClassOrderKind = 'index' | 'name' | 'clustered';

/** Counts (true, predicted) pairs. Throws a RangeError naming the first sample whose label is not in 0..n-1. */
export function confusionFromPredictions(yTrue: ArrayLike<number>, yPred: ArrayLike<number>, n: number): Float64Array {
  if (yTrue.length !== yPred.length) {
    throw new RangeError(`${yTrue.length} true labels but ${yPred.length} predictions: they must be the same length`);
  }
  const out = new Float64Array(n * n);
  for (let i = 0; i < yTrue.length; i++) {
    const t = yTrue[i] as number;
    const p = yPred[i] as number;
    if (!(Number.isInteger(t) && t >= 0 && t < n)) throw new RangeError(`sample ${i}: true label ${t} is not a class index in 0..${n - 1}`);
    if (!(Number.isInteger(p) && p >= 0 && p < n)) throw new RangeError(`sample ${i}: predicted class ${p} is not a class index in 0..${n - 1}`);
    out[t * n + p]! += 1;
  }
  return out;
}

export function rowSums(counts: ArrayLike<number>, n: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    const base = i * n;
    for (let j = 0; j < n; j++) s += counts[base + j] as number;
    out[i] = s;
  }
  return out;
}

export function columnSums(counts: ArrayLike<number>, n: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const base = i * n;
    for (let j = 0; j < n; j++) out[j]! += counts[base + j] as number;
  }
  return out;
}

const safeDiv = (a: number, b: number): number => (b > 0 ? a / b : 0);

export function summarizeConfusion(counts: ArrayLike<number>, n: number, labels: readonly string[]): ConfusionSummary {
  if (counts.length !== n * n) throw new RangeError(`a ${n}-class matrix has ${n * n} cells, got ${counts.length}`);
  const support = rowSums(counts, n);
  const predicted = columnSums(counts, n);
  let total = 0;
  let correct = 0;
  const classes: ClassMetrics[] = [];
  const macro = { precision: 0, recall: 0, f1: 0 };
  const weighted = { precision: 0, recall: 0, f1: 0 };
  for (let i = 0; i < n; i++) {
    const tp = counts[i * n + i] as number;
    const s = support[i]!;
    const p = predicted[i]!;
    total += s;
    correct += tp;
    const precision = safeDiv(tp, p);
    const recall = safeDiv(tp, s);
    // 2tp / (2tp + fp + fn) is sklearn's formula; it equals the harmonic mean whenever both are defined.
    const f1 = safeDiv(2 * tp, s + p);
    classes.push({ index: i, label: labels[i] ?? String(i), precision, recall, f1, support: s, predicted: p });
    macro.precision += precision;
    macro.recall += recall;
    macro.f1 += f1;
    weighted.precision += precision * s;
    weighted.recall += recall * s;
    weighted.f1 += f1 * s;
  }
  for (const k of ['precision', 'recall', 'f1'] as const) {
    macro[k] = safeDiv(macro[k], n);
    weighted[k] = safeDiv(weighted[k], total);
  }
  return { n, total, accuracy: safeDiv(correct, total), classes, macro, weighted };
}

/**
 * The k largest off-diagonal cells, largest count first (ties: larger rate, then lower true, then lower predicted
 * index). A size-k min-heap keeps this O(n^2 log k) at 1000 classes.
 */
export function mostConfusedPairs(counts: ArrayLike<number>, n: number, k: number): ConfusedPair[] {
  if (k <= 0) return [];
  const support = rowSums(counts, n);
  const heap: ConfusedPair[] = [];
  // "a is worse than b" = a should come later in the result; the heap's root is the worst kept pair.
  const later = (a: ConfusedPair, b: ConfusedPair): boolean =>
    a.count !== b.count ? a.count < b.count
      : a.rate !== b.rate ? a.rate < b.rate
        : a.trueIndex !== b.trueIndex ? a.trueIndex > b.trueIndex
          : a.predIndex > b.predIndex;
  const siftDown = (i: number): void => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && later(heap[l]!, heap[m]!)) m = l;
      if (r < heap.length && later(heap[r]!, heap[m]!)) m = r;
      if (m === i) return;
      [heap[i], heap[m]] = [heap[m]!, heap[i]!];
      i = m;
    }
  };
  for (let t = 0; t < n; t++) {
    for (let p = 0; p < n; p++) {
      if (t === p) continue;
      const count = counts[t * n + p] as number;
      if (!(count > 0)) continue;
      const pair = { trueIndex: t, predIndex: p, count, rate: safeDiv(count, support[t]!) };
      if (heap.length < k) {
        heap.push(pair);
        for (let i = heap.length - 1; i > 0;) {
          const parent = (i - 1) >> 1;
          if (!later(heap[i]!, heap[parent]!)) break;
          [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
          i = parent;
        }
      } else if (later(heap[0]!, pair)) {
        heap[0] = pair;
        siftDown(0);
      }
    }
  }
  return heap.sort((a, b) => (later(a, b) ? 1 : later(b, a) ? -1 : 0));
}

/** Row-normalised = share of each true class (the diagonal is recall); column-normalised = share of each prediction
 * (the diagonal is precision). Empty rows/columns stay 0. */
export function normalize(counts: ArrayLike<number>, n: number, mode: Normalization): Float64Array {
  const out = Float64Array.from(counts as ArrayLike<number>);
  if (mode === 'counts') return out;
  const sums = mode === 'row' ? rowSums(counts, n) : columnSums(counts, n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) out[i * n + j] = safeDiv(out[i * n + j]!, sums[mode === 'row' ? i : j]!);
  }
  return out;
}

export const rowNormalize = (counts: ArrayLike<number>, n: number): Float64Array => normalize(counts, n, 'row');
export const columnNormalize = (counts: ArrayLike<number>, n: number): Float64Array => normalize(counts, n, 'column');

/**
 * a - b after normalising each per row, so runs with different sample counts compare: a cell of +0.1 means class t
 * went to p ten points more often in a than in b. Positive on the diagonal = a is better at that class.
 */
export function differenceMatrix(a: ArrayLike<number>, b: ArrayLike<number>, n: number): Float64Array {
  if (a.length !== n * n || b.length !== n * n) throw new RangeError(`both matrices must be ${n} x ${n}`);
  const ra = rowNormalize(a, n);
  const rb = rowNormalize(b, n);
  for (let i = 0; i < ra.length; i++) ra[i] = ra[i]! - rb[i]!;
  return ra;
}

/**
 * Re-indexes a matrix written with `fromLabels` into the order of `toLabels` (by name), so two runs whose class lists
 * differ in order compare cell by cell. Classes missing from `from` are zero rows/columns; extra ones are dropped.
 */
export function alignToLabels(counts: ArrayLike<number>, fromLabels: readonly string[], toLabels: readonly string[]): Float64Array {
  const m = fromLabels.length;
  const n = toLabels.length;
  const where = new Map<string, number>();
  fromLabels.forEach((l, i) => { if (!where.has(l)) where.set(l, i); });
  const src = toLabels.map((l) => where.get(l) ?? -1);
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const si = src[i]!;
    if (si < 0) continue;
    for (let j = 0; j < n; j++) {
      const sj = src[j]!;
      if (sj >= 0) out[i * n + j] = counts[si * m + sj] as number;
    }
  }
  return out;
}

// ---------------------------------------------------------------- class orders (a permutation: position -> class)

export function indexOrder(n: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  return out;
}

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });

export function nameOrder(labels: readonly string[]): Int32Array {
  const idx = Array.from(labels, (_, i) => i);
  idx.sort((a, b) => collator.compare(labels[a]!, labels[b]!) || a - b);
  return Int32Array.from(idx);
}

/**
 * Orders classes so those confused with each other sit together: average-linkage agglomerative clustering on the
 * symmetrised, row-normalised off-diagonal confusions (s(i,j) = rate(i->j) + rate(j->i)), run with the
 * nearest-neighbour-chain algorithm (O(n^2) time, one n*n similarity array), and each merge flips its two halves so
 * the most similar end classes touch. Groups that are never confused with anything keep index order.
 */
export function clusteredOrder(counts: ArrayLike<number>, n: number): Int32Array {
  if (n <= 2) return indexOrder(n);
  const support = rowSums(counts, n);
  const sim = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const s = safeDiv(counts[i * n + j] as number, support[i]!) + safeDiv(counts[j * n + i] as number, support[j]!);
      sim[i * n + j] = s;
      sim[j * n + i] = s;
    }
  }
  // Class-to-class similarity stays untouched for the leaf flips; `linkage` holds cluster-to-cluster averages.
  const linkage = Float64Array.from(sim);
  const size = new Int32Array(n).fill(1);
  const active = new Uint8Array(n).fill(1);
  const members: number[][] = Array.from({ length: n }, (_, i) => [i]);
  const done: number[][] = [];
  let remaining = n;
  const chain: number[] = [];
  const nearest = (a: number, prefer: number): [number, number] => {
    let best = -1;
    let bestSim = 0;
    const base = a * n;
    for (let k = 0; k < n; k++) {
      if (k === a || !active[k]) continue;
      const s = linkage[base + k]!;
      // Ties go to the previous chain element (the algorithm needs that to terminate), then to the lower index.
      if (s > bestSim || (s === bestSim && s > 0 && k === prefer)) {
        best = k;
        bestSim = s;
      }
    }
    return [best, bestSim];
  };
  while (remaining > 0) {
    if (chain.length === 0) {
      let start = 0;
      while (!active[start]) start++;
      chain.push(start);
    }
    const a = chain[chain.length - 1]!;
    const prev = chain.length > 1 ? chain[chain.length - 2]! : -1;
    const [b] = nearest(a, prev);
    if (b < 0) {
      // Nothing left is confused with this cluster: it is final (average linkage never raises a zero similarity).
      chain.pop();
      active[a] = 0;
      remaining--;
      done.push(members[a]!);
      continue;
    }
    if (b !== prev) {
      chain.push(b);
      continue;
    }
    chain.pop();
    chain.pop();
    // Merge b into a: Lance–Williams update for average linkage.
    const sa = size[a]!;
    const sb = size[b]!;
    for (let k = 0; k < n; k++) {
      if (!active[k] || k === a || k === b) continue;
      const v = (sa * linkage[a * n + k]! + sb * linkage[b * n + k]!) / (sa + sb);
      linkage[a * n + k] = v;
      linkage[k * n + a] = v;
    }
    size[a] = sa + sb;
    active[b] = 0;
    remaining--;
    members[a] = joinFacing(members[a]!, members[b]!, sim, n);
    members[b] = [];
  }
  done.sort((x, y) => Math.min(...x) - Math.min(...y));
  const out = new Int32Array(n);
  let pos = 0;
  for (const group of done) for (const c of group) out[pos++] = c;
  return out;
}

/** Concatenates two orders in whichever of the four orientations puts the most similar end classes side by side. */
function joinFacing(x: number[], y: number[], sim: Float64Array, n: number): number[] {
  const xs = x[0]!;
  const xe = x[x.length - 1]!;
  const ys = y[0]!;
  const ye = y[y.length - 1]!;
  const options: Array<[number, () => number[]]> = [
    [sim[xe * n + ys]!, () => x.concat(y)],
    [sim[xe * n + ye]!, () => x.concat(y.slice().reverse())],
    [sim[xs * n + ys]!, () => x.slice().reverse().concat(y)],
    [sim[xs * n + ye]!, () => y.concat(x)],
  ];
  let best = options[0]!;
  for (const o of options) if (o[0] > best[0]) best = o;
  return best[1]();
}

export function classOrder(kind: ClassOrderKind, counts: ArrayLike<number>, n: number, labels: readonly string[]): Int32Array {
  switch (kind) {
    case 'name': return nameOrder(labels);
    case 'clustered': return clusteredOrder(counts, n);
    default: return indexOrder(n);
  }
}

/** Applies a class order to a matrix: out[r * n + c] = m[order[r] * n + order[c]]. */
export function permute(m: ArrayLike<number>, n: number, order: ArrayLike<number>): Float64Array {
  const out = new Float64Array(n * n);
  for (let r = 0; r < n; r++) {
    const base = (order[r] as number) * n;
    for (let c = 0; c < n; c++) out[r * n + c] = m[base + (order[c] as number)] as number;
  }
  return out;
}
