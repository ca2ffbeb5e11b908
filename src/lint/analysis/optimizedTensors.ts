// What an optimizer updates: a model's weights, or input tensors (an image being optimised in feature visualisation,
// deep dream, inversion, adversarial examples, style transfer). Learning-rate ranges and "this is training" both
// assume weights; gradient ascent on pixels uses rates (lr=12, lr=1e4) that would be absurd for weights.
import { calleeName, keywordArg, positionalArgs, unparen, type Analysis } from './index';
import type { PyNode } from '../parser';

/** A call that yields a module's parameters or builds one (`model.parameters()`, `nn.Parameter(...)`, `chain(...)`). */
const WEIGHTS_CALL = /^(parameters|named_parameters|Parameter|chain|filter)$/;

/**
 * The optimizer constructor's params argument is a list or tuple literal (or a name bound to one) none of whose
 * elements is known to hold weights: `Adam([image], lr=0.1)` with `image = preprocess(...)` or
 * `torch.randn(..., requires_grad=True)`. Anything else (`model.parameters()`, a parameter-group dict, an unknown
 * name) is not.
 */
export function optimizesInputTensors(call: PyNode, a: Analysis): boolean {
  let params = unparen(positionalArgs(call)[0] ?? keywordArg(call, 'params'));
  if (params?.type === 'identifier') params = unparen(a.scopes.valueAt(params.text, params) ?? undefined);
  if (params?.type !== 'list' && params?.type !== 'tuple') return false;
  const elements = params.namedChildren.filter((c) => c.type !== 'comment');
  return elements.length > 0 && !elements.some((e) => holdsWeights(e, a, 0));
}

/** The expression is, or may be, a module's weights: parameters, a parameter group, an `nn.Parameter`, a module. */
function holdsWeights(node: PyNode, a: Analysis, depth: number): boolean {
  const n = unparen(node);
  if (!n || depth > 3) return true;
  switch (n.type) {
    // `self.image = None` in `__init__`, before the tensor is made.
    case 'none':
      return false;
    case 'dictionary':
    case 'list_splat':
    case 'dictionary_splat':
      return true;
    case 'call': {
      const name = calleeName(n) ?? '';
      if (WEIGHTS_CALL.test(name)) return true;
      // `torch.randn(...).requires_grad_()`, `Variable(x, requires_grad=True)`, `preprocess(img)`: a tensor; a module
      // class of the file (`Net()`) is a module.
      return a.moduleClass(name, n) !== undefined;
    }
    case 'identifier': {
      const value = a.scopes.valueAt(n.text, n);
      // A parameter of the enclosing function, or a name bound in ways the scopes do not follow: could be anything.
      return value === undefined || value === null || holdsWeights(value, a, depth + 1);
    }
    case 'attribute': {
      const values = selfAttributeValues(n, a);
      return values === undefined || values.length === 0 || values.some((v) => holdsWeights(v, a, depth + 1));
    }
    default:
      return true;
  }
}

/** `self.x` inside a class: every value assigned to `self.x` in its methods; undefined for any other attribute. */
function selfAttributeValues(attr: PyNode, a: Analysis): PyNode[] | undefined {
  const obj = attr.child('object');
  const name = attr.child('attribute')?.text;
  if (obj?.type !== 'identifier' || obj.text !== 'self' || !name) return undefined;
  let cls: PyNode | null = attr.parent;
  while (cls && cls.type !== 'class_definition') cls = cls.parent;
  return cls ? a.scopes.selfAttr(cls, name) : undefined;
}
