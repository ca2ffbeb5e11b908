// Run names, ids and timestamps. Pure: the clock and randomness are passed in.
import * as path from 'node:path';

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** YYYYMMDD-HHMMSS in local time (what a user reads in a folder name). */
export function localStamp(d: Date): string {
  return `${d.getFullYear()}${pad(d.getMonth() + 1)}${pad(d.getDate())}-${pad(d.getHours())}${pad(d.getMinutes())}${pad(d.getSeconds())}`;
}

/** YYYYMMDD-HHMMSS in UTC, as in run ids (the logger uses the same). */
export function utcStamp(d: Date): string {
  return `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}-${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}`;
}

/** A run id: unique and never renamed, e.g. "20261121-102203-5f3a". `random` in [0, 1). */
export function runId(d: Date, random: number): string {
  const suffix = (Math.floor(random * 0x10000) & 0xffff).toString(16).padStart(4, '0');
  return `${utcStamp(d)}-${suffix}`;
}

/**
 * A folder name from user text: letters, digits, '.', '_' and '-' only (others become '-'), no leading dot, at most
 * 80 characters. Empty when nothing usable is left.
 */
export function sanitizeRunName(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^[-.]+|[-.]+$/g, '')
    .slice(0, 80)
    .replace(/[-.]+$/g, '');
}

/** The default run name: `<script stem>-<YYYYMMDD-HHMMSS>`, or the sanitized requested name. */
export function baseRunName(script: string, d: Date, requested?: string): string {
  const fromRequest = requested ? sanitizeRunName(requested) : '';
  if (fromRequest) return fromRequest;
  const stem = sanitizeRunName(path.basename(script).replace(/\.[^.]*$/, '')) || 'run';
  return `${stem}-${localStamp(d)}`;
}

/** Candidate folder names in order: base, base-2, base-3, ... */
export function* runNameCandidates(base: string, max = 1000): Generator<string> {
  yield base;
  for (let i = 2; i <= max; i++) yield `${base}-${i}`;
}
