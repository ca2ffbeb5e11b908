// onnxruntime-node's version and execution providers. Loaded on first use only: it is a native module of ~45 MB.
import type { OnnxRuntimeInfo } from '../protocol/environment';

interface OrtModule {
  env: { versions: { node?: string; common?: string } };
  listSupportedBackends?: () => { name: string; bundled: boolean }[];
}

let cached: OnnxRuntimeInfo | undefined;

export function onnxRuntimeInfo(): OnnxRuntimeInfo {
  if (cached) return cached;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const ort = require('onnxruntime-node') as OrtModule;
    const backends = ort.listSupportedBackends?.() ?? [{ name: 'cpu', bundled: true }];
    cached = {
      status: 'ok',
      version: ort.env.versions.node ?? ort.env.versions.common ?? null,
      backends: backends.map((b) => ({ name: String(b.name), bundled: Boolean(b.bundled) })),
      message: null,
    };
  } catch (e) {
    cached = {
      status: 'failed',
      version: null,
      backends: [],
      message: `onnxruntime-node could not be loaded: ${(e as Error).message.split('\n')[0]}. Reinstall Descent for this platform.`,
    };
  }
  return cached;
}
