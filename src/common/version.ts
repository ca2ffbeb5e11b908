// Loose version comparison for versions like "2.13.0+cpu", "2.1.0a0+git1234", "3.11.7".

/** Leading numeric parts of a version: "2.13.0+cpu" -> [2, 13, 0]. */
export function versionParts(version: string): number[] {
  const m = /^\s*v?(\d+(?:\.\d+)*)/.exec(version);
  return m ? m[1]!.split('.').map(Number) : [];
}

/** Negative, zero or positive like a comparator; missing parts count as 0. Unparseable versions sort first. */
export function compareVersions(a: string, b: string): number {
  const pa = versionParts(a);
  const pb = versionParts(b);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

export function isParseableVersion(version: string): boolean {
  return versionParts(version).length > 0;
}
