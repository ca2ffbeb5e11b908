// Random (training-time) augmentations in torchvision transform pipelines: shared by DT008 and DT010.
import { calleeName, unparen, type Analysis } from '../../analysis';
import type { PyNode } from '../../parser';

// Transforms that change an image at random, training-time augmentation: torchvision (v1 and v2), MONAI's `Rand*`
// (RandFlipd, RandRotate90d, RandAffined...) and albumentations' flips and distortions (random with their default p).
export const AUGMENT =
  /^(Random\w+|Rand[A-Z]\w*|ColorJitter|AutoAugment|TrivialAugmentWide|AugMix|ElasticTransform|GaussianBlur|MixUp|CutMix|HorizontalFlip|VerticalFlip|ShiftScaleRotate|HueSaturationValue|CoarseDropout|GridDistortion|OpticalDistortion|RGBShift|ChannelShuffle)$/;

/** An expression, or the value of the name it is (through aliases: `val_tf = train_tf`, a few steps back). */
export function valueOf(a: Analysis, n: PyNode | undefined): PyNode | undefined {
  let e = unparen(n);
  for (let hops = 0; e?.type === 'identifier' && hops < 4; hops++) {
    const v = unparen(a.scopes.valueAt(e.text, e) ?? undefined);
    if (!v) break;
    e = v;
  }
  return e;
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
