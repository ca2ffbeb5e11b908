import { hasKeywordSplat, keywordArg, positionalArgs, type Analysis } from '../../analysis';
import { runsOnlyWithCuda } from '../../analysis/cudaRequired';
import { parameterArguments } from '../../analysis/parameters';
import { assignedTarget, lastArgument, runtimeFacts, stringValue } from '../../analysis/runtime';
import type { PyNode } from '../../parser';
import type { Rule, RuleContext } from '../../types';

/** Inside the true branch of `if torch.cuda.is_available():` (a GPU is there). */
function underCudaCheck(n: PyNode): boolean {
  for (let p = n.parent; p; p = p.parent) {
    if (p.type === 'function_definition') return false;
    const parent = p.parent;
    if (parent?.type === 'if_statement' && parent.child('consequence') === p && /is_available\(\)/.test(parent.child('condition')?.text ?? '')) {
      return !/^not\b/.test(parent.child('condition')!.text.trim());
    }
    if (parent?.type === 'conditional_expression' && parent.namedChildren[0] === p && /is_available\(\)/.test(parent.namedChildren[1]?.text ?? '')) return true;
  }
  return false;
}

/** Loading from an in-memory buffer or from what this file just saved in the same process (devices match). */
function inMemoryRoundTrip(call: PyNode, ctx: RuleContext): boolean {
  const src = positionalArgs(call)[0] ?? keywordArg(call, 'f');
  if (!src) return false;
  let v: PyNode | null | undefined = src;
  if (src.type === 'identifier') v = ctx.analysis.scopes.valueAt(src.text, src) ?? src;
  if (v.type === 'call' && /^io\.BytesIO$/.test(ctx.analysis.callee(v) ?? '')) return true;
  return ctx.nodesOfType('call').some((c) => {
    if (ctx.analysis.callee(c) !== 'torch.save') return false;
    const dest = positionalArgs(c)[1] ?? keywordArg(c, 'f');
    if (!dest) return false;
    // One fixed file written and read by this code (an LR finder's `init_params.pt`, saved in `__init__` and loaded in
    // another method): the checkpoint comes from this run, on this machine, wherever the two calls are.
    if (samePath(dest, src, ctx)) return true;
    return dest.text === src.text && c.start < call.start && sameFunction(c, call);
  });
}

/** Two path expressions naming one fixed file: equal string literals (no f-string), or one module-level constant holding one. */
function samePath(x: PyNode, y: PyNode, ctx: RuleContext): boolean {
  const fixed = (n: PyNode): string | undefined => {
    if (n.type === 'identifier') {
      const v = ctx.analysis.scopes.valueAt(n.text, n);
      // Only a name the module binds once: its value is the same wherever it is read.
      if (!v || ctx.analysis.scopes.valueAt(n.text, ctx.root) !== v) return undefined;
      n = v;
    }
    return stringValue(n);
  };
  const a = fixed(x);
  return a !== undefined && a === fixed(y);
}

/** What a data file is called: a dataset, a vocabulary, PyG's processed files, torchtext fields, a corpus. */
const DATA_FILE = /dataset|vocab|processed|fields|corpus/i;
/** What a checkpoint is called: whatever else the path says, these hold module or optimizer tensors. */
const CHECKPOINT_FILE = /model|ckpt|checkpoint|weight|state|net\b|snapshot|pretrain|optim|param|best|epoch|resume/i;

/**
 * The load reads a preprocessed data file, not a checkpoint: its path (the name's value, or the arguments of every
 * call site when the path is a parameter) or the name the result is assigned to says dataset / vocab / processed /
 * fields / corpus, and nothing says model or checkpoint. Data files are written by CPU preprocessing.
 */
function loadsDataFile(call: PyNode, ctx: RuleContext): boolean {
  const src = positionalArgs(call)[0] ?? keywordArg(call, 'f');
  if (!src) return false;
  const texts = [src.text];
  if (src.type === 'identifier') {
    const v = ctx.analysis.scopes.valueAt(src.text, src);
    if (v) texts.push(v.text);
    else if (v === null) texts.push(...(parameterArguments(ctx.analysis, src) ?? []).map((arg) => arg.text));
  }
  const target = assignedTarget(call);
  if (target?.type === 'identifier') texts.push(target.text);
  if (texts.some((t) => CHECKPOINT_FILE.test(t))) return false;
  return texts.some((t) => DATA_FILE.test(t));
}

/**
 * The file saves data to the same collection of paths the call loads from (`torch.save(data, self.processed_paths[i])`
 * and `torch.load(self.processed_paths[idx])`), data that was not moved to a GPU nor taken from a module.
 */
function savedFromCpuData(call: PyNode, ctx: RuleContext): boolean {
  const collection = (n: PyNode | undefined) => (n?.type === 'subscript' ? n.child('value')?.text : undefined);
  const loaded = collection(positionalArgs(call)[0] ?? keywordArg(call, 'f'));
  if (!loaded) return false;
  return ctx.analysis.callsTo('torch.save').some((c) => {
    if (collection(positionalArgs(c)[1] ?? keywordArg(c, 'f')) !== loaded) return false;
    const saved = positionalArgs(c)[0] ?? keywordArg(c, 'obj');
    const v = saved?.type === 'identifier' ? ctx.analysis.scopes.valueAt(saved.text, saved) : saved;
    const text = `${saved?.text ?? ''} ${v?.text ?? ''}`;
    return saved !== undefined && !/\.(cuda|to)\(|state_dict|model|net\b|device/i.test(text);
  });
}

function sameFunction(x: PyNode, y: PyNode): boolean {
  return x.ancestor('function_definition') === y.ancestor('function_definition');
}

/**
 * The last argument of a `torch.load(path)` call without `map_location` (nor `**kwargs`, nor a second positional
 * argument): where the fix appends it.
 */
function loadWithoutMapLocation(call: PyNode, a: Analysis): PyNode | undefined {
  if (a.callee(call) !== 'torch.load') return undefined;
  if (keywordArg(call, 'map_location') || hasKeywordSplat(call) || positionalArgs(call).length > 1) return undefined;
  return lastArgument(call);
}

export const DV002: Rule = {
  meta: {
    id: 'DV002',
    name: 'torch-load-without-map-location',
    group: 'device',
    defaultSeverity: 'info',
    summary: '`torch.load` without `map_location` in code written to also run on CPU.',
    why:
      'A checkpoint remembers the device each tensor was saved from. Loading a GPU-saved checkpoint with `torch.load(path)` on a ' +
      'machine without CUDA raises "Attempting to deserialize object on a CUDA device" - exactly the machine that a CPU ' +
      'fallback (`"cuda" if torch.cuda.is_available() else "cpu"`) was written for. `map_location=device` (or `"cpu"`) loads ' +
      'the tensors where the code will use them. Reported only in files that select the device with such a fallback, since ' +
      'elsewhere the device the checkpoint comes from is unknown; calls under `if torch.cuda.is_available():` are not reported, ' +
      'nor those after code that refuses to run without CUDA (`assert torch.cuda.is_available()`, or `if not ' +
      'torch.cuda.is_available(): raise ...` / `sys.exit(...)`, earlier in the same function or at module level), nor a load of a fixed path the file itself saves ' +
      'to (`torch.save(..., "init.pt")` and `torch.load("init.pt")`: a round trip within one run). Loads of preprocessed ' +
      'data files are left alone too: a path or result named dataset / vocab / processed / fields / corpus (and not model or ' +
      'checkpoint), or a path of the collection the file itself saves CPU data to (`self.processed_paths[i]`).',
    wrong: 'device = torch.device("cuda" if torch.cuda.is_available() else "cpu")\nstate = torch.load("ckpt.pt", weights_only=True)',
    right: 'device = torch.device("cuda" if torch.cuda.is_available() else "cpu")\nstate = torch.load("ckpt.pt", map_location=device, weights_only=True)',
    concept: 'Devices: tensors live on a device, checkpoints remember it',
    fixable: true,
  },
  nodeTypes: ['call'],
  // torch.load calls that could take map_location; the CPU fallback and the branches around them read the whole file.
  candidate: { reads: ['imports'], test: (call, ctx) => loadWithoutMapLocation(call, ctx.analysis) !== undefined },
  visit(call, ctx) {
    const last = loadWithoutMapLocation(call, ctx.analysis);
    if (!last) return;
    if (!runtimeFacts(ctx.analysis).availabilityCheck || underCudaCheck(call) || runsOnlyWithCuda(call, ctx.analysis, ctx.root)) return;
    if (inMemoryRoundTrip(call, ctx) || loadsDataFile(call, ctx) || savedFromCpuData(call, ctx)) return;
    // a `device` name visible here (assigned, or a parameter) is where the code wants its tensors
    const target = ctx.analysis.scopes.valueAt('device', call) !== undefined ? 'device' : '"cpu"';
    ctx.report({
      node: call,
      message: `torch.load without map_location fails on a CPU-only machine when the checkpoint was saved from GPU: pass map_location=${target}.`,
      fixes: [{ title: `Add map_location=${target}`, edits: [{ start: last.end, end: last.end, newText: `, map_location=${target}` }] }],
    });
  },
};
