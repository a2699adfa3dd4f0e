/**
 * The Python agent's 'B' record: a batch of whole single-frame messages, the
 * common case at real rates (see docs/agent-protocol.md). The body is 'B' then
 * entries back to back, each [f64 LE ts (seconds)][u32 LE key (socket id << 1 |
 * direction, 0 out, 1 in)][u32 LE length][the frame's bytes]. Read with three
 * fixed-offset reads an entry; each frame is a view of the body.
 */

/** One message of a batch. */
export interface BatchedMessage {
  socket: number;
  direction: 'out' | 'in';
  /** Seconds since the epoch, as the agent's clock said (not checked here). */
  tsSec: number;
  frame: Buffer;
}

const ENTRY_HEAD = 16;

/** Calls `each` for every message of a 'B' body in order; false (and no call) when the body is malformed. */
export function forEachBatchedMessage(body: Buffer, each: (m: BatchedMessage) => void): boolean {
  if (body.length <= ENTRY_HEAD || body[0] !== 0x42) return false;
  // checked whole first: a malformed batch adds nothing
  let off = 1;
  while (off < body.length) {
    if (off + ENTRY_HEAD > body.length) return false;
    off += ENTRY_HEAD + body.readUInt32LE(off + 12);
  }
  if (off !== body.length) return false;
  for (off = 1; off < body.length; ) {
    const key = body.readUInt32LE(off + 8);
    const len = body.readUInt32LE(off + 12);
    const start = off + ENTRY_HEAD;
    each({ socket: key >>> 1, direction: key & 1 ? 'in' : 'out', tsSec: body.readDoubleLE(off), frame: body.subarray(start, start + len) });
    off = start + len;
  }
  return true;
}
