// Recognising a mixed-precision GradScaler and its scaled backward pass (TL019, TL021).
import { calleeName, keywordArg, receiver, unparen, type Analysis } from '../../analysis';
import { lastName, receiverValue } from '../../analysis/order';
import type { PyNode } from '../../parser';

/** A GradScaler class, however imported (`torch.cuda.amp.GradScaler`, `torch.amp.GradScaler`, FSDP's `ShardedGradScaler`). */
const GRAD_SCALER = /GradScaler$/;
/** Another kind of scaler class (sklearn's `StandardScaler`, `MinMaxScaler`): not a GradScaler. */
const OTHER_SCALER = /Scaler$/;

/**
 * Whether `x` (the receiver of `x.scale(loss)`) is an enabled GradScaler: from its value when the file shows it, else
 * its name. `GradScaler(enabled=False)` scales by nothing, so it is not one here.
 */
export function isGradScaler(a: Analysis, x: PyNode): boolean {
  const value = unparen(receiverValue(a, x));
  const verdict = value ? scalerValue(a, value) : undefined;
  return verdict ?? /scaler/i.test(lastName(x));
}

/** true / false when the value shows what it is; undefined when it does not (a factory, an attribute, None). */
function scalerValue(a: Analysis, value: PyNode): boolean | undefined {
  if (value.type === 'conditional_expression') {
    // `GradScaler() if amp else None`
    const verdicts = value.namedChildren.map((c) => scalerValue(a, unparen(c) ?? c));
    if (verdicts.includes(true)) return true;
    return verdicts.includes(false) ? false : undefined;
  }
  if (value.type !== 'call') return undefined;
  const q = a.callee(value);
  const text = value.child('function')?.text ?? '';
  if (GRAD_SCALER.test(q ?? '') || GRAD_SCALER.test(text)) return keywordArg(value, 'enabled')?.text !== 'False';
  if (q !== undefined || OTHER_SCALER.test(text)) return false;
  return undefined;
}

/** `X` of `X.scale(loss).backward()`, also `scaled = X.scale(loss)` ... `scaled.backward()`. */
export function scaledBackwardScaler(a: Analysis, backward: PyNode): PyNode | undefined {
  let r = unparen(receiver(backward));
  if (r?.type === 'identifier') r = unparen(a.scopes.valueAt(r.text, r) ?? undefined);
  if (r?.type !== 'call' || calleeName(r) !== 'scale') return undefined;
  return unparen(receiver(r));
}
