import { hasKeywordSplat, keywordArg, positionalArgs, type Analysis } from '../../analysis';
import type { PyNode } from '../../parser';
import type { RawFix, Rule } from '../../types';

interface Replacement {
  use: string;
  /** Exact rewrite of the call, or undefined when the new API differs (argument order, return type). */
  fix?: (call: PyNode, torch: string) => string | undefined;
  note?: string;
}

const argsText = (call: PyNode) => {
  const args = call.child('arguments');
  return args ? args.text.slice(1, -1).trim() : '';
};
const onlyArgs = (call: PyNode, n: number) => positionalArgs(call).length === n && !call.child('arguments')?.children.some((c) => c.type === 'keyword_argument' || c.type === 'list_splat' || c.type === 'dictionary_splat');
const onlyKeywords = (call: PyNode) => positionalArgs(call).length === 0 && !hasKeywordSplat(call);
const withDevice = (call: PyNode, torch: string, fn: string) => {
  if (!onlyKeywords(call)) return undefined;
  const rest = argsText(call);
  return `${torch}.amp.${fn}("cuda"${rest ? `, ${rest}` : ''})`;
};

const REMOVED: Record<string, Replacement> = {
  'torch.solve': { use: 'torch.linalg.solve(A, B)', note: 'the arguments are swapped and it returns only the solution' },
  'torch.symeig': { use: 'torch.linalg.eigh', note: 'it always returns eigenvectors; use torch.linalg.eigvalsh for values only' },
  'torch.lstsq': { use: 'torch.linalg.lstsq(A, B)', note: 'the arguments are swapped' },
  'torch.eig': { use: 'torch.linalg.eig', note: 'it returns complex eigenvalues and eigenvectors' },
  'torch.matrix_rank': { use: 'torch.linalg.matrix_rank', fix: (c, t) => (onlyArgs(c, 1) ? `${t}.linalg.matrix_rank(${argsText(c)})` : undefined) },
  'torch.cholesky': { use: 'torch.linalg.cholesky', fix: (c, t) => (onlyArgs(c, 1) ? `${t}.linalg.cholesky(${argsText(c)})` : undefined) },
  'torch.qr': { use: 'torch.linalg.qr', fix: (c, t) => (onlyArgs(c, 1) ? `${t}.linalg.qr(${argsText(c)})` : undefined) },
  'torch.chain_matmul': {
    use: 'torch.linalg.multi_dot([...])',
    fix: (c, t) => (positionalArgs(c).length >= 2 && onlyArgs(c, positionalArgs(c).length) ? `${t}.linalg.multi_dot([${argsText(c)}])` : undefined),
  },
  'torch.range': { use: 'torch.arange', note: 'torch.range includes the end point and returns floats; torch.arange(start, end + 1) excludes it' },
  'torch.cuda.amp.autocast': { use: 'torch.amp.autocast("cuda", ...)', fix: (c, t) => withDevice(c, t, 'autocast') },
  'torch.cuda.amp.GradScaler': { use: 'torch.amp.GradScaler("cuda", ...)', fix: (c, t) => withDevice(c, t, 'GradScaler') },
  'torch.nn.functional.sigmoid': { use: 'torch.sigmoid', fix: (c, t) => renamed(c, `${t}.sigmoid`) },
  'torch.nn.functional.tanh': { use: 'torch.tanh', fix: (c, t) => renamed(c, `${t}.tanh`) },
  'torch.nn.functional.upsample': { use: 'torch.nn.functional.interpolate', fix: (c) => renamedAttr(c, 'interpolate') },
  'torch.nn.utils.clip_grad_norm': { use: 'torch.nn.utils.clip_grad_norm_', fix: (c) => renamedAttr(c, 'clip_grad_norm_') },
  'torch.nn.utils.clip_grad_value': { use: 'torch.nn.utils.clip_grad_value_', fix: (c) => renamedAttr(c, 'clip_grad_value_') },
};

// The non-in-place initialisers (`nn.init.xavier_uniform`) are deprecated aliases of the `_` versions.
for (const f of ['uniform', 'normal', 'constant', 'xavier_uniform', 'xavier_normal', 'kaiming_uniform', 'kaiming_normal', 'orthogonal', 'sparse', 'eye', 'dirac']) {
  REMOVED[`torch.nn.init.${f}`] = { use: `torch.nn.init.${f}_`, fix: (c) => renamedAttr(c, `${f}_`) };
}

/** The call with its callee replaced by `name` (same arguments). */
function renamed(call: PyNode, name: string): string | undefined {
  const args = call.child('arguments');
  return args ? `${name}${args.text}` : undefined;
}

/** The call with the last part of a dotted callee renamed (`nn.init.xavier_uniform` -> `nn.init.xavier_uniform_`). */
function renamedAttr(call: PyNode, attr: string): string | undefined {
  const fn = call.child('function');
  if (fn?.type !== 'attribute') return undefined;
  return renamed(call, `${fn.child('object')!.text}.${attr}`);
}

/** torchvision builders whose legacy `pretrained=True` weights are exactly `IMAGENET1K_V1`. */
const IMAGENET_V1 = /^(resnet(18|34|50|101|152)|resnext50_32x4d|wide_resnet(50|101)_2|vgg(11|13|16|19)(_bn)?|alexnet|densenet(121|161|169|201)|mobilenet_v2|mobilenet_v3_(large|small)|efficientnet_b[0-7]|squeezenet1_[01]|googlenet|inception_v3|shufflenet_v2_x(0_5|1_0))$/;

/** A condition about the library's version: `_TORCHVISION_LESS_THAN_0_13`, `version.parse(torch.__version__) < ...`. */
const VERSION_TEST = /version|less_than|greater_than|_(lt|le|gt|ge)_|_older|_newer/i;
/** A condition about whether the new API exists: `hasattr(torch, "amp")`. */
const FEATURE_TEST = /\b(hasattr|getattr)\s*\(/;
/** Handlers that catch an API missing from the installed version. */
const MISSING_API = /\b(AttributeError|ImportError|ModuleNotFoundError|TypeError)\b/;

/**
 * The call sits in code written for older versions: a branch of an `if` / conditional expression that tests the
 * version (either branch), the fallback branch of a feature test (`else` of `if hasattr(torch, "amp"):`), or an
 * `except AttributeError/ImportError/TypeError` handler whose `try` calls the replacement (`uses`).
 */
function versionGuarded(call: PyNode, uses: (n: PyNode) => boolean): boolean {
  for (let p: PyNode = call; p.parent; p = p.parent) {
    const parent = p.parent;
    if (parent.type === 'if_statement' || parent.type === 'elif_clause' || parent.type === 'conditional_expression') {
      const cond = parent.type === 'conditional_expression' ? parent.namedChildren[1] : parent.child('condition');
      if (!cond || cond === p) continue;
      if (VERSION_TEST.test(cond.text)) return true;
      const inTrueBranch = parent.type === 'conditional_expression' ? parent.namedChildren[0] === p : parent.child('consequence') === p;
      const negated = /^not\b/.test(cond.text.trim());
      if (FEATURE_TEST.test(cond.text) && inTrueBranch === negated) return true;
    }
    if (parent.type === 'except_clause' && MISSING_API.test(parent.namedChildren[0]?.text ?? '') && p !== parent.namedChildren[0]) {
      const body = parent.parent?.type === 'try_statement' ? parent.parent.child('body') : undefined;
      if (body && someNode(body, uses)) return true;
    }
  }
  return false;
}

function someNode(n: PyNode, test: (n: PyNode) => boolean): boolean {
  return test(n) || n.namedChildren.some((c) => someNode(c, test));
}

function torchName(a: Analysis, fn: PyNode): string | undefined {
  let n: PyNode | undefined = fn;
  while (n?.type === 'attribute') n = n.child('object');
  if (n?.type === 'identifier' && fn.type === 'attribute' && a.qname(n) === 'torch') return n.text;
  return a.imports.localName('torch');
}

export const API004: Rule = {
  meta: {
    id: 'API004',
    name: 'removed-torch-api',
    group: 'deprecated-api',
    defaultSeverity: 'info',
    summary: 'A PyTorch / torchvision function that is removed or deprecated is used.',
    why:
      'Several functions were removed in PyTorch 1.13–2.x (`torch.solve`, `torch.symeig`, `torch.lstsq`, `torch.eig`, ' +
      '`torch.matrix_rank`) and crash with an AttributeError on current versions; others are deprecated and warn ' +
      '(`torch.chain_matmul`, `torch.range`, `torch.cholesky`, `torch.qr`, `torch.cuda.amp.autocast`/`GradScaler`, ' +
      '`F.sigmoid`/`F.tanh`, `F.upsample`, `clip_grad_norm` without the underscore, `nn.init.xavier_uniform` and the other ' +
      'non-underscore initialisers, ' +
      'torchvision\'s `pretrained=`). Their replacements sometimes differ in argument order or end point, so each ' +
      'message says what changes; fixes are offered only where the rewrite is exact. Code written for older versions is ' +
      'not reported: a branch that tests the version (`if _TORCHVISION_LESS_THAN_0_13:`), the fallback of ' +
      '`if hasattr(torch, ...)`, or an `except AttributeError`/`ImportError`/`TypeError` whose `try` uses the replacement.',
    wrong: 'scaler = torch.cuda.amp.GradScaler()',
    right: 'scaler = torch.amp.GradScaler("cuda")',
    concept: 'Library versions: keeping training code runnable on current PyTorch',
    fixable: true,
  },
  nodeTypes: ['call'],
  local: ['imports'],
  visit(call, ctx) {
    const a = ctx.analysis;
    const fn = call.child('function');
    const q = a.callee(call);
    if (!fn || !q) return;
    const r = REMOVED[q];
    if (r) {
      const replacement = r.use.replace(/\(.*$/, '');
      if (versionGuarded(call, (n) => n.type === 'call' && a.callee(n) === replacement)) return;
      const torch = torchName(a, fn);
      const text = torch && r.fix ? r.fix(call, torch) : undefined;
      const fix: RawFix | undefined = text ? { title: `Use ${r.use.replace(/\(.*$/, '')}`, edits: [{ start: call.start, end: call.end, newText: text }] } : undefined;
      ctx.report({ node: fn, message: `\`${q}\` is removed or deprecated; use \`${r.use}\`${r.note ? ` (${r.note})` : ''}.`, fixes: fix ? [fix] : undefined });
      return;
    }
    if (!q.startsWith('torchvision.models.')) return;
    const pre = keywordArg(call, 'pretrained');
    if (!pre || keywordArg(call, 'weights')) return;
    if (versionGuarded(call, (n) => n.type === 'keyword_argument' && n.child('name')?.text === 'weights')) return;
    const kw = pre.parent!;
    const builder = q.slice('torchvision.models.'.length);
    let newText: string | undefined;
    if (pre.text === 'False') newText = 'weights=None';
    else if (pre.text === 'True' && IMAGENET_V1.test(builder)) newText = 'weights="IMAGENET1K_V1"';
    ctx.report({
      node: kw,
      message: '`pretrained=` is deprecated in torchvision (removal announced); pass `weights=` (e.g. `weights="DEFAULT"`, or `weights=None` for random init).',
      fixes: newText ? [{ title: `Use ${newText}`, edits: [{ start: kw.start, end: kw.end, newText }] }] : undefined,
    });
  },
};
