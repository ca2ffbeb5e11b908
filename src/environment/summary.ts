// One-line summaries of a snapshot for notifications and the log. Pure.
import type { EnvironmentSnapshot } from '../protocol/environment';
import { describeGpuReading } from './format';

export function summarize(s: EnvironmentSnapshot): string {
  const p = s.probe;
  if (p.status !== 'ok') return 'Python could not be checked.';
  const parts = [`Python ${p.report.python.version}`];
  const t = p.report.torch;
  if (t) {
    parts.push(`PyTorch ${t.version}`);
    if (t.cudaAvailable) parts.push(`CUDA ${t.cudaBuild ?? t.hipBuild} on ${t.devices.length} device${t.devices.length === 1 ? '' : 's'}`);
    else if (t.mps.available) parts.push('Apple MPS');
    else parts.push('CPU only');
  } else parts.push('no PyTorch');
  parts.push(describeGpuReading(s.gpus));
  return parts.join(', ');
}
