/**
 * Counts messages per topic without building a string per message: topics are
 * found by a hash of their bytes (checked byte for byte), and only a topic seen
 * for the first time gets its display name. This runs once per captured message.
 *
 * A message's topic: the first frame of a multipart message; for a single-frame
 * message, its leading bytes up to the first space (the seed publishers send
 * "10001 42" in one frame). At most TOPIC_BYTES bytes are compared.
 */
import { copyBytes } from '../base/bytes';
import { frameBodyLength, frameBodyStart } from '../zmtp/frameHeader';

export interface Counter {
  messages: number;
  bytes: number;
  lastTs: number;
}

export const OTHER_TOPICS = '(other topics)';
/** Bytes of a topic compared, and of those the ones that go into the hash (the rest is compared on a hash match). */
const TOPIC_BYTES = 64, HASHED_BYTES = 12;

interface Entry {
  bytes: Uint8Array;
  cut: boolean;
  name: string;
  counter: Counter;
}

export class TopicCounter {
  /** Counters by display name (text when printable, else 0x-hex; '…' when cut). */
  readonly byName = new Map<string, Counter>();
  private readonly byHash = new Map<number, Entry | Entry[]>();
  private lastEntry: Entry | undefined;

  constructor(
    private readonly maxTopics: number,
    private readonly displayName: (topic: Uint8Array, cut: boolean) => string,
  ) {}

  /** Every distinct topic counted: its bytes (a copy, at most 64), display name and counter. */
  *entries(): IterableIterator<Readonly<Entry>> {
    for (const slot of this.byHash.values()) {
      if (Array.isArray(slot)) yield* slot;
      else yield slot;
    }
  }

  /** More topics came than are counted one by one (the rest are under OTHER_TOPICS). */
  get overflow(): boolean {
    return this.byName.has(OTHER_TOPICS);
  }

  count(frames: Uint8Array[], first: number, size: number, ts: number): void {
    const f = frames[first];
    if (!f) return;
    this.countTopic(f, 0, f.byteLength, frames.length - first === 1, size, ts);
  }

  /**
   * Like count() for a message given as ZMTP wire bytes from `start` (see
   * Capture.appendWire): its topic is its first frame's body, read in place.
   */
  countWire(bytes: Uint8Array, start: number, frames: number, size: number, ts: number): void {
    if (frames === 0) return;
    this.countTopic(bytes, frameBodyStart(bytes, start), frameBodyLength(bytes, start), frames === 1, size, ts);
  }

  /**
   * Like count() for a message read in place (Capture.peekFrameSpans): its
   * first frame is `f[off, off + len)`, `single` when it is its only frame.
   */
  countSpan(f: Uint8Array, off: number, len: number, single: boolean, size: number, ts: number): void {
    this.countTopic(f, off, len, single, size, ts);
  }

  /** Counts a message whose topic frame is `f[off, off + len)`. */
  private countTopic(f: Uint8Array, off: number, len: number, single: boolean, size: number, ts: number): void {
    const limit = len < TOPIC_BYTES ? len : TOPIC_BYTES;
    // Most messages repeat the previous one's topic: it is compared first, with no scan for
    // the space and no hash. Its bytes hold no space past the first, so equal bytes that
    // end where its topic ended (at a space, or at the limit alike cut) are the same topic.
    const last = this.lastEntry;
    if (last !== undefined) {
      const m = last.bytes.length;
      const endsThere =
        m === limit ? last.cut === (len > limit && !(single && f[off + m] === 0x20)) : single && m < limit && !last.cut && f[off + m] === 0x20;
      if (endsThere && sameBytes(last.bytes, f, off, m)) {
        const c = last.counter;
        c.messages++;
        c.bytes += size;
        c.lastTs = ts;
        return;
      }
    }
    // seed-style "topic data" in one frame: the topic ends at the first space
    let space = -1;
    if (single) {
      for (let i = off + 1; i < off + limit; i++) {
        if (f[i] === 0x20) {
          space = i - off;
          break;
        }
      }
    }
    const n = space > 0 ? space : limit;
    const cut = n === limit && len > limit && !(single && f[off + n] === 0x20);
    // FNV-1a over the length and the first bytes only; equal hashes are compared in full.
    // Kept to 30 bits: a small integer key, never a heap number, in the map.
    let h = Math.imul((0x811c9dc5 | 0) ^ n, 0x01000193);
    const hashed = n < HASHED_BYTES ? n : HASHED_BYTES;
    for (let i = 0; i < hashed; i++) h = Math.imul(h ^ f[off + i], 0x01000193);
    h &= 0x3fffffff;
    const slot = this.byHash.get(h);
    let entry: Entry | undefined;
    if (slot) {
      if (Array.isArray(slot)) {
        for (const e of slot) if (same(e, f, off, n, cut)) entry = e;
      } else if (same(slot, f, off, n, cut)) entry = slot;
    }
    if (!entry) {
      if (this.byName.size >= this.maxTopics) {
        bump(this.byName, OTHER_TOPICS, size, ts);
        return;
      }
      const bytes = copyBytes(f, off, off + n);
      const name = this.displayName(bytes, cut);
      const counter = this.byName.get(name) ?? { messages: 0, bytes: 0, lastTs: 0 };
      this.byName.set(name, counter);
      entry = { bytes, cut, name, counter };
      if (!slot) this.byHash.set(h, entry);
      else if (Array.isArray(slot)) slot.push(entry);
      else this.byHash.set(h, [slot, entry]);
    }
    this.lastEntry = entry;
    const c = entry.counter;
    c.messages++;
    c.bytes += size;
    c.lastTs = ts;
  }
}

function same(e: Entry, f: Uint8Array, off: number, n: number, cut: boolean): boolean {
  if (e.bytes.length !== n || e.cut !== cut) return false;
  return sameBytes(e.bytes, f, off, n);
}

function sameBytes(b: Uint8Array, f: Uint8Array, off: number, n: number): boolean {
  // at most TOPIC_BYTES: a JS loop is cheaper than a view and a native compare
  for (let i = 0; i < n; i++) if (b[i] !== f[off + i]) return false;
  return true;
}

export function bump(map: Map<string, Counter>, key: string, size: number, ts: number): void {
  const c = map.get(key);
  if (c) {
    c.messages++;
    c.bytes += size;
    c.lastTs = ts;
  } else map.set(key, { messages: 1, bytes: size, lastTs: ts });
}
