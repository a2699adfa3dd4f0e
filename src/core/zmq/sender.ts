/**
 * Sockets the frames viewer's composer sends from: PUB, PUSH, REQ (waits for the
 * reply), DEALER and PAIR (show the first reply that comes within a moment),
 * bound or connected. One socket is kept per
 * (type, mode, endpoint) until the sender is disposed (the panel closes), so a
 * subscriber that joined once keeps receiving. Uses real zeromq sockets, loaded
 * lazily.
 */
import type { Dealer, Pair, Publisher, Push, Request } from 'zeromq';

type Socket = Publisher | Push | Request | Dealer | Pair;
import { Buffer } from 'node:buffer';
import { connectAddressFor, parseEndpoint } from './endpoint';
import { Disposable } from '../base/lifecycle';
import { zmq } from './zmqLoader';
import type { ComposerFrame, SendMode, SendSocketType } from '../../shared/composer';

export interface SendOptions {
  socketType: SendSocketType;
  mode: SendMode;
  endpoint: string;
  frames: Uint8Array[];
}

export interface SendResult {
  /** What happened, for the user ("Sent 2 frames ...", "... no subscriber was connected"). */
  message: string;
  /** REQ, and DEALER/PAIR when one came in time: the reply's frames. */
  reply?: Buffer[];
}

export class SendError extends Error {}

/** Turns composer frames (text, hex or JSON) into bytes; the error names the frame. */
export function encodeFrames(frames: ComposerFrame[]): Buffer[] {
  return frames.map((f, i) => {
    switch (f.format) {
      case 'text':
        return Buffer.from(f.value, 'utf8');
      case 'hex': {
        const hex = f.value.replace(/\s+/g, '').replace(/^0x/i, '');
        if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
          throw new SendError(`Frame ${i + 1}: expected an even number of hex digits (spaces allowed), got '${f.value.slice(0, 40)}'`);
        }
        return Buffer.from(hex, 'hex');
      }
      case 'json':
        try {
          // sent compact, exactly as JSON.stringify writes it
          return Buffer.from(JSON.stringify(JSON.parse(f.value)), 'utf8');
        } catch (e) {
          throw new SendError(`Frame ${i + 1}: not valid JSON (${(e as Error).message})`);
        }
    }
  });
}

interface Entry {
  socket: Socket;
  key: string;
  /** Operations on one socket run one after the other (REQ must alternate send/receive). */
  queue: Promise<unknown>;
  peers: number;
  handshake: Promise<void>;
}

export class Sender implements Disposable {
  private readonly sockets = new Map<string, Entry>();
  private disposed = false;

  /**
   * `timeoutMs`: how long a send may wait for a peer, and REQ for its reply.
   * DEALER and PAIR need not get a reply at all: they wait `replyWaitMs` for one.
   */
  constructor(
    private readonly timeoutMs = 5000,
    private readonly replyWaitMs = Math.min(1000, timeoutMs),
  ) {}

  /** Number of open sockets (tests check that dispose closes them). */
  get openSockets(): number {
    return this.sockets.size;
  }

  send(options: SendOptions): Promise<SendResult> {
    if (this.disposed) return Promise.reject(new SendError('The sender is closed'));
    if (options.frames.length === 0) return Promise.reject(new SendError('Add at least one frame to send'));
    let entry: Entry;
    try {
      entry = this.socketFor(options);
    } catch (e) {
      return Promise.reject(e);
    }
    const run = entry.queue.then(() => this.sendOn(entry, options));
    entry.queue = run.catch(() => undefined);
    return run;
  }

  private socketFor(o: SendOptions): Entry {
    let ep;
    try {
      ep = parseEndpoint(o.endpoint);
    } catch (e) {
      throw new SendError((e as Error).message);
    }
    const key = `${o.socketType} ${o.mode} ${ep.text}`;
    const existing = this.sockets.get(key);
    if (existing) return existing;
    const z = zmq();
    // immediate: queue only to connected peers, so "nobody is there" is an error, not a silently parked message
    const send = { linger: 0, sendTimeout: this.timeoutMs, immediate: o.mode === 'connect' };
    const mayReply = { ...send, receiveTimeout: this.replyWaitMs };
    const socket: Socket =
      o.socketType === 'PUB' ? new z.Publisher({ linger: 0 })
      : o.socketType === 'PUSH' ? new z.Push(send)
      : o.socketType === 'REQ' ? new z.Request({ ...send, receiveTimeout: this.timeoutMs })
      : o.socketType === 'DEALER' ? new z.Dealer(mayReply)
      : new z.Pair(mayReply);
    let sawHandshake!: () => void;
    const entry: Entry = { socket, key, queue: Promise.resolve(), peers: 0, handshake: new Promise((r) => (sawHandshake = r)) };
    void (async () => {
      try {
        for await (const e of socket.events) {
          if (e.type === 'handshake') {
            entry.peers++;
            sawHandshake();
          } else if (e.type === 'disconnect') entry.peers = Math.max(0, entry.peers - 1);
          else if (e.type === 'end') break;
        }
      } catch {
        // the observer ends with the socket
      }
    })();
    try {
      if (o.mode === 'bind') {
        // zeromq.js binds asynchronously; sendOn awaits it through `bound`
        entry.queue = socket.bind(ep.text).catch((e: Error) => {
          this.forget(entry);
          throw new SendError(`Cannot bind ${ep.text}: ${e.message}`);
        });
      } else socket.connect(connectAddressFor(ep));
    } catch (e) {
      this.forget(entry);
      throw new SendError(`Cannot ${o.mode} ${ep.text}: ${(e as Error).message}`);
    }
    this.sockets.set(key, entry);
    return entry;
  }

  private async sendOn(entry: Entry, o: SendOptions): Promise<SendResult> {
    const what = `${o.frames.length} frame${o.frames.length === 1 ? '' : 's'} from ${o.socketType} (${o.mode} ${o.endpoint})`;
    const frames = o.frames.map((f) => Buffer.from(f.buffer, f.byteOffset, f.byteLength));
    if (o.socketType === 'PUB') {
      // a PUB drops what no subscriber asked for: give a joining subscriber a moment to subscribe
      if (entry.peers === 0) {
        await Promise.race([entry.handshake, sleep(Math.min(1000, this.timeoutMs))]);
        if (entry.peers > 0) await sleep(100);
      }
      await (entry.socket as Push).send(frames);
      return { message: entry.peers > 0 ? `Sent ${what}` : `Sent ${what}, but no subscriber was connected: a PUB socket drops it` };
    }
    const mayReply = o.socketType === 'DEALER' || o.socketType === 'PAIR';
    // replies to earlier sends that came after we stopped waiting: not this send's
    const late = mayReply ? await this.drainLateReplies(entry.socket as Dealer | Pair) : 0;
    try {
      await (entry.socket as Push).send(frames);
    } catch (e) {
      if (isTimeout(e)) throw new SendError(`No peer took the message within ${this.timeoutMs / 1000} s: is anything ${o.mode === 'bind' ? 'connected to' : 'listening on'} ${o.endpoint}?`);
      throw new SendError(`Send failed: ${(e as Error).message}`);
    }
    if (mayReply) return this.firstReply(entry.socket as Dealer | Pair, what, late);
    if (o.socketType !== 'REQ') return { message: `Sent ${what}` };
    try {
      const reply = await (entry.socket as Request).receive();
      return { message: `Sent ${what}; reply of ${reply.length} frame${reply.length === 1 ? '' : 's'}`, reply };
    } catch (e) {
      // a REQ that got no reply cannot send again: start over with a fresh socket next time
      this.forget(entry);
      if (isTimeout(e)) throw new SendError(`Sent ${what}, but no reply came within ${this.timeoutMs / 1000} s (the REQ socket was reset)`);
      throw new SendError(`Receiving the reply failed: ${(e as Error).message}`);
    }
  }

  /** DEALER/PAIR: the first message back within replyWaitMs, if any (none is no error). */
  private async firstReply(socket: Dealer | Pair, what: string, late: number): Promise<SendResult> {
    const lateNote = late ? ` (${late} late repl${late === 1 ? 'y' : 'ies'} to earlier sends skipped)` : '';
    try {
      const reply = await socket.receive();
      return { message: `Sent ${what}; reply of ${reply.length} frame${reply.length === 1 ? '' : 's'}${lateNote}`, reply };
    } catch (e) {
      if (isTimeout(e)) return { message: `Sent ${what}; no reply within ${this.replyWaitMs / 1000} s${lateNote}` };
      throw new SendError(`Sent ${what}, but receiving failed: ${(e as Error).message}`);
    }
  }

  /** Receives, without waiting, what is already queued on the socket; returns how many. */
  private async drainLateReplies(socket: Dealer | Pair): Promise<number> {
    let n = 0;
    socket.receiveTimeout = 0;
    try {
      for (;;) {
        await socket.receive();
        n++;
      }
    } catch (e) {
      if (!isTimeout(e)) throw new SendError(`Receiving failed: ${(e as Error).message}`);
    } finally {
      socket.receiveTimeout = this.replyWaitMs;
    }
    return n;
  }

  private forget(entry: Entry): void {
    if (this.sockets.get(entry.key) === entry) this.sockets.delete(entry.key);
    entry.socket.close();
  }

  /** Closes every socket. */
  dispose(): void {
    this.disposed = true;
    for (const e of this.sockets.values()) e.socket.close();
    this.sockets.clear();
  }
}

function isTimeout(e: unknown): boolean {
  return (e as { code?: string }).code === 'EAGAIN';
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
