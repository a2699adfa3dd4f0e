import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PythonPeer, runPython } from './peers';

/** Runs one of the pyzmq peer programs in test/unit/peers/ with arguments. */
export function runPythonFile(name: string, args: (string | number)[] = []): PythonPeer {
  return runPython(readFileSync(join(__dirname, '..', 'peers', name), 'utf8'), args);
}
