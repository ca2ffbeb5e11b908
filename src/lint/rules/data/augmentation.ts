// Random (training-time) augmentations in torchvision transform pipelines: shared by DT008 and DT010.
import { calleeName, unparen, type Analysis } from '../../analysis';
import type { PyNode } from '../../parser';

// torchvision (v1 and v2) transforms that change an image at random: training-time augmentation.
export const AUGMENT = /^(Random\w+|ColorJitter|AutoAugment|RandAugment|TrivialAugmentWide|AugMix|ElasticTransform|GaussianBlur|MixUp|CutMix)$/;

/** An expression, or the value of the name it is, one step back. */
export function valueOf(a: Analysis, n: PyNode | undefined): PyNode | undefined {
  const e = unparen(n);
  return e?.type === 'identifier' ? (unparen(a.scopes.valueAt(e.text, e) ?? undefined) ?? e) : e;
}

/** The random augmentations inside a transform pipeline (`Compose([...])`, or one transform). */
export function augmentations(pipeline: PyNode | undefined): string[] {
  const found: string[] = [];
  pipeline?.walk((n) => {
    if (n.type === 'call') {
      const name = calleeName(n);
      if (name && AUGMENT.test(name) && !found.includes(name)) found.push(name);
    }
  });
  return found;
}
