// Everything about one cell or class in words: the hover tooltip, the most-confused pairs list and the samples
// behind a clicked cell (from an evaluation's per-sample predictions, with thumbnails the host reads on request).
import type { ConfusedPair } from '../../src/confusion/metrics';
import type { ConfusionSamples, SampleThumbnail } from '../../src/protocol/confusion';
import { h } from '../common/dom';
import { pct } from './table';

export const MAX_LISTED_SAMPLES = 200;
export const THUMBNAILS_PER_REQUEST = 48;

export function showTooltip(tip: HTMLElement, lines: [string, string][], clientX: number, clientY: number): void {
  tip.replaceChildren(...lines.map(([k, v]) => h('div', {}, h('span', { class: 'muted' }, `${k} `), v)));
  tip.hidden = false;
  const pad = 14;
  const w = tip.offsetWidth;
  const hgt = tip.offsetHeight;
  const left = clientX + pad + w > window.innerWidth ? clientX - pad - w : clientX + pad;
  const top = clientY + pad + hgt > window.innerHeight ? clientY - pad - hgt : clientY + pad;
  tip.style.left = `${Math.max(0, left)}px`;
  tip.style.top = `${Math.max(0, top)}px`;
}

export function renderPairs(list: HTMLElement, pairs: ConfusedPair[], labels: readonly string[], onPick: (p: ConfusedPair) => void): void {
  if (pairs.length === 0) {
    list.replaceChildren(h('li', { class: 'muted' }, 'No confusions: every sample is on the diagonal.'));
    return;
  }
  list.replaceChildren(...pairs.map((p) => {
    const b = h('button', { class: 'pair', title: `Show ${labels[p.trueIndex]} predicted as ${labels[p.predIndex]}` },
      h('span', { class: 'pair-labels' }, `${labels[p.trueIndex]} → ${labels[p.predIndex]}`),
      h('span', { class: 'pair-count' }, `${p.count} (${pct(p.rate)})`));
    b.addEventListener('click', () => onPick(p));
    return h('li', {}, b);
  }));
}

export interface SampleListHandlers {
  requestThumbnails(indices: number[]): void;
  open(index: number): void;
}

/** Lists the samples of true class t predicted as p, the most confident first. Returns the indices shown. */
export function renderSamples(box: HTMLElement, samples: ConfusionSamples | undefined, t: number, p: number, heading: string, handlers: SampleListHandlers): number[] {
  if (!samples) {
    box.replaceChildren(h('p', { class: 'muted' }, `${heading}. Per-sample data comes with evaluations (Descent: Evaluate Model); a run's logged matrix has counts only.`));
    return [];
  }
  const hits: number[] = [];
  for (let i = 0; i < samples.yTrue.length; i++) if (samples.yTrue[i] === t && samples.yPred[i] === p) hits.push(i);
  const conf = samples.confidence;
  if (conf) hits.sort((a, b) => (conf[b] ?? 0) - (conf[a] ?? 0) || a - b);
  const shown = hits.slice(0, MAX_LISTED_SAMPLES);
  const more = hits.length > shown.length ? ` (first ${shown.length} listed, most confident first)` : conf ? ' (most confident first)' : '';
  const rows = shown.map((i) => {
    const row = h('li', { class: 'sample', 'data-sample': i },
      samples.samplePaths ? h('span', { class: 'thumb', 'data-thumb': i }) : null,
      h('span', { class: 'mono' }, `#${i}`),
      conf ? h('span', { class: 'muted' }, `confidence ${pct(conf[i] ?? 0)}`) : null,
      samples.samplePaths?.[i] ? h('span', { class: 'sample-path muted' }, basename(samples.samplePaths[i]!)) : null);
    if (samples.samplePaths?.[i]) {
      row.classList.add('openable');
      row.title = `Open ${samples.samplePaths[i]}`;
      row.addEventListener('click', () => handlers.open(i));
    }
    return row;
  });
  box.replaceChildren(
    h('p', {}, `${heading}: ${hits.length} sample${hits.length === 1 ? '' : 's'}${more}.`),
    hits.length ? h('ol', { class: 'samples', id: 'sample-list' }, ...rows) : h('p', { class: 'muted' }, 'No sample in this cell.'),
  );
  if (samples.samplePaths && shown.length) handlers.requestThumbnails(shown.slice(0, THUMBNAILS_PER_REQUEST));
  return shown;
}

export function applyThumbnails(box: HTMLElement, items: SampleThumbnail[]): void {
  for (const it of items) {
    const slot = box.querySelector<HTMLElement>(`[data-thumb="${it.index}"]`);
    if (!slot) continue;
    if (it.uri) {
      const img = h('img', { alt: `sample ${it.index}` });
      img.src = it.uri;
      slot.replaceChildren(img);
    } else {
      slot.replaceChildren(h('span', { class: 'muted small' }, it.error ?? ''));
    }
  }
}

function basename(p: string): string {
  const i = Math.max(p.lastIndexOf('/'), p.lastIndexOf('\\'));
  return i >= 0 ? p.slice(i + 1) : p;
}
