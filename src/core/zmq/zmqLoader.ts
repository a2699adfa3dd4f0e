/**
 * Loads the `zeromq` native addon on first use, not at import time, so that the
 * extension activates fast and views that never open a socket never load it.
 * Use `import type` for zeromq types elsewhere and call `zmq()` for values.
 */
type Zmq = typeof import('zeromq');
let loaded: Zmq | undefined;

export function zmq(): Zmq {
  if (loaded) return loaded;
  try {
    loaded = require('zeromq') as Zmq;
  } catch (err) {
    // Node's own message carries the whole require stack; the first line says what is missing
    const first = (err instanceof Error ? err.message : String(err)).split('\n')[0];
    throw new Error(`The ZeroMQ native module (zeromq/libzmq) could not be loaded: ${first}. The installation is incomplete; reinstall the extension (or run npm ci).`, { cause: err });
  }
  return loaded;
}
