/**
 * Loads the `zeromq` native addon on first use, not at import time, so that the
 * extension activates fast and views that never open a socket never load it.
 * Use `import type` for zeromq types elsewhere and call `zmq()` for values.
 */
type Zmq = typeof import('zeromq');
let loaded: Zmq | undefined;

export function zmq(): Zmq {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (loaded ??= require('zeromq') as Zmq);
}
