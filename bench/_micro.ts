import { Capture, type WireStreamMeta } from '../src/core/capture/capture';
import { ZmtpDecoder } from '../src/core/zmtp/decoder';
const N = 2_000_000;
const msg = Buffer.concat([Buffer.from([0, 16]), Buffer.alloc(16, 7)]);
const all = Buffer.concat(Array(N).fill(msg));
for (const [label, source, maxRecords] of [['tap', undefined, 100_000], ['spy', 'spy', 100_000], ['spy-nowindow', 'spy', 10_000_000]] as const) {
  for (let round = 0; round < 3; round++) {
    const capture = new Capture({ maxRecords });
    const stream: WireStreamMeta = { session: 's', source, endpoint: 'e', direction: 'in', connection: undefined, socketType: 'SUB', peerSocketType: 'PUB', identity: undefined, reqRepEnvelope: false };
    const d = new ZmtpDecoder({ greeting() {}, command() {}, message() {}, undecodable() {}, wireMessages(c, b) { capture.appendWire(stream, 1, c, b); } }, { wireMessages: true, transientChunks: true });
    const hdr = Buffer.concat([Buffer.from([0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0x7f, 3, 1]), Buffer.from('NULL'), Buffer.alloc(48)]);
    d.push(hdr);
    d.push(Buffer.from([4, 25, 5, ...Buffer.from('READY'), 11, ...Buffer.from('Socket-Type'), 0, 0, 0, 3, ...Buffer.from('PUB')]));
    const buf = new Uint8Array(256 * 1024);
    const t0 = performance.now();
    for (let off = 0; off < all.length; off += 3168) {
      const n = Math.min(3168, all.length - off);
      buf.set(all.subarray(off, off + n));
      d.push(buf.subarray(0, n));
    }
    const ms = performance.now() - t0;
    console.log(label, round, Math.round((ms * 1e6) / N), 'ns/msg', capture.stats().totalMessages);
  }
}
