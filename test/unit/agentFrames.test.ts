/**
 * The agent connection's framing (agentFrames.ts): whatever the chunks' cuts,
 * every frame comes out whole, byte for byte, in order, once; a frame cut by a
 * chunk's end is the only one copied; a bad length stops the reading on its
 * header; detach() makes what is held survive its chunk being written over
 * (the shared ring's read buffer is used again each read).
 */
import { strict as assert } from 'node:assert';
import { FrameReader } from '../../src/core/sessions/agentFrames';

/** Frames of lengths 1 to 3000 (a few of exactly 4 bytes), each its own bytes. */
function frames(n: number, seed = 7): Buffer[] {
  let s = seed;
  const rnd = () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  return Array.from({ length: n }, (_, i) => {
    const len = i % 17 === 0 ? 4 : 1 + Math.floor(rnd() * 3000);
    const b = Buffer.alloc(len);
    for (let k = 0; k < len; k++) b[k] = (i * 31 + k * 7) & 0xff;
    return b;
  });
}

function wire(bodies: Buffer[]): Buffer {
  return Buffer.concat(
    bodies.flatMap((b) => {
      const h = Buffer.alloc(4);
      h.writeUInt32BE(b.length);
      return [h, b];
    }),
  );
}

/** A reader that copies each frame it is handed (they are views, valid during the call only). */
function collecting(max = 1 << 20): { reader: FrameReader; got: Buffer[]; views: Buffer[]; bad: number[] } {
  const got: Buffer[] = [];
  const views: Buffer[] = [];
  const bad: number[] = [];
  const reader = new FrameReader(
    {
      frame: (body) => {
        got.push(Buffer.from(body));
        views.push(body);
        return true;
      },
      badLength: (len) => bad.push(len),
    },
    max,
  );
  return { reader, got, views, bad };
}

describe('agent frames: the framing of an agent connection', () => {
  const bodies = frames(400);
  const bytes = wire(bodies);

  for (const cut of [1, 3, 4, 5, 1000, 4096, 65536]) {
    it(`chunks of ${cut} bytes: every frame once, byte for byte, in order`, () => {
      const { reader, got, bad } = collecting();
      for (let off = 0; off < bytes.length; off += cut) assert.equal(reader.push(bytes.subarray(off, off + cut)), true);
      assert.deepEqual(bad, []);
      assert.equal(got.length, bodies.length);
      got.forEach((g, i) => assert.ok(g.equals(bodies[i]), `frame ${i}`));
      assert.equal(reader.heldBytes, 0);
    });
  }

  it('random cuts, and a chunk written over after each read (detach): the same frames', () => {
    let s = 3;
    const rnd = () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const { reader, got } = collecting();
    const scratch = Buffer.alloc(10_000);
    for (let off = 0; off < bytes.length; ) {
      const n = Math.min(bytes.length - off, 1 + Math.floor(rnd() * 9000));
      bytes.copy(scratch, 0, off, off + n);
      reader.push(scratch.subarray(0, n));
      reader.detach();
      scratch.fill(0xee); // the next read writes over it
      off += n;
    }
    assert.equal(got.length, bodies.length);
    got.forEach((g, i) => assert.ok(g.equals(bodies[i]), `frame ${i}`));
  });

  it('a chunk that completes a cut frame: only that frame is joined, the frames after it are views of the chunk', () => {
    const { reader, got, views } = collecting();
    // frame 0 whole in the first chunk; the last 10 bytes of frame 1 come with the second, then frames 2..399
    const split = 4 + bodies[0].length + 4 + bodies[1].length - 10;
    reader.push(bytes.subarray(0, split));
    assert.equal(reader.heldBytes, 4 + bodies[1].length - 10);
    const second = Buffer.from(bytes.subarray(split));
    reader.push(second);
    assert.equal(got.length, bodies.length);
    got.forEach((g, i) => assert.ok(g.equals(bodies[i]), `frame ${i}`));
    assert.notEqual(views[1].buffer, second.buffer);
    for (let i = 2; i < views.length; i++) assert.equal(views[i].buffer, second.buffer, `frame ${i} was copied`);
  });

  it('checks a length on its header, before the body is held: 0 and over the limit stop the reading', () => {
    const over = collecting(100);
    const head = Buffer.alloc(4);
    head.writeUInt32BE(101);
    // the header alone, in two pieces: refused once its 4th byte is in
    assert.equal(over.reader.push(head.subarray(0, 2)), true);
    assert.equal(over.reader.push(head.subarray(2)), false);
    assert.deepEqual(over.bad, [101]);
    assert.equal(over.reader.heldBytes, 0);
    const zero = collecting();
    assert.equal(zero.reader.push(Buffer.concat([wire([Buffer.from('ok')]), Buffer.alloc(4)])), false);
    assert.deepEqual(zero.bad, [0]);
    assert.deepEqual(
      zero.got.map((g) => g.toString()),
      ['ok'],
    );
  });

  it('a sink that says stop: no frame after it is handed over', () => {
    let n = 0;
    const reader = new FrameReader({ frame: () => ++n < 3, badLength: () => assert.fail('no bad length') }, 1 << 20);
    assert.equal(reader.push(bytes), false);
    assert.equal(n, 3);
  });
});
