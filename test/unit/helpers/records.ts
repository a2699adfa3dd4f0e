/** Records for tests and benchmarks, shaped as the sources make them. */
import type { CapturedMessage } from '../../../src/core/capture/records';

/** A message as the PUB spy `spy-1` on tcp://127.0.0.1:5556 records it; strings become UTF-8 frames. */
export function spyMessage(frames: (string | Uint8Array)[], extra: Partial<CapturedMessage> = {}): CapturedMessage {
  return {
    kind: 'message',
    seq: 0,
    ts: 0,
    session: 'spy-1',
    source: 'spy',
    endpoint: 'tcp://127.0.0.1:5556',
    direction: 'in',
    frames: frames.map((f) => (typeof f === 'string' ? Buffer.from(f) : f)),
    socketType: 'SUB',
    ...extra,
  };
}
