// Where a Python file can be cut into pieces that parse on their own: the lines at column 0 that start a top-level
// compound statement (`def`, `class`, `@decorator`, `if`, `for`, ...), outside brackets, strings and continuations.
// Parsing piece by piece gives the same tree as parsing the file whole (a column-0 statement ends every block
// above it), bounds what an edit re-parses to its piece, and keeps tree-sitter's error recovery for a half-typed
// line inside the piece that holds it instead of letting it run to the end of the file.
//
// The scan must never cut inside a statement (that would change the tree): anything it is unsure of (an unclosed
// bracket or string) only means fewer cuts. Simple statements (`x = 1`, `import os`) join the piece above them.

/** Keywords that open a top-level compound statement (`async def`, `async for`, `async with` start with `async`). */
const OPENERS = new Set(['def', 'class', 'async', 'if', 'for', 'while', 'with', 'try', 'match']);

const NL = 10;
const CR = 13;
const HASH = 35;
const BACKSLASH = 92;
const AT = 64;

/** [0-9A-Za-z_]: what \w and \b of a regex count as a word character. */
export function isWordChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || (c >= 48 && c <= 57);
}

function wordAt(text: string, i: number): string {
  let j = i;
  while (j < text.length && isWordChar(text.charCodeAt(j))) j++;
  return text.slice(i, j);
}

function isOpen(c: number): boolean {
  return c === 40 || c === 91 || c === 123;
}

function isClose(c: number): boolean {
  return c === 41 || c === 93 || c === 125;
}

/**
 * Offsets of the piece starts of `text` after `from` (itself a piece start, or 0), in order; `from` is not listed.
 * `more(offset)` is asked at each start found: return false to stop the scan there (that start is still listed).
 */
export function pieceStarts(text: string, from = 0, more: (offset: number) => boolean = () => true): number[] {
  const out: number[] = [];
  const n = text.length;
  let depth = 0;
  /** The quote character of the open string (0: none), and whether it is a triple-quoted one. */
  let quote = 0;
  let triple = false;
  /** The line before ended in a backslash: this one continues it. */
  let continued = false;
  /** The last column-0 statement was a decorator: the `def`/`class` below it belongs to it. */
  let decorated = false;
  let i = from;
  let lineStart = true;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (lineStart) {
      lineStart = false;
      if (quote === 0 && (isWordChar(c) || c === AT)) {
        const word = wordAt(text, i);
        // `def`/`class` can't be inside brackets or a continued line: an unclosed bracket above (a half-typed call)
        // ends there, as it does for Python, instead of holding the rest of the file.
        if ((depth > 0 || continued) && (word === 'def' || word === 'class')) {
          depth = 0;
          continued = false;
          decorated = false;
        }
        if (depth === 0 && !continued) {
          if (i > from && !decorated && (c === AT || OPENERS.has(word))) {
            out.push(i);
            if (!more(i)) return out;
          }
          // `else:`/`except:`/... continue the statement above; a column-0 comment or blank line changes nothing.
          if (c === AT) decorated = true;
          else if (word !== 'else' && word !== 'elif' && word !== 'except' && word !== 'finally') decorated = false;
        }
      }
      continued = false;
    }
    if (quote !== 0) {
      if (c === BACKSLASH) {
        i += 2; // an escaped character, or a continued line inside the string
        continue;
      }
      if (c === quote) {
        if (!triple) {
          quote = 0;
          i++;
          continue;
        }
        if (text.charCodeAt(i + 1) === quote && text.charCodeAt(i + 2) === quote) {
          quote = 0;
          triple = false;
          i += 3;
          continue;
        }
      }
      if (c === NL) {
        lineStart = true;
        if (!triple) quote = 0; // an unclosed one-line string ends with its line (a syntax error)
      }
      i++;
      continue;
    }
    if (c === HASH) {
      while (i < n && text.charCodeAt(i) !== NL) i++;
      continue;
    }
    if (c === 34 || c === 39) {
      triple = text.charCodeAt(i + 1) === c && text.charCodeAt(i + 2) === c;
      quote = c;
      i += triple ? 3 : 1;
      continue;
    }
    if (isOpen(c)) depth++;
    else if (isClose(c)) {
      if (depth > 0) depth--;
    } else if (c === BACKSLASH) {
      const next = text.charCodeAt(i + 1) === CR ? i + 2 : i + 1;
      if (text.charCodeAt(next) === NL) {
        continued = true;
        lineStart = true;
        i = next + 1;
        continue;
      }
    } else if (c === NL) lineStart = true;
    i++;
  }
  return out;
}
