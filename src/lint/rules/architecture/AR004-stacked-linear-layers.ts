import { keywordArg, positionalArgs, unparen } from '../../analysis';
import { kerasModels } from '../../analysis/keras';
import { loopBuiltSequentials, type Appended } from '../../analysis/layerLists';
import { biasOff, previousExcept, type LayerStep } from '../../analysis/layers';
import type { PyNode } from '../../parser';
import type { Rule, RuleContext } from '../../types';
import { nnName, stepsOfKind } from './shared';

/** Low-rank factorisations (LoRA, bottleneck projections) stack linear maps on purpose: they drop the bias. */
const DELIBERATE = /lora|rank|factor|proj|adapter|down|up_/i;

/**
 * `Linear(in, out)` widths as written (keyword or position). Undefined when the layer is not a plain Linear call.
 */
function widths(s: LayerStep): { in: PyNode; out: PyNode } | undefined {
  const l = s.layer;
  if (s.kind !== 'linear' || l?.type !== 'call' || hasSplat(l)) return undefined;
  const pos = positionalArgs(l);
  const i = unparen(keywordArg(l, 'in_features') ?? pos[0]);
  const o = unparen(keywordArg(l, 'out_features') ?? pos[1]);
  return i && o ? { in: i, out: o } : undefined;
}

/** The operator token of a binary expression (the parse tree gives it no field). */
function operator(e: PyNode): string {
  return e.children.find((c) => c.field !== 'left' && c.field !== 'right' && c.type !== 'comment')?.type ?? '';
}

function hasSplat(call: PyNode): boolean {
  return call.child('arguments')?.namedChildren.some((c) => c.type === 'list_splat' || c.type === 'dictionary_splat') ?? false;
}

/**
 * Whether width `x` is evidently at least `y`: the same expression, larger literals, or `k * y` / `y * k` for k >= 1
 * (`4 * d` vs `d`); `y // k` / `y / k` is at most `y`.
 */
function atLeast(x: PyNode, y: PyNode, depth = 0): boolean {
  const [a, b] = [unparen(x), unparen(y)];
  if (!a || !b || depth > 4) return false;
  if (a.text.replace(/\s+/g, '') === b.text.replace(/\s+/g, '')) return true;
  if (a.type === 'integer' && b.type === 'integer') return Number(a.text) >= Number(b.text);
  const [l, r] = [unparen(a.child('left')), unparen(a.child('right'))];
  if (a.type === 'binary_operator' && operator(a) === '*' && l && r) {
    return (l.type === 'integer' && Number(l.text) >= 1 && atLeast(r, b, depth + 1)) || (r.type === 'integer' && Number(r.text) >= 1 && atLeast(l, b, depth + 1));
  }
  const [bl, br] = [unparen(b.child('left')), unparen(b.child('right'))];
  if (b.type === 'binary_operator' && /^\/\/?$/.test(operator(b)) && bl && br?.type === 'integer' && Number(br.text) >= 1) return atLeast(a, bl, depth + 1);
  return false;
}

/**
 * Two bias-free Linear layers are a low-rank factorisation only when the width between them can be smaller than both
 * ends. `Linear(c, c, bias=False)` then `Linear(c, c, bias=False)`, or an expansion `c -> 4c -> c`, has no such
 * bottleneck: the pair is one c x c map, however the bias is set.
 */
function noBottleneck(s: LayerStep, p: LayerStep): boolean {
  const [w1, w2] = [widths(p), widths(s)];
  if (!w1 || !w2) return false;
  const mid = w1.out;
  return atLeast(mid, w1.in) && atLeast(w2.in, w2.out) && atLeast(w2.in, mid) && atLeast(mid, w2.in);
}

function grouped(s: LayerStep): boolean {
  return s.layer !== undefined && keywordArg(s.layer, 'groups') !== undefined;
}

function deliberate(s: LayerStep): boolean {
  if (biasOff(s.layer)) return true;
  if (s.layer && keywordArg(s.layer, 'groups')) return true; // depthwise + pointwise: separable convolution
  return DELIBERATE.test(s.attr ?? '');
}

/**
 * Not two separate blocks: two different `nn.Sequential` literals (nested ones are one block), or layers applied in
 * the forwards of two different classes. Across two sub-modules (`self.decoder(self.encoder(x))`, an encoder ending in
 * Conv2d and a decoder starting with ConvTranspose2d) the linear junction is a deliberate bottleneck more often than a
 * forgotten activation.
 */
function sameBlock(s: LayerStep, p: LayerStep): boolean {
  const x = s.container;
  const y = p.container;
  if (x && y) return x === y || contains(x, y) || contains(y, x);
  if (x || y) return true;
  return s.site.ancestor('class_definition') === p.site.ancestor('class_definition');
}

function contains(outer: PyNode, inner: PyNode): boolean {
  return outer.start <= inner.start && inner.end <= outer.end;
}

export const AR004: Rule = {
  meta: {
    id: 'AR004',
    name: 'stacked-linear-layers',
    group: 'architecture',
    defaultSeverity: 'info',
    summary: 'Two Linear (or Conv) layers follow each other with no non-linearity between them.',
    why:
      'A composition of linear maps is one linear map: `W2 @ (W1 @ x + b1) + b2` is `W @ x + b`. Without an activation ' +
      '(ReLU, GELU, Tanh, ...) between them the two layers can represent nothing that a single layer could not, so the ' +
      'extra depth adds parameters and compute but no capacity. Usually an activation was forgotten. Bias-free pairs ' +
      '(`bias=False`) are left alone as low-rank factorisations, unless their widths leave no bottleneck: ' +
      '`fc2(fc1(x))` with `Linear(c, c, bias=False)` twice, or `c -> 4 * c -> c`, is one c x c map. Layers nested in ' +
      'a larger expression of forward are followed too (`x = self.fc2(self.fc1(x)) + x`).',
    wrong: 'mlp = nn.Sequential(nn.Linear(784, 256), nn.Linear(256, 10))',
    right: 'mlp = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))',
    concept: 'Non-linearities: depth only helps with an activation between layers',
    fixable: true,
  },
  check(ctx) {
    const a = ctx.analysis;
    const reported = new Set<number>();
    for (const s of stepsOfKind(a, ['linear', 'conv'])) {
      if (s.kind !== 'linear' && s.kind !== 'conv') continue;
      const p = previousExcept(s, ['dropout']);
      if (!p || p.kind !== s.kind || !sameBlock(s, p)) continue;
      // Bias-free layers (low-rank factorisations) are deliberate, unless their widths leave no bottleneck.
      if ((deliberate(s) || deliberate(p)) && !(noBottleneck(s, p) && !DELIBERATE.test(s.attr ?? '') && !DELIBERATE.test(p.attr ?? '') && !grouped(s) && !grouped(p))) continue;
      if (reported.has(s.site.start)) continue;
      reported.add(s.site.start);
      const what = s.kind === 'linear' ? 'Linear' : 'Conv';
      const inSeq = s.container && s.container === p.container;
      ctx.report({
        node: s.site,
        message: `This ${what} layer directly follows another ${what} with no activation between them, so together they are one linear map. Insert a non-linearity such as ReLU.`,
        fixes: inSeq ? [{ title: `Insert ${nnName(a)}.ReLU() before this layer`, edits: [{ start: s.site.start, end: s.site.start, newText: `${nnName(a)}.ReLU(), ` }] }] : undefined,
      });
    }
    reportLoopBuilt(ctx);
    // Keras: a Dense with no activation (linear) feeding another Dense, Dropout aside.
    for (const m of kerasModels(a).models) {
      const L = m.layers;
      for (let i = 1; i < L.length; i++) {
        if (L[i]!.kind !== 'dense' || !L[i]!.call) continue;
        let j = i - 1;
        while (j >= 0 && L[j]!.kind === 'dropout') j--;
        const p = L[j];
        if (!p || p.kind !== 'dense' || p.activation !== null || !p.call) continue;
        const act = keywordArg(p.call, 'activation');
        const args = p.call.child('arguments');
        const last = args?.namedChildren.filter((c) => c.type !== 'comment').pop();
        const edit = act ? { start: act.start, end: act.end, newText: '"relu"' } : last ? { start: last.end, end: last.end, newText: ', activation="relu"' } : undefined;
        ctx.report({
          node: L[i]!.call!,
          message: 'This Dense layer follows a Dense layer with no activation, so together they are one linear map. Give the previous layer an activation such as "relu".',
          fixes: edit ? [{ title: 'Add activation="relu" to the previous Dense', edits: [edit] }] : undefined,
        });
      }
    }
  },
};

/**
 * `for ...: layers.append(nn.Linear(...))` then `nn.Sequential(*layers)`: when every path through one iteration appends
 * only Linear layers (or only Conv layers; Dropout aside), consecutive iterations stack them with nothing between. An
 * activation appended under a condition that is false here (`if act is not None` with `act` None) does not count.
 */
function reportLoopBuilt(ctx: RuleContext): void {
  for (const built of loopBuiltSequentials(ctx.analysis)) {
    const layers = built.paths.map((p) => p.filter((x) => x.kind !== 'dropout'));
    const first = layers.find((p) => p.length)?.[0];
    if (!first || (first.kind !== 'linear' && first.kind !== 'conv')) continue;
    const all = layers.flat();
    if (!all.every((x: Appended) => x.kind === first.kind && x.layer && !biasOff(x.layer) && !keywordArg(x.layer, 'groups'))) continue;
    const what = first.kind === 'linear' ? 'Linear' : 'Conv';
    const none = built.pruned.length ? ` (${built.pruned.join(', ')} here)` : '';
    ctx.report({
      node: first.node,
      message: `Each pass of this loop appends a ${what} layer and no activation${none}, so the nn.Sequential built from the list stacks ${what} layers into one linear map. Append a non-linearity such as ReLU after each hidden layer.`,
    });
  }
}
