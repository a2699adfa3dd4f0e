/**
 * The collector: where the zmq-debug agents inside programs report to. It
 * listens on 127.0.0.1 (port 0 unless told), hands out the environment that
 * loads the agents and points them here (`environment()`), accepts only agents
 * that present its per-session random token, and turns their reports into
 * capture records (source `agent`) and a live model of processes → sockets →
 * endpoints (`model`).
 *
 * Agent input is untrusted: every frame is bounded (`maxFrameBytes`), every
 * field checked; malformed or oversized input is counted (`stats`) and its
 * connection closed, never thrown. The token is never logged or put in a label.
 *
 * Any local process can connect, so a connection costs little until it proves
 * the token (the pre-authentication budget, docs/collector-limits.md): its first
 * frame may be at most `maxHelloBytes` (refused on its length, before a byte of
 * it is buffered), it has `helloTimeoutMs` to arrive, and unauthenticated
 * connections have slots of their own (`maxUnauthenticated` in all,
 * `maxUnauthenticatedPerPeer` per remote address): a new one takes the slot of
 * the oldest when they are full (counted as `evicted`), so connections that
 * hold slots idle or trickle their hello never keep an agent out. Agents that
 * said hello count against `maxAgents` only.
 *
 * Wire format (agent → collector), a plain TCP stream of frames
 * `[u32 BE length][body]`:
 * - body `J` + UTF-8 JSON object with a `type`: `hello` (first frame, carries
 *   `token`, `agent`, `pid`), `process`, `socket` (`op` open/bind/connect/
 *   unbind/disconnect/subscribe/unsubscribe/option/close), `error` (failed
 *   send/recv counts by errno), `wait` (sends a green/async layer held at the
 *   high-water mark), `event` (socket monitor event), `drops`, `exit`;
 * - body `M` + u8 direction (0 out, 1 in) + u32 socket number + f64 epoch
 *   seconds + u32 frame count, then per frame u32 original length + u32 kept
 *   length + the kept bytes: one message.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer, Server, Socket as NetSocket } from 'node:net';
import * as path from 'node:path';
import { Emitter } from '../base/lifecycle';
import { Capture } from '../capture/capture';
import { CallSite, CapturedEvent, CapturedMessage, CaptureRecord, SocketRecord } from '../capture/records';
import { AgentEndpointFacts, AgentProcessFacts, AgentStore, LIMITS, primaryEndpoint } from './agentStore';
import { nativeAgentLibrary, withNativeAgent } from './nativeAgent';
import { CaptureSession, SessionState } from './session';

export interface CollectorOptions {
  capture: Capture;
  /** Session id of the records (default `agent`). */
  id?: string;
  /** Default 127.0.0.1: agents run on this machine. */
  host?: string;
  /** Default 0: a free port. */
  port?: number;
  /** Largest frame accepted from an agent (default 64 MiB); a larger one closes that agent's connection. */
  maxFrameBytes?: number;
  /** An agent must say hello within this many ms (default 5000). */
  helloTimeoutMs?: number;
  /** Largest first (hello) frame accepted before the token is checked (default 8 KiB). */
  maxHelloBytes?: number;
  /** Most authenticated agents connected at once (default 256); connections still to say hello are not counted. */
  maxAgents?: number;
  /** Most connections waiting to say hello, in all (default 64): a new one evicts the oldest. */
  maxUnauthenticated?: number;
  /** Most connections waiting to say hello from one remote address (default 32): a new one evicts that address's oldest. */
  maxUnauthenticatedPerPeer?: number;
}

/** What the collector refused or could not read, by reason. */
export interface CollectorStats {
  /** Agent connections accepted (token right). */
  agents: number;
  /** Connections closed for a wrong or missing token, or no hello in time. */
  rejected: number;
  /** Connections still to say hello, closed to make room for a newer one (the pre-authentication slots were full). */
  evicted: number;
  /** Agents with the right token turned away: maxAgents were connected, or the collector was stopping. */
  refused: number;
  /** Frames or fields that could not be read (the connection is closed on a framing error). */
  malformed: number;
  /** Frames over maxFrameBytes (the connection is closed). */
  oversized: number;
  /** Reports agents said they dropped. */
  agentDropped: number;
  /** Message records appended. */
  messages: number;
}

/** Environment variables that load the agents and point them at a collector. */
export const COLLECTOR_ENV = 'ZMQ_DEBUG_COLLECTOR';
export const TOKEN_ENV = 'ZMQ_DEBUG_TOKEN';

/** The folder holding `python/sitecustomize.py` and `node/preload.js` (dist/agents in a build, src/core/agents in the sources). */
export function agentsDir(): string {
  const candidates = [path.join(__dirname, 'agents'), path.resolve(__dirname, '..', 'agents'), path.resolve(__dirname, '..', 'src', 'core', 'agents')];
  for (const c of candidates) if (existsSync(path.join(c, 'python', 'sitecustomize.py'))) return c;
  return candidates[1];
}

/**
 * A program may open and close sockets without end: the socket table keeps as
 * many closed sockets per process as the store (the most recent), the rest are
 * forgotten (their records stay in the capture).
 */
const MAX_CLOSED_SOCKETS = LIMITS.closedSockets;
/** A burst of new connections may exceed the pre-authentication limits this many times over before a fresh one is evicted. */
const BURST_FACTOR = 4;
/** Forgotten sockets whose type and endpoint are kept for late reports (monitor events, failure counts after the close). */
const FORGOTTEN_SOCKETS = 4096;

/** What the collector keeps of an agent's process to write its records. */
type ProcessEntry = Pick<AgentProcessFacts, 'pid' | 'name' | 'argv' | 'cwd' | 'ppid' | 'runtime' | 'state' | 'dropped'>;

/** What the collector keeps of a socket to write its records. */
interface SocketEntry {
  id: string;
  type: string;
  endpoints: Pick<AgentEndpointFacts, 'endpoint' | 'requested' | 'role' | 'state'>[];
}

interface AgentConn {
  socket: NetSocket;
  /** The remote address (the pre-authentication slots are counted per address). */
  peer: string;
  /** The accept turn it came in (see Collector.makeRoomFor). */
  turn: number;
  /** Received bytes not yet read as frames: chunks kept as they came, joined once a whole frame is in. */
  pending: Buffer[];
  pendingBytes: number;
  hello: boolean;
  process?: ProcessEntry;
  /** socket number → what its records need (the facts are the store's) */
  sockets: Map<number, SocketEntry>;
  /** Closed sockets still in the model, oldest first (at most MAX_CLOSED_SOCKETS). */
  closedSockets: Set<number>;
  /** Sockets forgotten from the model, most recent last: what a late report about one needs (at most FORGOTTEN_SOCKETS). */
  forgotten: Map<number, { id: string; type: string; endpoint: string }>;
  /** The highest socket number forgotten: agents number sockets upwards, so an unknown number up to it is a forgotten socket. */
  forgottenUpTo: number;
  timer?: NodeJS.Timeout;
  closed: boolean;
}

export class Collector implements CaptureSession {
  readonly kind = 'agent' as const;
  readonly id: string;
  /** The one store of what the agents reported (the Processes view reads it), fed every record written here. */
  readonly model = new AgentStore();
  private readonly capture: Capture;
  private readonly token = randomBytes(24).toString('hex');
  private readonly tokenBytes = Buffer.from(this.token);
  private readonly server: Server;
  private readonly conns = new Set<AgentConn>();
  private readonly maxFrame: number;
  private readonly helloTimeoutMs: number;
  private readonly maxAgents: number;
  private readonly maxHello: number;
  private readonly maxUnauthenticated: number;
  private readonly maxUnauthenticatedPerPeer: number;
  /** Connections still to say hello, oldest first (a Set keeps insertion order). */
  private readonly unauthenticated = new Set<AgentConn>();
  private authenticated = 0;
  private acceptTurn = 0;
  private turnScheduled = false;
  private readonly counters: CollectorStats = { agents: 0, rejected: 0, evicted: 0, refused: 0, malformed: 0, oversized: 0, agentDropped: 0, messages: 0 };
  private connectionCount = 0;
  private currentState: SessionState = 'connecting';
  private errorText?: string;
  private listenAddress = '';
  private stopping?: Promise<void>;
  private readonly stateEmitter = new Emitter<SessionState>();
  readonly onDidChangeState = this.stateEmitter.event;
  /** Resolves once listening (rejects when the port cannot be opened). */
  readonly ready: Promise<void>;

  constructor(options: CollectorOptions) {
    this.capture = options.capture;
    this.id = options.id ?? 'agent';
    this.maxFrame = options.maxFrameBytes ?? 64 * 1024 * 1024;
    this.helloTimeoutMs = options.helloTimeoutMs ?? 5000;
    this.maxAgents = options.maxAgents ?? 256;
    this.maxHello = options.maxHelloBytes ?? 8 * 1024;
    this.maxUnauthenticated = Math.max(1, options.maxUnauthenticated ?? 64);
    this.maxUnauthenticatedPerPeer = Math.max(1, options.maxUnauthenticatedPerPeer ?? 32);
    this.server = createServer((s) => this.accept(s));
    this.ready = new Promise<void>((resolve, reject) => {
      this.server.once('error', (err) => {
        this.errorText = `collector cannot listen: ${err.message}`;
        this.setState('error');
        reject(new Error(this.errorText));
      });
      this.server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
        const a = this.server.address();
        if (a && typeof a === 'object') this.listenAddress = `${a.address}:${a.port}`;
        this.server.on('error', () => undefined);
        this.setState('listening');
        resolve();
      });
    });
    this.ready.catch(() => undefined);
  }

  /** Starts a collector and waits until it listens. */
  static async start(options: CollectorOptions): Promise<Collector> {
    const c = new Collector(options);
    await c.ready;
    return c;
  }

  get label(): string {
    return `agents → ${this.listenAddress || 'not listening'}`;
  }

  get endpoints(): readonly string[] {
    return this.listenAddress ? [`tcp://${this.listenAddress}`] : [];
  }

  get state(): SessionState {
    return this.currentState;
  }

  get error(): string | undefined {
    return this.errorText;
  }

  /** host:port agents connect to ('' until listening). */
  get address(): string {
    return this.listenAddress;
  }

  stats(): Readonly<CollectorStats> {
    return { ...this.counters };
  }

  /**
   * The variables to set for a program to run with the agents and report here.
   * PYTHONPATH and NODE_OPTIONS are composed with the values in `base` (default
   * process.env): pass the environment the program would otherwise get.
   */
  environment(base: NodeJS.ProcessEnv = process.env): Record<string, string> {
    const parts = this.environmentParts();
    const py = base.PYTHONPATH ? `${parts.prepend.PYTHONPATH}${path.delimiter}${base.PYTHONPATH}` : parts.prepend.PYTHONPATH;
    const node = base.NODE_OPTIONS ? `${base.NODE_OPTIONS} ${parts.append.NODE_OPTIONS}` : parts.append.NODE_OPTIONS;
    const env: Record<string, string> = { ...parts.set, PYTHONPATH: py, NODE_OPTIONS: node };
    // the native agent (every program on a shared libzmq), after any library already preloaded
    if (parts.append.LD_PRELOAD) env.LD_PRELOAD = withNativeAgent(base.LD_PRELOAD, parts.append.LD_PRELOAD);
    return env;
  }

  /**
   * The same as parts, for VS Code's environmentVariableCollection: `replace`
   * the `set` ones, `prepend` PYTHONPATH (value + path.delimiter), `append`
   * NODE_OPTIONS (' ' + value) and LD_PRELOAD (':' + value; absent when no native agent loads here).
   */
  environmentParts(): { set: Record<string, string>; prepend: { PYTHONPATH: string }; append: { NODE_OPTIONS: string; LD_PRELOAD?: string } } {
    if (!this.listenAddress) throw new Error('The collector is not listening yet (await collector.ready)');
    const dir = agentsDir();
    const preload = path.join(dir, 'node', 'preload.js');
    const native = nativeAgentLibrary();
    return {
      set: { [COLLECTOR_ENV]: this.listenAddress, [TOKEN_ENV]: this.token },
      prepend: { PYTHONPATH: path.join(dir, 'python') },
      append: { NODE_OPTIONS: `--require ${/[\s"]/.test(preload) ? JSON.stringify(preload) : preload}`, ...(native ? { LD_PRELOAD: native } : {}) },
    };
  }

  stop(): Promise<void> {
    if (this.stopping) return this.stopping;
    this.stopping = new Promise<void>((resolve) => {
      for (const c of this.conns) this.close(c, 'collector stopped');
      this.server.close(() => resolve());
      if (!this.server.listening) resolve();
    }).then(() => {
      if (this.currentState !== 'error') this.setState('stopped');
      this.stateEmitter.dispose();
    });
    return this.stopping;
  }

  dispose(): void {
    void this.stop();
    this.model.dispose();
  }

  // -- connections ------------------------------------------------------------

  private accept(socket: NetSocket): void {
    if (this.stopping) {
      this.counters.refused++;
      socket.destroy();
      return;
    }
    const c: AgentConn = { socket, peer: socket.remoteAddress ?? '', turn: this.acceptTurn, pending: [], pendingBytes: 0, hello: false, sockets: new Map(), closedSockets: new Set(), forgotten: new Map(), forgottenUpTo: 0, closed: false };
    this.countAcceptTurn();
    this.makeRoomFor(c.peer);
    this.conns.add(c);
    this.unauthenticated.add(c);
    c.timer = setTimeout(() => {
      if (!c.hello) {
        this.counters.rejected++;
        this.close(c, 'no hello');
      }
    }, this.helloTimeoutMs);
    socket.on('data', (chunk: Buffer) => this.onData(c, chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => this.close(c, 'connection closed'));
  }

  /**
   * Frees a pre-authentication slot for a new connection from `peer`: the oldest
   * of that peer when it has its share, else the oldest of all. Only a connection
   * that has had a turn of the event loop to be read is evicted (an agent's hello
   * arrives with its connection: it authenticates on its first read), so a burst
   * of new connections cannot push out an agent before its hello is read; a burst
   * beyond BURST_FACTOR times the limits evicts the oldest anyway.
   */
  private makeRoomFor(peer: string): void {
    const seasoned = (u: AgentConn) => u.turn <= this.acceptTurn - 2;
    let samePeer = 0;
    let oldestOfPeer: AgentConn | undefined;
    let seasonedOfPeer: AgentConn | undefined;
    let seasonedOfAll: AgentConn | undefined;
    for (const u of this.unauthenticated) {
      const ripe = seasoned(u);
      if (ripe) seasonedOfAll ??= u;
      if (u.peer !== peer) continue;
      oldestOfPeer ??= u;
      if (ripe) seasonedOfPeer ??= u;
      samePeer++;
    }
    let victim: AgentConn | undefined;
    if (samePeer >= this.maxUnauthenticatedPerPeer) victim = seasonedOfPeer ?? (samePeer >= this.maxUnauthenticatedPerPeer * BURST_FACTOR ? oldestOfPeer : undefined);
    if (!victim && this.unauthenticated.size >= this.maxUnauthenticated) {
      victim = seasonedOfAll ?? (this.unauthenticated.size >= this.maxUnauthenticated * BURST_FACTOR ? this.unauthenticated.values().next().value : undefined);
    }
    if (!victim) return;
    this.counters.evicted++;
    this.close(victim, 'evicted before hello');
  }

  /** Counts turns of the event loop that accepted connections (see makeRoomFor). */
  private countAcceptTurn(): void {
    if (this.turnScheduled) return;
    this.turnScheduled = true;
    setImmediate(() => {
      this.turnScheduled = false;
      this.acceptTurn++;
    });
  }

  private close(c: AgentConn, why: string): void {
    if (c.closed) return;
    c.closed = true;
    clearTimeout(c.timer);
    this.conns.delete(c);
    if (!this.unauthenticated.delete(c) && c.hello) this.authenticated--;
    c.pending = [];
    c.pendingBytes = 0;
    c.socket.destroy();
    // The agent's end of the connection closed: its process ended (the kernel closes it at
    // exit, even at a SIGKILL). When the collector ends the connection (stopped, bad input)
    // the process may well run on: no exit is made up for it, it stays as last seen.
    const p = c.process;
    if (p && p.state === 'running' && why === 'connection closed') this.exited(c, p, Date.now());
    this.updateState();
  }

  private updateState(): void {
    if (this.stopping || this.currentState === 'error') return;
    this.setState(this.authenticated > 0 ? 'receiving' : 'listening');
  }

  private setState(s: SessionState): void {
    if (s === this.currentState) return;
    this.currentState = s;
    this.stateEmitter.fire(s);
  }

  /**
   * Reads the frames in `chunk` and what came before it. A frame split across
   * reads is joined once, when its last byte is in (chunks are collected, never
   * copied per read), and its length is checked on its 4-byte header, before
   * its body is buffered: a connection never holds more than one frame's worth.
   */
  private onData(c: AgentConn, chunk: Buffer): void {
    if (c.closed) return;
    let buf = chunk;
    if (c.pendingBytes) {
      c.pending.push(chunk);
      c.pendingBytes += chunk.length;
      if (c.pendingBytes < 4) return;
      if (c.pending[0].length < 4) c.pending = [Buffer.concat(c.pending, c.pendingBytes)];
      const len = c.pending[0].readUInt32BE(0);
      if (!this.frameLengthOk(c, len)) return;
      if (c.pendingBytes < 4 + len) return;
      buf = Buffer.concat(c.pending, c.pendingBytes);
      c.pending = [];
      c.pendingBytes = 0;
    }
    let off = 0;
    try {
      while (buf.length - off >= 4) {
        const len = buf.readUInt32BE(off);
        if (!this.frameLengthOk(c, len)) return;
        if (buf.length - off - 4 < len) break;
        const body = buf.subarray(off + 4, off + 4 + len);
        off += 4 + len;
        if (!this.onFrame(c, body)) return;
      }
    } catch {
      // never let agent input throw into the host
      this.counters.malformed++;
      this.close(c, 'unreadable input');
      return;
    }
    if (off < buf.length && !c.closed) {
      // a view: the chunk is this connection's alone, and only until the frame is complete
      c.pending = [buf.subarray(off)];
      c.pendingBytes = buf.length - off;
    }
  }

  /** A frame of `len` bytes may follow (the first one, the hello, is held to maxHelloBytes); otherwise the connection is closed and counted. */
  private frameLengthOk(c: AgentConn, len: number): boolean {
    if (len !== 0 && len <= (c.hello ? this.maxFrame : this.maxHello)) return true;
    if (len === 0) this.counters.malformed++;
    else this.counters.oversized++;
    if (!c.hello) this.counters.rejected++;
    this.close(c, 'bad frame length');
    return false;
  }

  /** Handles one frame; false when the connection was closed. */
  private onFrame(c: AgentConn, body: Buffer): boolean {
    const type = body[0];
    if (!c.hello) {
      const hello = type === 0x4a ? parseJson(body) : undefined;
      const token = hello && typeof hello.token === 'string' ? Buffer.from(hello.token) : undefined;
      if (!hello || hello.type !== 'hello' || !token || token.length !== this.tokenBytes.length || !timingSafeEqual(token, this.tokenBytes)) {
        this.counters.rejected++;
        this.close(c, 'rejected');
        return false;
      }
      clearTimeout(c.timer);
      this.unauthenticated.delete(c);
      if (this.authenticated >= this.maxAgents) {
        this.counters.refused++;
        this.close(c, 'too many agents');
        return false;
      }
      c.hello = true;
      this.authenticated++;
      this.counters.agents++;
      const pid = typeof hello.pid === 'number' && Number.isInteger(hello.pid) ? hello.pid : 0;
      ++this.connectionCount;
      c.process = { pid, name: `pid ${pid}`, argv: [], cwd: '', state: 'running', dropped: 0 };
      this.model.hello(this.id, pid, typeof hello.agent === 'string' ? hello.agent.slice(0, 32) : 'unknown', Date.now());
      this.updateState();
      return true;
    }
    if (type === 0x4d) {
      if (!this.onMessage(c, body)) {
        this.counters.malformed++;
        this.close(c, 'malformed message');
        return false;
      }
      return true;
    }
    const j = type === 0x4a ? parseJson(body) : undefined;
    if (!j || !this.onReport(c, j)) this.counters.malformed++; // a bad report is skipped; framing is intact
    return true;
  }

  private onMessage(c: AgentConn, b: Buffer): boolean {
    if (b.length < 18) return false;
    const direction = b[1] === 0 ? 'out' : b[1] === 1 ? 'in' : undefined;
    if (!direction) return false;
    const n = b.readUInt32BE(2);
    const tsSec = b.readDoubleBE(6);
    const count = b.readUInt32BE(14);
    if (count > (b.length - 18) / 8) return false;
    const frames: Uint8Array[] = new Array(count);
    let truncated: Record<number, number> | undefined;
    let off = 18;
    for (let i = 0; i < count; i++) {
      if (off + 8 > b.length) return false;
      const orig = b.readUInt32BE(off);
      const kept = b.readUInt32BE(off + 4);
      off += 8;
      if (kept > orig || off + kept > b.length) return false;
      frames[i] = b.subarray(off, off + kept);
      if (kept < orig) (truncated ??= {})[i] = orig;
      off += kept;
    }
    if (off !== b.length) return false;
    const p = c.process!;
    const s = this.socketOf(c, n);
    const ts = Number.isFinite(tsSec) && tsSec > 0 ? tsSec * 1000 : Date.now();
    const r: CapturedMessage = {
      kind: 'message',
      seq: 0,
      ts,
      session: this.id,
      source: 'agent',
      endpoint: primaryEndpoint(s),
      process: p.name,
      pid: p.pid,
      socket: s.id,
      direction,
      frames,
      socketType: s.type,
    };
    if (truncated) {
      // kept as an object by the capture: own copies, not views of the whole batch
      r.frames = frames.map((f) => Buffer.from(f));
      r.truncated = truncated;
    }
    splitEnvelope(r, s.type);
    this.record(r);
    this.counters.messages++;
    return true;
  }

  /** A record to the capture, and its facts to the store. */
  private record(r: CaptureRecord): void {
    this.model.ingest(r);
    this.capture.append(r);
  }

  private socketOf(c: AgentConn, n: number): SocketEntry {
    let s = c.sockets.get(n);
    if (!s) {
      const p = c.process!;
      s = { id: `${p.pid}.${n}`, type: '?', endpoints: [] };
      if (n <= c.forgottenUpTo) {
        // a late report about a socket the model forgot: its records get what is known, the model stays as it is
        const f = c.forgotten.get(n);
        if (f) Object.assign(s, { id: f.id, type: f.type, endpoints: f.endpoint ? [{ endpoint: f.endpoint, role: 'connect' as const, state: 'active' as const }] : [] });
        return s;
      }
      c.sockets.set(n, s);
    }
    return s;
  }

  /** A socket closed: it stays in the model among the process's most recent closed sockets, the oldest beyond them is forgotten. */
  private socketClosed(c: AgentConn, n: number): void {
    c.closedSockets.delete(n);
    c.closedSockets.add(n);
    if (c.closedSockets.size <= MAX_CLOSED_SOCKETS) return;
    const oldest: number = c.closedSockets.values().next().value!;
    c.closedSockets.delete(oldest);
    const s = c.sockets.get(oldest);
    if (!s) return;
    c.sockets.delete(oldest);
    c.forgotten.set(oldest, { id: s.id, type: s.type, endpoint: primaryEndpoint(s) });
    if (c.forgotten.size > FORGOTTEN_SOCKETS) c.forgotten.delete(c.forgotten.keys().next().value!);
    if (oldest > c.forgottenUpTo) c.forgottenUpTo = oldest;
  }

  /** One JSON report; false when it cannot be read. */
  private onReport(c: AgentConn, j: Record<string, unknown>): boolean {
    const p = c.process!;
    const ts = typeof j.ts === 'number' && Number.isFinite(j.ts) && j.ts > 0 ? j.ts * 1000 : Date.now();
    const base = { seq: 0, ts, session: this.id, source: 'agent' as const, process: p.name, pid: p.pid };
    switch (j.type) {
      case 'process': {
        if (typeof j.pid === 'number' && Number.isInteger(j.pid) && j.pid !== p.pid) {
          // listed at its hello under the pid it gave there
          this.model.forget(this.id, p.pid);
          p.pid = j.pid;
        }
        if (Array.isArray(j.argv)) p.argv = j.argv.filter((a): a is string => typeof a === 'string').slice(0, 1000);
        if (typeof j.cwd === 'string') p.cwd = j.cwd;
        if (typeof j.name === 'string' && j.name) p.name = j.name.slice(0, 200);
        if (typeof j.ppid === 'number') p.ppid = j.ppid;
        if (typeof j.runtime === 'string') p.runtime = j.runtime.slice(0, 200);
        const r: CaptureRecord = { ...base, process: p.name, pid: p.pid, kind: 'process', endpoint: '', state: 'started', argv: p.argv, cwd: p.cwd };
        if (p.ppid !== undefined) r.ppid = p.ppid;
        if (p.runtime !== undefined) r.runtime = p.runtime;
        this.record(r);
        break;
      }
      case 'socket': {
        if (typeof j.socket !== 'number' || !Number.isInteger(j.socket) || j.socket < 0) return false;
        const op = j.op;
        const s = this.socketOf(c, j.socket);
        const r: SocketRecord = { ...base, kind: 'socket', op: 'open', endpoint: '', socket: s.id };
        switch (op) {
          case 'open':
            if (typeof j.socketType === 'string') s.type = j.socketType.slice(0, 32);
            for (const k of ['sndhwm', 'rcvhwm'] as const) {
              const v = j[k];
              if (typeof v === 'number') r[k] = v;
            }
            break;
          case 'bind':
          case 'connect':
          case 'unbind':
          case 'disconnect': {
            if (typeof j.endpoint !== 'string') return false;
            r.op = op;
            const requested = j.endpoint.slice(0, 1024);
            const real = typeof j.resolved === 'string' ? j.resolved.slice(0, 1024) : requested;
            r.endpoint = real;
            if (real !== requested) r.requested = requested;
            if (typeof j.error === 'string') {
              r.error = j.error.slice(0, 1024);
              if (typeof j.code === 'string') r.code = j.code.slice(0, 64);
            }
            if (op === 'bind' || op === 'connect') {
              s.endpoints.push({ endpoint: real, ...(real !== requested ? { requested } : {}), role: op, state: r.error ? 'failed' : 'active', ...(r.error ? { error: r.error } : {}) });
            } else if (!r.error) {
              // unbind takes the address as given or as resolved
              const e = s.endpoints.find((x) => x.state === 'active' && (x.endpoint === requested || x.requested === requested));
              if (e) {
                e.state = 'removed';
                r.endpoint = e.endpoint;
              }
            }
            break;
          }
          case 'subscribe':
          case 'unsubscribe': {
            const topic = typeof j.topic === 'string' ? Buffer.from(j.topic, 'base64') : undefined;
            if (!topic) return false;
            r.op = op;
            r.topic = topic;
            r.endpoint = primaryEndpoint(s);
            break;
          }
          case 'option': {
            if (typeof j.option !== 'string') return false;
            r.op = 'option';
            r.option = j.option.slice(0, 64);
            if (typeof j.value === 'number') r.value = j.value;
            else if (typeof j.bytes === 'string') r.bytes = Buffer.from(j.bytes, 'base64');
            r.endpoint = primaryEndpoint(s);
            break;
          }
          case 'close':
            r.op = 'close';
            r.endpoint = primaryEndpoint(s);
            if (c.sockets.get(j.socket) === s) this.socketClosed(c, j.socket);
            break;
          default:
            return false;
        }
        r.socketType = s.type;
        const site = callSite(j.site);
        if (site) r.site = site;
        this.record(r);
        break;
      }
      case 'error': {
        if (typeof j.socket !== 'number' || (j.op !== 'send' && j.op !== 'recv') || typeof j.code !== 'string') return false;
        const count = typeof j.count === 'number' && j.count > 0 ? Math.floor(j.count) : 1;
        const s = this.socketOf(c, j.socket);
        const r: CapturedEvent = { ...base, kind: 'event', endpoint: primaryEndpoint(s), socket: s.id, type: `${j.op}:error`, code: j.code.slice(0, 32), count };
        const site = callSite(j.site);
        if (site) r.site = site;
        this.record(r);
        break;
      }
      case 'wait': {
        // sends a green/async layer (zmq.green, zmq.asyncio) held back at the high-water mark until
        // they could go: the program waited, nothing was refused (a plain NOBLOCK send fails instead)
        if (typeof j.socket !== 'number' || j.op !== 'send') return false;
        const count = typeof j.count === 'number' && j.count > 0 ? Math.floor(j.count) : 1;
        const s = this.socketOf(c, j.socket);
        const r: CapturedEvent = { ...base, kind: 'event', endpoint: primaryEndpoint(s), socket: s.id, type: 'send:wait', count };
        this.record(r);
        break;
      }
      case 'event': {
        // a socket monitor event, zeromq.js names (`accept`, `connect:retry`, `disconnect`, ...)
        if (typeof j.socket !== 'number' || typeof j.event !== 'string') return false;
        const s = this.socketOf(c, j.socket);
        const r: CapturedEvent = { ...base, kind: 'event', endpoint: primaryEndpoint(s), socket: s.id, type: j.event.slice(0, 64) };
        if (typeof j.address === 'string') r.address = j.address.slice(0, 1024);
        if (typeof j.error === 'string') r.error = j.error.slice(0, 1024);
        if (typeof j.interval === 'number') r.interval = j.interval;
        if (typeof j.code === 'string') r.code = j.code.slice(0, 64);
        if (typeof j.peer === 'string') r.peer = j.peer.slice(0, 1024);
        // a run of connect retries: the first (attempts 1), then `connect:retried` with the count and when it began
        if (typeof j.attempts === 'number' && Number.isInteger(j.attempts) && j.attempts > 0) r.attempts = j.attempts;
        if (typeof j.since === 'number' && Number.isFinite(j.since) && j.since > 0) r.since = j.since * 1000;
        this.record(r);
        break;
      }
      case 'drops': {
        if (typeof j.dropped !== 'number' || j.dropped < p.dropped) return false;
        const n = j.dropped - p.dropped;
        p.dropped = j.dropped;
        this.model.noteDropped(this.id, p.pid, p.dropped);
        this.counters.agentDropped += n;
        this.capture.reportDropped(this.id, n);
        break;
      }
      case 'exit':
        this.exited(c, p, ts);
        break;
      default:
        return false;
    }
    return true;
  }

  private exited(c: AgentConn, p: ProcessEntry, ts: number): void {
    if (p.state === 'exited') return;
    p.state = 'exited';
    const r: CaptureRecord = { kind: 'process', seq: 0, ts, session: this.id, source: 'agent', endpoint: '', process: p.name, pid: p.pid, state: 'exited' };
    if (p.dropped) r.dropped = p.dropped;
    this.record(r);
    void c;
  }
}

/**
 * The envelope of a message as the program's socket sent or received it, split
 * out as the tap and the monitor spy do (`envelopeFrames`, `identity`):
 * - ROUTER: the first frame is always the peer's routing id (`identity`); with
 *   REQ-style peers more hops and the empty delimiter follow: the envelope runs
 *   up to that delimiter when every frame before it can be a routing id
 *   (1 to 255 bytes), else it is the routing id alone;
 * - DEALER: only a REQ-style envelope (routing ids, then the delimiter), as it
 *   talks to a REP or to a ROUTER server; none otherwise;
 * - REQ/REP (and the rest): libzmq hides the envelope from the program.
 */
export function splitEnvelope(r: CapturedMessage, socketType: string): void {
  const router = socketType === 'ROUTER';
  if (!router && socketType !== 'DEALER') return;
  const frames = r.frames;
  let n = router ? 1 : 0;
  const limit = Math.min(frames.length - 1, 16);
  for (let i = 0; i < limit; i++) {
    const len = frames[i].byteLength;
    if (len === 0 && r.truncated?.[i] === undefined) {
      if (i > 0 || !router) n = i + 1;
      break;
    }
    if (len > 255 || r.truncated?.[i] !== undefined) break;
  }
  if (router && frames.length < 2) n = 0;
  if (n === 0) return;
  r.envelopeFrames = n;
  if (router) r.identity = frames[0];
}

function parseJson(body: Buffer): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(body.toString('utf8', 1));
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** An agent's `site` ({file, line}: where the program made the call), checked; undefined when absent or malformed. */
function callSite(v: unknown): CallSite | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const { file, line } = v as Record<string, unknown>;
  if (typeof file !== 'string' || !file || typeof line !== 'number' || !Number.isInteger(line) || line < 1) return undefined;
  return { file: file.slice(0, 1024), line };
}
