import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { zmq } from './zmqLoader';

/** The extension's version from package.json (works from src/ under tsx and from dist/ bundles). */
export function productVersion(): string {
  for (const rel of ['..', '../..']) {
    try {
      const pkg = JSON.parse(readFileSync(join(__dirname, rel, 'package.json'), 'utf8'));
      if (pkg.name === 'zmq-topology-debugger') return String(pkg.version);
    } catch {
      // try the next candidate
    }
  }
  return 'unknown';
}

/** The libzmq version inside the loaded `zeromq` package, e.g. "4.3.5". Loads zeromq lazily. */
export function libzmqVersion(): string {
  return zmq().version;
}
