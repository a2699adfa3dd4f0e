/**
 * Files the user names as inputs (Jupyter connection files, .proto files and
 * their imports) are read only when they are regular files within a size
 * limit: `/dev/zero`, a FIFO or a directory is refused at once with a clear
 * error, instead of a read without end or a process stuck in open().
 */
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';

/** The most bytes of an input file that are read (real connection files are ~300 B, .proto files some KiB). */
export const MAX_INPUT_FILE_BYTES = 16 * 1024 * 1024;

/** The file's bytes; throws an Error (message: the reason, e.g. "not a regular file (a character device)") otherwise. */
export function readRegularFile(path: string, maxBytes = MAX_INPUT_FILE_BYTES): Buffer {
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer
  const fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new Error(`not a regular file (${fileKind(st)})`);
    if (st.size > maxBytes) throw new Error(`${st.size} bytes, more than the ${maxBytes} bytes read of an input file`);
    // up to one byte past the limit, whatever fstat said: a file that grows meanwhile stays bounded
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(64 * 1024, maxBytes + 1 - total));
      const r = chunk.length ? readSync(fd, chunk, 0, chunk.length, null) : 0;
      if (r <= 0) break;
      chunks.push(chunk.subarray(0, r));
      total += r;
    }
    if (total > maxBytes) throw new Error(`more than the ${maxBytes} bytes read of an input file`);
    return Buffer.concat(chunks, total);
  } finally {
    closeSync(fd);
  }
}

function fileKind(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  return 'not a file';
}
