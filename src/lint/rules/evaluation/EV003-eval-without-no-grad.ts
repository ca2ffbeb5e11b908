import { evaluation } from '../../analysis/evaluation';
import { indentOf, lineStartIfAlone } from '../../analysis/training';
import type { PyNode } from '../../parser';
import type { RawFix, Rule, RuleContext } from '../../types';

/** The loop's first line, up to its iterable: where loop findings point. */
export function loopHeader(loop: PyNode): { start: number; end: number } {
  return { start: loop.start, end: (loop.child('right') ?? loop.child('condition') ?? loop).end };
}

function wrapInNoGrad(loop: PyNode, ctx: RuleContext): RawFix | undefined {
  const lineStart = lineStartIfAlone(loop);
  if (lineStart === undefined) return undefined;
  let multilineString = false;
  loop.walk((n) => {
    if (n.type === 'string' && n.text.includes('\n')) multilineString = true;
    return !multilineString;
  });
  if (multilineString) return undefined; // re-indenting would change the string
  const torch = ctx.analysis.imports.localName('torch') ?? 'torch';
  const indent = indentOf(loop);
  const unit = indent.includes('\t') ? '\t' : '    ';
  // One edit per line; the first line's extra indent goes with the inserted `with` line (one edit per offset).
  const edits = [{ start: lineStart, end: lineStart, newText: `${indent}with ${torch}.no_grad():\n${unit}` }];
  const src = ctx.source;
  const firstNl = src.indexOf('\n', lineStart);
  for (let i = firstNl + 1; firstNl !== -1 && i < loop.end; ) {
    const nl = src.indexOf('\n', i);
    const lineEnd = nl === -1 ? src.length : nl;
    if (src.slice(i, lineEnd).trim() !== '') edits.push({ start: i, end: i, newText: unit });
    if (nl === -1) break;
    i = nl + 1;
  }
  return { title: `Wrap the loop in \`with ${torch}.no_grad():\``, edits };
}

export const EV003: Rule = {
  meta: {
    id: 'EV003',
    name: 'eval-without-no-grad',
    group: 'evaluation',
    defaultSeverity: 'warning',
    summary: 'An evaluation loop runs the model outside torch.no_grad() / torch.inference_mode().',
    why:
      'Outside `torch.no_grad()` every forward pass records the autograd graph and keeps activations alive for a backward pass ' +
      'that never comes. Validation then uses several times the memory and time it needs and can run out of GPU memory with ' +
      'batch sizes that train fine. The numbers are unchanged; the cost is not. Also reported: `preds = model(X_test)` on a ' +
      'whole held-out tensor after the training loop, outside no_grad, and a held-out loop whose per-batch helper ' +
      '(`self.validation_step(x, y)`, a function of the file) runs the model. A helper that turns autograd off on one branch ' +
      "(`if mode == 'test': with torch.no_grad(): ...`, `torch.set_grad_enabled(is_train)`) is quiet when the loop's call " +
      'passes the value (or leaves the default) that selects it. A shape check on made-up tensors (`y = ' +
      'net(torch.randn(1, 3, 32, 32)); print(y.size())`) evaluates nothing and is not reported.',
    wrong: 'model.eval()\nfor x, y in val_loader:\n    out = model(x)',
    right: 'model.eval()\nwith torch.no_grad():\n    for x, y in val_loader:\n        out = model(x)',
    concept: 'Autograd: the computation graph is recorded only when gradients are needed',
    fixable: true,
  },
  check(ctx) {
    const ev = evaluation(ctx.analysis);
    for (const entry of ev.loops) {
      const { loop, forwards, fn } = entry;
      // A forward in a per-batch helper is under no_grad there, where the loop calls the helper, or in the branch the
      // call selects (`step(model, x, mode='test')`).
      if (forwards.every((f) => ev.gradOffFor(entry, f)) || ev.allCallersNoGrad(fn)) continue;
      const fix = ev.isNoGrad(loop) ? undefined : wrapInNoGrad(loop, ctx);
      ctx.report({
        ...loopHeader(loop),
        message: 'Evaluation loop runs the model with autograd on: wrap it in `with torch.no_grad():` (or inference_mode) to save memory and time.',
        fixes: fix ? [fix] : undefined,
      });
    }
    // `preds = model(X_test)` after training, with autograd on: the graph of the whole split is built for nothing.
    const reported = new Set<PyNode | undefined>();
    for (const f of ev.heldOutForwards) {
      if (f.afterTraining) {
        if (ev.allCallersNoGrad(f.fn)) continue;
        ctx.report({
          node: f.call,
          message: `${f.call.text} runs on the whole held-out split with autograd on: the graph of every sample is kept for a backward that never comes. Wrap it in \`with torch.no_grad():\`.`,
        });
      } else if (f.inEvalFunction) {
        // `def test(): out = model(data.x, data.edge_index)`: once per function.
        if (reported.has(f.fn) || ev.isNoGrad(f.call) || ev.allCallersNoGrad(f.fn)) continue;
        reported.add(f.fn);
        ctx.report({
          node: f.call,
          message: `${f.call.text} evaluates with autograd on: the graph is kept for a backward that never comes. Decorate the function with @torch.no_grad() (or wrap the forward in \`with torch.no_grad():\`).`,
        });
      }
    }
  },
};
