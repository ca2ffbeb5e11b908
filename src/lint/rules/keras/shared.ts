// Helpers shared by the Keras rules.
import type { Analysis } from '../../analysis';
import type { PyNode } from '../../parser';
import type { RawFix } from '../../types';

/** Replaces a string literal's content, keeping its quotes. */
export function replaceString(node: PyNode | undefined, value: string, title: string): RawFix | undefined {
  if (node?.type !== 'string') return undefined;
  const m = /^([rRuU]?)(['"])(.*)\2$/s.exec(node.text);
  if (!m) return undefined;
  return { title, edits: [{ start: node.start, end: node.end, newText: `${m[1]}${m[2]}${value}${m[2]}` }] };
}

/** How this file spells `keras.losses` (`keras.losses`, `tf.keras.losses`, `losses`), for inserted code. */
export function lossesModule(a: Analysis): string | undefined {
  const direct = a.imports.localName('keras.losses') ?? a.imports.localName('tensorflow.keras.losses');
  if (direct) return direct;
  const keras = a.imports.localName('keras') ?? a.imports.localName('tensorflow.keras');
  if (keras) return `${keras}.losses`;
  const tf = a.imports.localName('tensorflow');
  return tf ? `${tf}.keras.losses` : undefined;
}

export const CROSSENTROPY = new Set(['categorical_crossentropy', 'sparse_categorical_crossentropy', 'binary_crossentropy']);
export const LOSS_CLASS: Record<string, string> = {
  categorical_crossentropy: 'CategoricalCrossentropy',
  sparse_categorical_crossentropy: 'SparseCategoricalCrossentropy',
  binary_crossentropy: 'BinaryCrossentropy',
};
