/**
 * Builds ZMTP 3.x byte streams for tests (written from 23/ZMTP, 37/ZMTP and
 * 24/ZMTP-PLAIN): greetings, frames, commands and whole handshakes.
 */

export function greeting(opts: { major?: number; minor?: number; mechanism?: string; asServer?: boolean } = {}): Buffer {
  const g = Buffer.alloc(64);
  g[0] = 0xff;
  g[9] = 0x7f;
  g[10] = opts.major ?? 3;
  g[11] = opts.minor ?? 1;
  g.write(opts.mechanism ?? 'NULL', 12, 'ascii');
  g[32] = opts.asServer ? 1 : 0;
  return g;
}

export function frame(body: Uint8Array, opts: { more?: boolean; command?: boolean; long?: boolean } = {}): Buffer {
  const long = opts.long ?? body.length > 255;
  const flags = (opts.more ? 1 : 0) | (long ? 2 : 0) | (opts.command ? 4 : 0);
  const hdr = Buffer.alloc(long ? 9 : 2);
  hdr[0] = flags;
  if (long) hdr.writeBigUInt64BE(BigInt(body.length), 1);
  else hdr[1] = body.length;
  return Buffer.concat([hdr, body]);
}

export function command(name: string, data: Uint8Array = Buffer.alloc(0)): Buffer {
  return frame(Buffer.concat([Buffer.from([name.length]), Buffer.from(name, 'ascii'), data]), { command: true });
}

export function properties(props: Record<string, string | Uint8Array>): Buffer {
  const parts: Buffer[] = [];
  for (const [k, v] of Object.entries(props)) {
    const val = typeof v === 'string' ? Buffer.from(v) : Buffer.from(v);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(val.length);
    parts.push(Buffer.from([k.length]), Buffer.from(k, 'ascii'), len, val);
  }
  return Buffer.concat(parts);
}

export function ready(props: Record<string, string | Uint8Array>): Buffer {
  return command('READY', properties(props));
}

export function message(frames: Uint8Array[]): Buffer {
  return Buffer.concat(frames.map((f, i) => frame(f, { more: i < frames.length - 1 })));
}

/** A NULL-mechanism stream: greeting, READY with the socket type, then messages. */
export function nullStream(socketType: string, messages: Uint8Array[][], extra: Record<string, string> = {}): Buffer {
  return Buffer.concat([greeting(), ready({ 'Socket-Type': socketType, ...extra }), ...messages.map(message)]);
}
