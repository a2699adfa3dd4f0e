/**
 * Chunks of cleared or disposed record stores, for the next fill (a new
 * capture, an import, a Clear), held weakly: the next full collection frees
 * what nobody took, so no memory is kept beyond what the GC decides. A window's
 * chunks allocated anew are external memory that V8 answers with a full mark
 * of the heap (about every 64 MB of them): in a 256 MB heap a tap spent about
 * half its CPU per message on that while a new capture's window filled. Never
 * an exposed chunk (a held record may view it).
 */
const releasedChunks: WeakRef<Buffer>[] = [];
const RELEASED_CHUNKS_MAX = 1024;

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
