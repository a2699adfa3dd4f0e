/**
 * Chunks and rings (the columns' buffer) of cleared or disposed record stores,
 * for the next fill (a new capture, an import, a Clear), held weakly: the next
 * full collection frees what nobody took, so no memory is kept beyond what the
 * GC decides. A window's chunks allocated anew are external memory that V8
 * answers with a full mark of the heap (about every 64 MB of them): in a 256 MB
 * heap a tap spent about half its CPU per message on that while a new
 * capture's window filled. And fresh memory costs a page fault per 4 KiB at
 * first touch (11 to 14 µs each on the bench's VM: a fresh 100,000-record ring
 * is 900 of them). Never an exposed chunk (a held record may view it).
 */
const releasedChunks: WeakRef<Buffer>[] = [];
const RELEASED_CHUNKS_MAX = 1024;
const releasedRings: WeakRef<ArrayBuffer>[] = [];
const RELEASED_RINGS_MAX = 8;

export function takeReleasedChunk(): Buffer | undefined {
  for (let ref = releasedChunks.pop(); ref; ref = releasedChunks.pop()) {
    const buf = ref.deref();
    if (buf) return buf;
  }
  return undefined;
}

export function giveReleasedChunk(buf: Buffer): void {
  if (releasedChunks.length < RELEASED_CHUNKS_MAX) releasedChunks.push(new WeakRef(buf));
}

/** A released ring of exactly `bytes` (its old contents are left: every slot is written before it is read). */
export function takeReleasedRing(bytes: number): ArrayBuffer | undefined {
  for (let i = releasedRings.length - 1; i >= 0; i--) {
    const ring = releasedRings[i].deref();
    if (!ring || ring.byteLength === bytes) releasedRings.splice(i, 1);
    if (ring?.byteLength === bytes) return ring;
  }
  return undefined;
}

export function giveReleasedRing(ring: ArrayBuffer): void {
  if (ring.byteLength > 0 && releasedRings.length < RELEASED_RINGS_MAX) releasedRings.push(new WeakRef(ring));
}
