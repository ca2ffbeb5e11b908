// The webview side of the host connection: typed messages both ways, the `ready` handshake, and state that
// survives the panel being hidden or the window reloading.

interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}

declare function acquireVsCodeApi(): VsCodeApi;

export interface HostConnection<ToHost, State> {
  post(message: ToHost): void;
  /** Last state saved with saveState (undefined on first open). */
  readonly savedState: State | undefined;
  saveState(state: State): void;
}

/**
 * Connects once per page. `onMessage` gets every message from the host; `ready` is sent after the listener is in
 * place, so the host's snapshot cannot be missed.
 */
export function connectToHost<ToWebview extends { type: string }, ToHost extends { type: string }, State = unknown>(
  onMessage: (message: ToWebview) => void,
): HostConnection<ToHost, State> {
  const api = acquireVsCodeApi();
  window.addEventListener('message', (event: MessageEvent) => {
    const data: unknown = event.data;
    if (typeof data === 'object' && data !== null && typeof (data as { type?: unknown }).type === 'string') {
      onMessage(data as ToWebview);
    }
  });
  const connection: HostConnection<ToHost, State> = {
    post: (m) => api.postMessage(m),
    savedState: (api.getState() as State | null) ?? undefined,
    saveState: (s) => api.setState(s),
  };
  api.postMessage({ type: 'ready' });
  return connection;
}
