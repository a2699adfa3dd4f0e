/**
 * The CLI's ceiling: the bench's drain (src/extension/benchDrain.ts: a plain TCP ZMTP SUB that only counts
 * the bytes it reads) in a Node process of its own, as `zmq-debug spy` is, instead of in Python
 * (drain_sub.py). What it gets of a flooding publisher is the most any reader in a Node process could get.
 *
 *   node --import tsx bench/peers/nodeDrain.ts PORT SIZE   prints "got N" after 1.5 s of silence
 */
import { drain } from '../../src/extension/benchDrain';

const [port, size] = process.argv.slice(2).map(Number);
if (!(size > 0 && size <= 255)) throw new Error('short frames only: SIZE in 1..255');
// a short frame is 2 header bytes and its body
drain(port, (bytes) => process.stdout.write(`got ${Math.floor(bytes / (2 + size))}\n`));
