// Class names stored in an ONNX model's metadata_props (the model view's Try it box; evaluation can use it too).

/** Class names from metadata_props: `labels`, `class_names` or `classes`, as a JSON array, a JSON {index: name} object, or comma-separated. */
export function labelsFromMetadata(props: Record<string, string>): string[] | undefined {
  for (const key of ['labels', 'class_names', 'classes']) {
    const raw = props[key]?.trim();
    if (!raw) continue;
    try {
      const parsed: unknown = JSON.parse(raw);
      if (Array.isArray(parsed)) return parsed.map((x) => String(x));
      if (parsed && typeof parsed === 'object') {
        const out: string[] = [];
        for (const [k, v] of Object.entries(parsed)) if (/^\d+$/.test(k)) out[Number(k)] = String(v);
        if (out.length > 0) return Array.from(out, (x, i) => x ?? String(i));
      }
    } catch {
      // Not JSON: comma-separated.
    }
    return raw.split(',').map((s) => s.trim());
  }
  return undefined;
}
