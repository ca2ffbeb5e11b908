import { callsWithin, keywordArg, positionalArgs, type Analysis, type ModuleClass } from '../../analysis';
import type { PyNode } from '../../parser';
import type { RawFix, Rule } from '../../types';

const WITH_BIAS = /^torch\.nn\.(Linear|Conv[123]d|ConvTranspose[123]d|LazyLinear|LazyConv[123]d)$/;
const BATCHNORM = /^torch\.nn\.(BatchNorm[123]d|SyncBatchNorm|LazyBatchNorm[123]d)$/;

/** The layer keeps its bias: no `bias=False` (and no positional bias, which is rare enough to skip). */
function biasLayer(a: Analysis, n: PyNode | undefined): boolean {
  if (n?.type !== 'call' || !WITH_BIAS.test(a.callee(n) ?? '')) return false;
  const bias = keywordArg(n, 'bias');
  const q = a.callee(n)!;
  const biasPos = q.includes('Linear') ? 2 : 7;
  return (!bias || bias.text === 'True') && positionalArgs(n).length <= biasPos;
}

function isBatchNorm(a: Analysis, n: PyNode | undefined): boolean {
  return n?.type === 'call' && BATCHNORM.test(a.callee(n) ?? '');
}

function biasFalse(layer: PyNode): RawFix | undefined {
  const bias = keywordArg(layer, 'bias');
  if (bias) return { title: 'Set bias=False', edits: [{ start: bias.start, end: bias.end, newText: 'False' }] };
  const last = layer.child('arguments')?.namedChildren.filter((c) => c.type !== 'comment').pop();
  return last ? { title: 'Set bias=False', edits: [{ start: last.end, end: last.end, newText: ', bias=False' }] } : undefined;
}

/** The layers of a module class whose output its forward passes straight to a BatchNorm layer, in the order found. */
function forwardBiasLayers(a: Analysis, m: ModuleClass): PyNode[] {
  const forward = m.forward!;
  const layerOf = (call: PyNode | undefined): PyNode | undefined => {
    const f = call?.type === 'call' ? call.child('function') : undefined;
    if (f?.type !== 'attribute' || f.child('object')?.text !== 'self') return undefined;
    return m.layers.get(f.child('attribute')?.text ?? '');
  };
  const found: PyNode[] = [];
  const check = (inner: PyNode | undefined, outer: PyNode | undefined) => {
    const l1 = layerOf(inner);
    const l2 = layerOf(outer);
    if (l1 && l2 && biasLayer(a, l1) && isBatchNorm(a, l2) && !found.includes(l1)) found.push(l1);
  };
  for (const call of callsWithin(forward)) check(positionalArgs(call)[0], call);
  const stmts = forward.child('body')?.namedChildren ?? [];
  for (let i = 0; i + 1 < stmts.length; i++) {
    const s1 = stmts[i]!.namedChildren[0];
    const s2 = stmts[i + 1]!.namedChildren[0];
    if (s1?.type !== 'assignment' || s2?.type !== 'assignment') continue;
    const v = s1.child('left')?.text;
    const next = s2.child('right');
    if (v && next?.type === 'call' && positionalArgs(next)[0]?.text === v) check(s1.child('right'), next);
  }
  return found;
}

const MESSAGE = 'This layer\'s bias is cancelled by the BatchNorm that follows (it subtracts the mean). Pass bias=False.';

export const AR001: Rule = {
  meta: {
    id: 'AR001',
    name: 'bias-before-batchnorm',
    group: 'architecture',
    defaultSeverity: 'info',
    summary: 'A Linear/Conv layer with a bias feeds straight into BatchNorm, which cancels the bias.',
    why:
      'BatchNorm subtracts the per-channel mean of its input, so a constant bias added just before it disappears: the ' +
      'parameters take memory and optimizer state, receive (near-)zero gradients and do nothing. BatchNorm has its own ' +
      'learnable shift (`beta`) that plays the bias role.',
    wrong: 'nn.Sequential(nn.Conv2d(3, 64, 3), nn.BatchNorm2d(64), nn.ReLU())',
    right: 'nn.Sequential(nn.Conv2d(3, 64, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU())',
    concept: 'Batch normalisation: normalising removes any constant offset',
    fixable: true,
  },
  check(ctx) {
    const a = ctx.analysis;
    const report = (layer: PyNode) => {
      const fix = biasFalse(layer);
      ctx.report({ node: layer, message: MESSAGE, fixes: fix ? [fix] : undefined });
    };
    // nn.Sequential(conv, bn, ...)
    for (const call of a.callsTo('torch.nn.Sequential')) {
      const args = positionalArgs(call);
      for (let i = 0; i + 1 < args.length; i++) if (biasLayer(a, args[i]) && isBatchNorm(a, args[i + 1])) report(args[i]!);
    }
    // forward: self.bn(self.conv(x)), or x = self.conv(x) followed by x = self.bn(x). Read from the class alone: kept
    // per statement between lints.
    for (const m of a.modules) {
      if (!m.forward) continue;
      for (const layer of a.perStatement(m.node, 'AR001-forward', () => forwardBiasLayers(a, m))) report(layer);
    }
  },
};
