// Numbers as the run format writes them: JSON numbers, or "NaN" / "Infinity" / "-Infinity" for the values JSON lacks.

/** The number a metric value stands for, or undefined when it is not one. */
export function metricNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'string') {
    switch (value) {
      case 'NaN':
        return NaN;
      case 'Infinity':
        return Infinity;
      case '-Infinity':
        return -Infinity;
    }
  }
  return undefined;
}

/** A number cell of a CSV file: decimal text, or the spellings of NaN and infinities that Python and others write. */
export function csvNumber(text: string): number | undefined {
  const s = text.trim();
  if (s === '') return undefined;
  const n = Number(s);
  if (!Number.isNaN(n)) return n;
  switch (s.toLowerCase()) {
    case 'nan':
    case '-nan':
      return NaN;
    case 'inf':
    case '+inf':
    case 'infinity':
    case '+infinity':
      return Infinity;
    case '-inf':
    case '-infinity':
      return -Infinity;
  }
  return undefined;
}
