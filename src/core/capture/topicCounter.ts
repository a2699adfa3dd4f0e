/**
 * Counts messages per topic without building a string per message: topics are
 * found by a hash of their bytes (checked byte for byte), and only a topic seen
 * for the first time gets its display name. This runs once per captured message.
 *
 * A message's topic: the first frame of a multipart message; for a single-frame
 * message, its leading bytes up to the first space (the seed publishers send
 * "10001 42" in one frame). At most TOPIC_BYTES bytes are compared.
 */
export interface Counter {
  messages: number;
  bytes: number;
  lastTs: number;
}

export const OTHER_TOPICS = '(other topics)';
const TOPIC_BYTES = 64;
/** Bytes that go into the hash (the rest is compared on a hash match). */
const HASHED_BYTES = 12;

interface Entry {
  bytes: Uint8Array;
  cut: boolean;
  counter: Counter;
}

export class TopicCounter {
  /** Counters by display name (text when printable, else 0x-hex; '…' when cut). */
  readonly byName = new Map<string, Counter>();
  private readonly byHash = new Map<number, Entry | Entry[]>();

  constructor(
    private readonly maxTopics: number,
    private readonly displayName: (topic: Uint8Array, cut: boolean) => string,
  ) {}

  count(frames: Uint8Array[], first: number, size: number, ts: number): void {
    const f = frames[first];
    if (!f) return;
    const single = frames.length - first === 1;
    const limit = Math.min(f.byteLength, TOPIC_BYTES);
    const head = limit === f.byteLength ? f : f.subarray(0, limit);
    // seed-style "topic data" in one frame: the topic ends at the first space
    const space = single ? head.indexOf(0x20, 1) : -1;
    const n = space > 0 ? space : limit;
    // FNV-1a over the length and the first bytes only; equal hashes are compared in full
    let h = Math.imul((0x811c9dc5 | 0) ^ n, 0x01000193);
    const hashed = n < HASHED_BYTES ? n : HASHED_BYTES;
    for (let i = 0; i < hashed; i++) h = Math.imul(h ^ f[i], 0x01000193);
    const cut = n === limit && f.byteLength > limit && !(single && f[n] === 0x20);
    const slot = this.byHash.get(h);
    let entry: Entry | undefined;
    if (slot) {
      if (Array.isArray(slot)) {
        for (const e of slot) if (same(e, head, n, cut)) entry = e;
      } else if (same(slot, head, n, cut)) entry = slot;
    }
    if (!entry) {
      if (this.byName.size >= this.maxTopics) {
        bump(this.byName, OTHER_TOPICS, size, ts);
        return;
      }
      const bytes = Uint8Array.prototype.slice.call(f, 0, n);
      const name = this.displayName(bytes, cut);
      const counter = this.byName.get(name) ?? { messages: 0, bytes: 0, lastTs: 0 };
      this.byName.set(name, counter);
      entry = { bytes, cut, counter };
      if (!slot) this.byHash.set(h, entry);
      else if (Array.isArray(slot)) slot.push(entry);
      else this.byHash.set(h, [slot, entry]);
    }
    const c = entry.counter;
    c.messages++;
    c.bytes += size;
    c.lastTs = ts;
  }
}

function same(e: Entry, head: Uint8Array, n: number, cut: boolean): boolean {
  if (e.bytes.length !== n || e.cut !== cut) return false;
  const b = e.bytes;
  if (n <= 16) {
    // a short topic: a JS loop is cheaper than a native call
    for (let i = 0; i < n; i++) if (b[i] !== head[i]) return false;
    return true;
  }
  return Buffer.compare(b, n === head.length ? head : head.subarray(0, n)) === 0;
}

export function bump(map: Map<string, Counter>, key: string, size: number, ts: number): void {
  const c = map.get(key);
  if (c) {
    c.messages++;
    c.bytes += size;
    c.lastTs = ts;
  } else map.set(key, { messages: 1, bytes: size, lastTs: ts });
}
