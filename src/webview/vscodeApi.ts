/**
 * What VS Code gives a webview's script: posting to the extension, and the
 * state it keeps with the panel (acquireVsCodeApi, which may be called once).
 */
export interface VsCodeApi<S, M> {
  postMessage(message: M): void;
  getState(): S | undefined;
  setState(state: S): void;
}

declare function acquireVsCodeApi<S, M>(): VsCodeApi<S, M>;

/** The page's VS Code API; call once, at start. */
export function vsCodeApi<S, M>(): VsCodeApi<S, M> {
  return acquireVsCodeApi<S, M>();
}
