// Class names stored in an ONNX model's metadata_props: the model view's Try it box and Evaluate Model both read them.

const LABEL_KEYS = ['labels', 'class_names', 'classes'];

/**
 * Class names from metadata_props: `labels`, `class_names` or `classes`, as a JSON array, a JSON {index: name}
 * object, or comma-separated. A key whose value is none of these (an empty list, an empty name) is skipped.
 */
export function labelsFromMetadata(props: Record<string, string>): string[] | undefined {
  for (const key of LABEL_KEYS) {
    const raw = props[key]?.trim();
    if (!raw) continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      // Not JSON: comma-separated.
      const parts = raw.split(',').map((s) => s.trim());
      if (parts.every(Boolean)) return parts;
      continue;
    }
    if (Array.isArray(parsed)) {
      if (parsed.length > 0) return parsed.map((x) => String(x));
    } else if (parsed && typeof parsed === 'object') {
      const out: string[] = [];
      for (const [k, v] of Object.entries(parsed)) if (/^\d+$/.test(k)) out[Number(k)] = String(v);
      if (out.length > 0) return Array.from(out, (x, i) => x ?? String(i));
    }
  }
  return undefined;
}
