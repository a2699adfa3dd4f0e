import { strict as assert } from 'node:assert';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ZmtpDecoder, type ZmtpCommand, type ZmtpDecoderOptions, type ZmtpGreeting } from '../../src/core/zmtp/decoder';
import { wireFrameViews } from '../../src/core/zmtp/frameHeader';
import * as z from './helpers/zmtpBytes';
import { Capture, type WireStreamMeta } from '../../src/core/capture/capture';
import type { CapturedMessage } from '../../src/core/capture/records';

type Out =
  | { t: 'greeting'; g: ZmtpGreeting }
  | { t: 'command'; c: ZmtpCommand }
  | { t: 'message'; frames: string[]; truncated?: Record<number, number>; encrypted: boolean }
  | { t: 'undecodable'; reason: string };

/**
 * A decoder whose output is plain data. With `wireMessages`, messages handed out
 * as wire bytes are split back into frames (and checked for consistency), so the
 * output is comparable with the general path's: the two must always agree.
 */
function decoder(opts: ZmtpDecoderOptions = {}): { d: ZmtpDecoder; out: Out[]; wire: { messages: number } } {
  const out: Out[] = [];
  const wire = { messages: 0 };
  const text = (frames: Uint8Array[]) => frames.map((f) => Buffer.from(f).toString('latin1'));
  const d = new ZmtpDecoder(
    {
      greeting: (g) => out.push({ t: 'greeting', g }),
      command: (c) => out.push({ t: 'command', c }),
      message: (frames, truncated, encrypted) => out.push({ t: 'message', frames: text(frames), truncated, encrypted }),
      wireMessages: (chunk, batch) => {
        for (let i = 0; i < batch.count; i++) {
          const [start, end, count, payload] = [batch.start[i], batch.end[i], batch.frames[i], batch.payload[i]];
          const frames = wireFrameViews(chunk, start, count);
          assert.equal(
            frames.reduce((n, f) => n + f.length, 0),
            payload,
            'payload = the frames',
          );
          assert.ok(end - start >= payload + 2 * count && end - start <= payload + 9 * count, 'the span is headers + frames');
          wire.messages++;
          out.push({ t: 'message', frames: text(frames), truncated: undefined, encrypted: false });
        }
      },
      undecodable: (reason) => out.push({ t: 'undecodable', reason }),
    },
    opts,
  );
  return { d, out, wire };
}

function decodeAll(bytes: Uint8Array, opts?: ZmtpDecoderOptions, chunk = bytes.length || 1): Out[] {
  const { d, out } = decoder(opts);
  for (let i = 0; i < bytes.length; i += chunk) d.push(bytes.subarray(i, i + chunk));
  return out;
}

/**
 * The native spy's read path: every chunk lands in ONE reused buffer (as with
 * net.Socket's onread), is decoded with transientChunks and the wire path, and
 * goes into a real Capture (appendWire, or append for the rest); the buffer is
 * scribbled over after each push. The capture must then hold exactly what the
 * general path decodes from fresh buffers: nothing may point into the reused one.
 */
function spyReadPath(bytes: Uint8Array, opts: ZmtpDecoderOptions, chunk: number): { frames: string[]; truncated?: Record<number, number>; encrypted: boolean }[] {
  const capture = new Capture({ maxRecords: 1_000_000, maxBytes: 1e9 });
  const stream: WireStreamMeta = { session: 's', source: 'spy', endpoint: 'e', direction: 'in', connection: undefined, socketType: 'SUB', peerSocketType: undefined, identity: undefined, reqRepEnvelope: false };
  const d = new ZmtpDecoder(
    {
      greeting() {},
      command() {},
      message(frames, truncated, encrypted) {
        const r: CapturedMessage = { kind: 'message', seq: 0, ts: 1, source: 'spy', endpoint: 'e', direction: 'in', frames };
        if (truncated) r.truncated = truncated;
        if (encrypted) r.encrypted = true;
        capture.append(r);
      },
      wireMessages(c, batch) {
        capture.appendWire(stream, 1, c, batch);
      },
      undecodable() {},
    },
    { ...opts, wireMessages: true, transientChunks: true },
  );
  const buf = new Uint8Array(chunk);
  for (let i = 0; i < bytes.length; i += chunk) {
    const n = Math.min(chunk, bytes.length - i);
    buf.set(bytes.subarray(i, i + n));
    d.push(n === chunk ? buf : buf.subarray(0, n));
    buf.fill(0xa5);
  }
  return [...capture.records()]
    .filter((r): r is CapturedMessage => r.kind === 'message')
    .map((m) => ({ frames: m.frames.map((f) => Buffer.from(f).toString('latin1')), truncated: m.truncated, encrypted: m.encrypted === true }));
}

const msgs = (out: Out[]) => out.filter((o): o is Extract<Out, { t: 'message' }> => o.t === 'message');
const cmds = (out: Out[]) => out.filter((o): o is Extract<Out, { t: 'command' }> => o.t === 'command').map((o) => o.c);
const reason = (out: Out[]) => out.find((o): o is Extract<Out, { t: 'undecodable' }> => o.t === 'undecodable')?.reason;
const str = (b: Uint8Array | undefined) => (b ? Buffer.from(b).toString('latin1') : undefined);

describe('ZmtpDecoder', () => {
  it('decodes the greeting: version, mechanism, as-server', () => {
    const out = decodeAll(z.greeting({ minor: 0, mechanism: 'PLAIN', asServer: true }));
    assert.deepEqual(out, [{ t: 'greeting', g: { version: '3.0', major: 3, minor: 0, mechanism: 'PLAIN', asServer: true } }]);
  });

  it('gives the same result whatever the chunking, down to one byte at a time', () => {
    const stream = Buffer.concat([
      z.nullStream('DEALER', [[Buffer.from('a'), Buffer.alloc(0), Buffer.alloc(300, 7)], [Buffer.from('b')]], { Identity: 'id-1', 'X-Color': 'blue' }),
      z.command('PING', Buffer.from([0, 30, 1, 2])),
      z.message([Buffer.alloc(70000, 1), Buffer.from('tail')]),
    ]);
    const whole = decodeAll(stream);
    for (const size of [1, 2, 3, 7, 9, 10, 11, 63, 64, 65, 1000]) {
      assert.deepEqual(decodeAll(stream, undefined, size), whole, `chunks of ${size}`);
      assert.deepEqual(decodeAll(stream, { wireMessages: true }, size), whole, `chunks of ${size}, wire path`);
    }
    assert.equal(msgs(whole).length, 3);
    assert.deepEqual(msgs(whole)[0].frames, ['a', '', '\x07'.repeat(300)]);
  });

  it('decodes READY metadata (Socket-Type, Identity, X- properties) and learns the socket type and identity', () => {
    const { d, out } = decoder();
    d.push(Buffer.concat([z.greeting(), z.ready({ 'socket-type': 'ROUTER', Identity: 'me', 'X-Hello': Buffer.from([0, 1, 2]), Resource: '/x' })]));
    const [ready] = cmds(out);
    assert.equal(ready.name, 'READY');
    assert.deepEqual(Object.keys(ready.properties!), ['socket-type', 'Identity', 'X-Hello', 'Resource']);
    assert.equal(str(ready.properties!['X-Hello']), '\x00\x01\x02');
    assert.equal(d.socketType, 'ROUTER', 'property names are case-insensitive');
    assert.equal(str(d.identity), 'me');
  });

  it('keeps "__proto__" metadata as a plain key', () => {
    const out = decodeAll(Buffer.concat([z.greeting(), z.ready({ __proto__x: 'a' }).fill(0x5f, 9, 18)]));
    const props = cmds(out)[0].properties!;
    assert.equal(Object.getPrototypeOf(props), Object.prototype);
    assert.deepEqual(Object.keys(props), ['_________x']);
    const evil = Buffer.concat([z.greeting(), z.command('READY', Buffer.concat([Buffer.from([9]), Buffer.from('__proto__'), Buffer.from([0, 0, 0, 1, 65])]))]);
    const p2 = cmds(decodeAll(evil))[0].properties!;
    assert.equal(Object.getPrototypeOf(p2), Object.prototype);
    assert.equal(str(Object.getOwnPropertyDescriptor(p2, '__proto__')!.value), 'A');
  });

  it('decodes ERROR, PING (TTL, context) and PONG', () => {
    const out = decodeAll(
      Buffer.concat([
        z.greeting(),
        z.command('ERROR', Buffer.concat([Buffer.from([14]), Buffer.from('Invalid thing!')])),
        z.command('PING', Buffer.from([0x01, 0x2c, 0xde, 0xad])),
        z.command('PONG', Buffer.from([0xde, 0xad])),
      ]),
    );
    assert.deepEqual(
      cmds(out).map((c) => [c.name, c.detail]),
      [
        ['ERROR', 'Invalid thing!'],
        ['PING', 'ttl 30.0 s, context dead'],
        ['PONG', 'context dead'],
      ],
    );
  });

  it('decodes 3.1 SUBSCRIBE/CANCEL commands and 3.0 subscription messages from SUB/XSUB only', () => {
    const sub = decodeAll(
      Buffer.concat([z.greeting({ minor: 0 }), z.ready({ 'Socket-Type': 'XSUB' }), z.message([Buffer.from('\x01weather')]), z.message([Buffer.from('\x00weather')]), z.message([Buffer.from('\x02other')])]),
    );
    assert.deepEqual(
      cmds(sub).map((c) => [c.name, str(c.topic), c.detail]),
      [
        ['READY', undefined, undefined],
        ['SUBSCRIBE', 'weather', '3.0 message form'],
        ['CANCEL', 'weather', '3.0 message form'],
      ],
    );
    assert.deepEqual(msgs(sub)[0].frames, ['\x02other'], 'an XSUB may send other messages upstream');
    const cmd31 = decodeAll(Buffer.concat([z.greeting(), z.ready({ 'Socket-Type': 'SUB' }), z.command('SUBSCRIBE', Buffer.from('A')), z.command('CANCEL', Buffer.from(''))]));
    assert.deepEqual(
      cmds(cmd31).slice(1).map((c) => [c.name, str(c.topic), c.detail]),
      [
        ['SUBSCRIBE', 'A', undefined],
        ['CANCEL', '', undefined],
      ],
    );
    const dealer = decodeAll(z.nullStream('DEALER', [[Buffer.from('\x01not a subscription')]]));
    assert.equal(msgs(dealer).length, 1);
  });

  it('knows when a message is in flight, so a close that cuts it can say so', () => {
    const { d } = decoder();
    d.push(Buffer.concat([z.greeting(), z.ready({ 'Socket-Type': 'PUSH' })]));
    assert.equal(d.hasPartialMessage, false);
    const msg = z.message([Buffer.from('first'), Buffer.from('second frame')]);
    d.push(msg.subarray(0, 9)); // the first frame and half of the second's header
    assert.equal(d.hasPartialMessage, true);
    d.push(msg.subarray(9));
    assert.equal(d.hasPartialMessage, false);
  });

  it('groups MORE frames into messages, with short, long and LONG-flagged small frames', () => {
    const stream = Buffer.concat([
      z.greeting(),
      z.ready({ 'Socket-Type': 'PUSH' }),
      z.frame(Buffer.from('x'), { more: true, long: true }),
      z.frame(Buffer.alloc(256, 0x61), { more: true }),
      z.frame(Buffer.alloc(0)),
    ]);
    assert.deepEqual(msgs(decodeAll(stream)), [{ t: 'message', frames: ['x', 'a'.repeat(256), ''], truncated: undefined, encrypted: false }]);
  });

  it('keeps at most maxCapturedFrameBytes of a frame and its size, for a 4 GiB declared frame too', () => {
    const { d, out } = decoder({ maxCapturedFrameBytes: 10 });
    d.push(Buffer.concat([z.greeting(), z.ready({ 'Socket-Type': 'PUSH' }), z.message([Buffer.from('0123456789abcdef')])]));
    assert.deepEqual(msgs(out)[0], { t: 'message', frames: ['0123456789'], truncated: { 0: 16 }, encrypted: false });
    // a frame that declares 4 GiB: nothing near that size is allocated, the rest is counted
    const hdr = Buffer.from([0x02, 0, 0, 0, 1, 0, 0, 0, 0]);
    const heap = process.memoryUsage().arrayBuffers;
    d.push(hdr);
    const mib = Buffer.alloc(1024 * 1024, 0x42);
    for (let i = 0; i < 64; i++) {
      d.push(mib);
      assert.ok(d.bufferedBytes <= 10, `holds ${d.bufferedBytes} B`);
    }
    assert.ok(process.memoryUsage().arrayBuffers - heap < 16 * 1024 * 1024);
    assert.equal(msgs(out).length, 1, 'still inside the 4 GiB frame');
    assert.equal(d.isUndecodable, false);
  });

  it('says why a stream is not ZMTP 3.x and then only counts bytes', () => {
    const cases: [Buffer, string][] = [
      [Buffer.from([0x01, 0x00, 0x01, 0x00]), 'not decoded: version 1.0'],
      [Buffer.from([0xff, 0, 0, 0, 0, 0, 0, 0, 5, 0x00]), 'not decoded: version 1.0'],
      [Buffer.from([0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 0x01, 0x05, 0, 0]), 'not decoded: version 2.0'],
      [Buffer.from([0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 0x00, 0x05]), 'not decoded: version 1.0'],
      [Buffer.from('GET / HTTP/1.1\r\n'), 'not ZMTP: stream starts with 47 45 54 20 2f 20 48 54 ("GET / HT")'],
      [Buffer.concat([z.greeting({ mechanism: 'nul' })]), 'not ZMTP: bad mechanism name in greeting (6e 75 6c 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00)'],
      [Buffer.concat([z.greeting({ mechanism: '' })]), 'not ZMTP: empty mechanism in greeting'],
      [Buffer.concat([z.greeting(), Buffer.from([0x08, 0])]), 'reserved flag bits set in frame header (flags 0x08)'],
      [Buffer.concat([z.greeting(), Buffer.from([0x05, 0])]), 'command frame with the MORE flag'],
      [Buffer.concat([z.greeting(), Buffer.from([0x06, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])]), 'frame size ffffffffffffffff (hex) is beyond any real frame'],
      [Buffer.concat([z.greeting(), Buffer.from([0x04, 0x03, 0x05, 0x41, 0x42])]), 'malformed command frame (3 B)'],
      [Buffer.concat([z.greeting(), Buffer.from([0x04, 0x02, 0x01, 0x00])]), 'malformed command name (2 B command frame)'],
    ];
    for (const [bytes, why] of cases) {
      const { d, out } = decoder();
      d.push(bytes);
      assert.equal(reason(out), why, bytes.toString('hex'));
      d.push(Buffer.alloc(1000, 0xff));
      assert.equal(out.filter((o) => o.t === 'undecodable').length, 1);
      assert.equal(d.bytes, bytes.length + 1000);
    }
  });

  it('masks the PLAIN password and leaves no copy of it in what it hands out', () => {
    const password = 'hunter2-xyz';
    const hello = Buffer.concat([Buffer.from([5]), Buffer.from('alice'), Buffer.from([password.length]), Buffer.from(password)]);
    const { out } = (() => {
      const r = decoder();
      r.d.push(Buffer.concat([z.greeting({ mechanism: 'PLAIN' }), z.command('HELLO', hello), z.command('INITIATE', z.properties({ 'Socket-Type': 'REQ' }))]));
      return r;
    })();
    const [h, init] = cmds(out);
    assert.equal(h.detail, 'user "alice", password ***');
    assert.equal(h.properties, undefined);
    assert.equal(str(init.properties!['Socket-Type']), 'REQ');
    assert.ok(!JSON.stringify(out).includes(password));
    // message frames are views of the pushed chunk, except in a chunk that held a HELLO
    const frames: Uint8Array[] = [];
    const d = new ZmtpDecoder({ greeting() {}, command() {}, message: (f) => frames.push(...f), undecodable: assert.fail });
    const one = Buffer.concat([z.greeting({ mechanism: 'PLAIN' }), z.command('HELLO', hello), z.command('INITIATE', z.properties({ 'Socket-Type': 'REQ' })), z.message([Buffer.from('m1')])]);
    // own ArrayBuffers, as node:net hands out socket chunks (a pooled Buffer would share one)
    const chunk1 = new Uint8Array(one);
    const chunk2 = new Uint8Array(z.message([Buffer.from('m2')]));
    d.push(chunk1);
    d.push(chunk2);
    assert.equal(frames.length, 2);
    assert.notEqual(frames[0].buffer, chunk1.buffer, 'a copy: the chunk with the HELLO holds the password');
    assert.equal(Buffer.from(frames[0]).toString(), 'm1');
    assert.equal(frames[1].buffer, chunk2.buffer, 'a view');
  });

  it('counts CURVE MESSAGE frames as encrypted with their plaintext size, keeping no ciphertext', () => {
    const box = (n: number) => Buffer.concat([Buffer.from('\x07MESSAGE'), Buffer.alloc(8 + 16 + 1 + n, 0x33)]);
    const out = decodeAll(
      Buffer.concat([
        z.greeting({ mechanism: 'CURVE' }),
        z.command('HELLO', Buffer.concat([Buffer.from([1, 0]), Buffer.alloc(72 + 32 + 8 + 80)])),
        z.frame(box(0), { more: true }),
        z.frame(box(500)),
        z.command('MESSAGE', box(7).subarray(8)),
      ]),
      { maxCapturedFrameBytes: 4 },
    );
    assert.equal(cmds(out)[0].detail, 'CURVE version 1.0, client transient key 32 B, signature box 80 B');
    assert.deepEqual(msgs(out), [
      { t: 'message', frames: ['', ''], truncated: { 1: 500 }, encrypted: true },
      { t: 'message', frames: [''], truncated: { 0: 7 }, encrypted: true },
    ]);
  });

  it('hands out an endless run of MORE frames in parts, so memory stays bounded', () => {
    const { d, out } = decoder({ maxFramesPerMessage: 100 });
    d.push(Buffer.concat([z.greeting(), z.ready({ 'Socket-Type': 'PUSH' })]));
    const more = z.frame(Buffer.from('m'), { more: true });
    for (let i = 0; i < 1050; i++) d.push(more);
    assert.equal(msgs(out).length, 10);
    assert.ok(msgs(out).every((m) => m.frames.length === 100));
    assert.ok(d.bufferedBytes <= 100);
    // the same run in one chunk, on the wire path: the same parts
    const w = decoder({ maxFramesPerMessage: 100, wireMessages: true });
    w.d.push(Buffer.concat([z.greeting(), z.ready({ 'Socket-Type': 'PUSH' }), ...Array.from({ length: 1050 }, () => more)]));
    assert.deepEqual(msgs(w.out), msgs(out));
    assert.equal(w.wire.messages, 10);
  });

  it('caps the captured bytes of one multipart message', () => {
    const out = decodeAll(z.nullStream('PUSH', [[Buffer.alloc(60, 1), Buffer.alloc(60, 2), Buffer.alloc(60, 3)]]), { maxCapturedMessageBytes: 100 });
    const [m] = msgs(out);
    assert.deepEqual(
      m.frames.map((f) => f.length),
      [60, 40, 0],
    );
    assert.deepEqual(m.truncated, { 1: 60, 2: 60 });
    const viaWire = decodeAll(z.nullStream('PUSH', [[Buffer.alloc(60, 1), Buffer.alloc(60, 2), Buffer.alloc(60, 3)]]), { maxCapturedMessageBytes: 100, wireMessages: true });
    assert.deepEqual(msgs(viaWire), [m]);
  });

  it('on the wire path, hands out whole in-chunk messages as wire bytes and everything else as it would have', () => {
    const payloads = [[Buffer.from('a')], [Buffer.from('id'), Buffer.alloc(0), Buffer.alloc(300, 9)], [Buffer.alloc(2000, 3)], [Buffer.alloc(70, 5)]];
    const stream = z.nullStream('DEALER', payloads);
    const general = decodeAll(stream, { maxCapturedFrameBytes: 1000 });
    // in one chunk: all but the truncated 2000 B frame take the wire path
    const one = decoder({ maxCapturedFrameBytes: 1000, wireMessages: true });
    one.d.push(stream);
    assert.deepEqual(one.out, general);
    assert.equal(one.wire.messages, 3);
    assert.deepEqual(msgs(one.out)[2].truncated, { 0: 2000 });
    // cut in the middle of the three-frame message: its first frames become views of the first chunk
    const cut = stream.indexOf(Buffer.alloc(300, 9)) + 10;
    const two = decoder({ maxCapturedFrameBytes: 1000, wireMessages: true });
    const first = Buffer.from(stream.subarray(0, cut));
    two.d.push(first);
    two.d.push(Buffer.from(stream.subarray(cut)));
    assert.deepEqual(two.out, general);
    assert.equal(two.wire.messages, 2);
    // messages from SUB/XSUB (3.0 subscriptions) and CURVE never take it
    const sub = decoder({ wireMessages: true });
    sub.d.push(z.nullStream('SUB', [[Buffer.from([1, 0x41])], [Buffer.from('x')]]));
    assert.equal(sub.wire.messages, 0);
    assert.equal(cmds(sub.out).filter((c) => c.name === 'SUBSCRIBE').length, 1);
  });

  describe('fuzz', function () {
    this.timeout(60000);

    it('survives 100,000 random and mutated streams: no throw, no hang, bounded memory, chunking-independent', () => {
      const gc = exposeGc();
      gc();
      const heapBefore = process.memoryUsage().heapUsed;
      const rnd = xorshift(0x5eed1234);
      const opts: ZmtpDecoderOptions = { maxCapturedFrameBytes: 64, maxCommandBytes: 512, maxCapturedMessageBytes: 1024, maxFramesPerMessage: 50 };
      const bound = 9 + 512 + 1024;
      const bases = baseStreams(rnd);
      let decoded = 0;
      let undecodable = 0;
      let bytes = 0;
      const started = Date.now();
      const N = 100_000;
      for (let n = 0; n < N; n++) {
        const base = bases[n % bases.length];
        const kind = n % 10;
        const stream = kind === 0 ? randomBytes(rnd, 1 + (rnd() % 600)) : kind === 1 ? base : mutate(base, rnd);
        bytes += stream.length;
        let events = 0;
        const d = new ZmtpDecoder(
          {
            greeting: () => events++,
            command: () => events++,
            message: (frames) => {
              events++;
              assert.ok(frames.length <= 50);
            },
            undecodable: () => undecodable++,
          },
          opts,
        );
        let pos = 0;
        while (pos < stream.length) {
          const len = 1 + (rnd() % (rnd() % 4 === 0 ? 8 : 300));
          d.push(stream.subarray(pos, pos + len));
          pos += len;
          if (d.bufferedBytes > bound) assert.fail(`stream ${n}: decoder holds ${d.bufferedBytes} B > ${bound}`);
        }
        assert.equal(d.bytes, stream.length);
        if (kind === 1 || n % 97 === 0) {
          // unmutated streams: one-shot decoding and chunked decoding agree
          const whole = decodeAll(stream, opts);
          const chunked = decodeAll(stream, opts, 1 + (n % 13));
          assert.deepEqual(chunked, whole, `stream ${n}`);
        }
        if (n % 7 === 0) {
          // the wire path (the tap's) agrees with the general path, on mutated streams too
          const wireOpts = { ...opts, wireMessages: true };
          assert.deepEqual(decodeAll(stream, wireOpts), decodeAll(stream, opts), `stream ${n}, wire path`);
          assert.deepEqual(decodeAll(stream, wireOpts, 1 + (n % 301)), decodeAll(stream, opts), `stream ${n}, wire path, chunked`);
        }
        if (n % 7 === 3) {
          // the native spy's read path (one reused read buffer into a capture) keeps what the general path decodes
          const general = msgs(decodeAll(stream, opts)).map((m) => ({ frames: m.frames, truncated: m.truncated, encrypted: m.encrypted }));
          assert.deepEqual(spyReadPath(stream, opts, 1 + (n % 509)), general, `stream ${n}, spy read path`);
        }
        decoded += events;
      }
      const ms = Date.now() - started;
      gc();
      const growth = process.memoryUsage().heapUsed - heapBefore;
      console.log(`      ${N} streams, ${(bytes / 1e6).toFixed(1)} MB in ${ms} ms; ${decoded} items decoded, ${undecodable} streams undecodable; heap +${(growth / 1e6).toFixed(1)} MB`);
      assert.ok(decoded > N, 'the valid parts decode');
      assert.ok(undecodable > N / 10, 'garbage is detected');
      assert.ok(growth < 30e6, `heap grew by ${growth} B`);
    });
  });
});

function exposeGc(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

function xorshift(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

function randomBytes(rnd: () => number, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = rnd() & 0xff;
  return b;
}

/** Valid streams of every shape the decoder knows. */
function baseStreams(rnd: () => number): Buffer[] {
  const frames = (k: number) => Array.from({ length: 1 + (k % 4) }, (_, i) => randomBytes(rnd, [0, 1, 5, 64, 65, 255, 256, 700][(k + i) % 8]));
  const out: Buffer[] = [];
  for (let k = 0; k < 40; k++) {
    const type = ['REQ', 'REP', 'DEALER', 'ROUTER', 'PUSH', 'PULL', 'PAIR', 'SUB', 'XSUB', 'PUB'][k % 10];
    const parts: Buffer[] = [z.greeting({ minor: k % 2, asServer: k % 3 === 0 }), z.ready({ 'Socket-Type': type, Identity: k % 2 ? 'id' : '', 'X-K': String(k) })];
    for (let m = 0; m < 1 + (k % 6); m++) {
      if (type.endsWith('SUB')) parts.push(m % 2 ? z.command('SUBSCRIBE', randomBytes(rnd, m)) : z.message([Buffer.concat([Buffer.from([m % 2]), randomBytes(rnd, m)])]));
      else parts.push(z.message(frames(k + m)));
      if (m === 2) parts.push(z.command('PING', Buffer.from([0, 10, 1])), z.command('PONG', Buffer.from([1])));
    }
    out.push(Buffer.concat(parts));
  }
  const hello = Buffer.concat([Buffer.from([3]), Buffer.from('bob'), Buffer.from([2]), Buffer.from('pw')]);
  out.push(Buffer.concat([z.greeting({ mechanism: 'PLAIN' }), z.command('HELLO', hello), z.command('INITIATE', z.properties({ 'Socket-Type': 'REQ' })), z.message([Buffer.alloc(0), Buffer.from('x')])]));
  out.push(Buffer.concat([z.greeting({ mechanism: 'PLAIN', asServer: true }), z.command('WELCOME'), z.ready({ 'Socket-Type': 'REP' }), z.command('ERROR', Buffer.from('\x03bad'))]));
  out.push(
    Buffer.concat([
      z.greeting({ mechanism: 'CURVE' }),
      z.command('HELLO', randomBytes(rnd, 194)),
      z.command('INITIATE', randomBytes(rnd, 300)),
      z.frame(Buffer.concat([Buffer.from('\x07MESSAGE'), randomBytes(rnd, 60)])),
      z.command('MESSAGE', randomBytes(rnd, 40)),
    ]),
  );
  out.push(Buffer.concat([z.greeting(), z.ready({ 'Socket-Type': 'PAIR' }), z.frame(randomBytes(rnd, 3000), { more: true }), z.frame(randomBytes(rnd, 10))]));
  return out;
}

/** One to four mutations: bit flips, random bytes, insertions, deletions, duplications, truncation. */
function mutate(base: Buffer, rnd: () => number): Buffer {
  let b = Buffer.from(base);
  const count = 1 + (rnd() % 4);
  for (let i = 0; i < count && b.length > 0; i++) {
    const at = rnd() % b.length;
    switch (rnd() % 7) {
      case 0:
        b[at] ^= 1 << (rnd() % 8);
        break;
      case 1:
        b[at] = rnd() & 0xff;
        break;
      case 2:
        b = Buffer.concat([b.subarray(0, at), randomBytes(rnd, 1 + (rnd() % 16)), b.subarray(at)]);
        break;
      case 3:
        b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + (rnd() % 32)))]);
        break;
      case 4:
        b = Buffer.concat([b.subarray(0, at), b.subarray(at, at + 1 + (rnd() % 64)), b.subarray(at)]);
        break;
      case 5:
        b = b.subarray(0, at);
        break;
      case 6:
        // a plausible header with a wild size
        b = Buffer.concat([b.subarray(0, at), Buffer.from([[0, 1, 2, 3, 4, 6][rnd() % 6], rnd() & 0xff, rnd() & 0xff, rnd() & 0xff, 0, 0, 0, 0, 0]), b.subarray(at)]);
        break;
    }
  }
  return b;
}
