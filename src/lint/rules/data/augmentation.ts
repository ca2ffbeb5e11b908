// Random (training-time) augmentations in torchvision transform pipelines: shared by DT008 and DT010.
import { calleeName, unparen, type Analysis } from '../../analysis';
import { fileFunctionOf } from '../../analysis/calls';
import { listItems } from '../../analysis/listBuilds';
import { methodsOf } from '../../analysis/modules';
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

/**
 * The same, also through a list the pipeline is given by name and that is built step by step
 * (`tfs = []; tfs.append(RandomResizedCrop(224)); Compose(tfs)`): the items every path adds.
 */
export function pipelineAugmentations(a: Analysis, pipeline: PyNode | undefined): string[] {
  const found = augmentations(pipeline);
  if (pipeline?.type !== 'call') return found;
  for (const arg of pipeline.child('arguments')?.namedChildren ?? []) {
    const list = unparen(arg.type === 'keyword_argument' ? arg.child('value') : arg);
    if (list?.type !== 'identifier') continue;
    for (const { item, conditional } of listItems(a, list) ?? []) {
      if (conditional) continue;
      for (const name of augmentations(valueOf(a, item))) if (!found.includes(name)) found.push(name);
    }
  }
  return found;
}

/** Keywords that select the training variant of a transform builder: `train=True`, `is_train=True`, `mode="train"`. */
const TRAIN_FLAG = /^(is_)?train(ing)?$/;
const TRAIN_MODE = /^(mode|split|stage|phase)$/;

/**
 * Whether a transform built by a class or function of the file is its training variant: the name it is passed under
 * or the builder's name says train (`train_transform`, `TrainAugment(...)`), or the call selects it (`train=True`,
 * `mode="train"`).
 */
export function saysTraining(passed: PyNode | undefined, ctor: PyNode): boolean {
  const p = unparen(passed);
  if (p?.type === 'identifier' && /train/i.test(p.text)) return true;
  if (/train/i.test(calleeName(ctor) ?? '')) return true;
  for (const arg of ctor.child('arguments')?.namedChildren ?? []) {
    if (arg.type !== 'keyword_argument') continue;
    const key = arg.child('name')?.text ?? '';
    const value = arg.child('value')?.text ?? '';
    if ((TRAIN_FLAG.test(key) && value === 'True') || (TRAIN_MODE.test(key) && /^['"]train(ing)?['"]$/.test(value))) return true;
  }
  return false;
}

/**
 * The random augmentations a transform class or builder function of the file sets up: `MyAugment(...)` whose
 * `__init__` / `__call__` builds `RandomResizedCrop`..., or `get_transform(train=True)` whose body does.
 */
export function builderAugmentations(a: Analysis, call: PyNode): string[] {
  const f = call.child('function');
  if (f?.type === 'identifier' && a.definesClass(f.text)) {
    const classes = a.index.of('class_definition').filter((c) => c.child('name')?.text === f.text);
    if (classes.length !== 1) return [];
    const methods = methodsOf(classes[0]!).filter((m) => /^(__init__|__call__|forward)$/.test(m.child('name')?.text ?? ''));
    return [...new Set(methods.flatMap((m) => augmentations(m.child('body'))))];
  }
  const fn = fileFunctionOf(call, a);
  return fn ? augmentations(fn.child('body')) : [];
}
