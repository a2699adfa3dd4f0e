/**
 * The collector: where the zmq-debug agents inside programs report to. It
 * listens on 127.0.0.1 (port 0 unless told), hands out the environment that
 * loads the agents and points them here (`environment()`), accepts only agents
 * that present its per-session random token, and turns their reports into
 * capture records (source `agent`) and the facts of the one store of agent
 * facts (`model`, agentStore.ts).
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
 * The wire protocol (frames, reports, limits) is docs/agent-protocol.md, stated
 * as code and validated in agentProtocol.ts; what each report does to the
 * capture and the model is agentReports.ts. This file keeps the connections:
 * admission, authentication, framing and the socket-number table.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer, Server, Socket as NetSocket } from 'node:net';
import * as path from 'node:path';
import { Emitter } from '../base/lifecycle';
import { Capture } from '../capture/capture';
import { epochMs, FRAME_KIND, LIMITS, readHello, readMessage, readReport } from './agentProtocol';
import { AgentConnectionView, AgentReportHandler, ProcessEntry, SocketEntry } from './agentReports';
import { SharedRing } from './agentRing';
import { AgentStore, LIMITS as STORE_LIMITS, primaryEndpoint } from './agentStore';
import { FrameReader } from './agentFrames';
import { forEachBatchedMessage } from './messageBatch';
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
  /** Agents whose frames came through their shared ring (not their connection). */
  sharedRings: number;
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

/** The collector's own bounds (what it accepts from agents is agentProtocol's LIMITS). */
const BOUNDS = {
  /**
   * A program may open and close sockets without end: the socket table keeps as many
   * closed sockets as the store of facts per process (the most recent), the rest are forgotten (their
   * records stay in the capture).
   */
  closedSocketsKept: STORE_LIMITS.closedSockets,
  /** Forgotten sockets whose type and endpoint are kept for late reports (monitor events, failure counts after the close). */
  forgottenSockets: 4096,
  /** A burst of new connections may exceed the pre-authentication limits this many times over before a fresh one is evicted. */
  burstFactor: 4,
  /** An agent's shared ring: read this much at a time, at most ringRoundBytes a turn of the event loop ... */
  ringChunkBytes: 1 << 20,
  ringRoundBytes: 8 << 20,
  /** ... again after ringMinDelayMs while frames flow, up to ringMaxDelayMs while it is idle. */
  ringMinDelayMs: 5,
  ringMaxDelayMs: 50,
} as const;

interface AgentConn {
  socket: NetSocket;
  /** The remote address (the pre-authentication slots are counted per address). */
  peer: string;
  /** The accept turn it came in (see Collector.makeRoomFor). */
  turn: number;
  /** Its framing: what it received, read as frames. */
  frames: FrameReader;
  hello: boolean;
  process?: ProcessEntry;
  /** The process and this socket table, as the report handlers see them (set at hello). */
  view?: AgentConnectionView;
  /** socket number → what its records need (the facts are the store's) */
  sockets: Map<number, SocketEntry>;
  /** Closed sockets still in the model, oldest first (at most BOUNDS.closedSocketsKept). */
  closedSockets: Set<number>;
  /** Sockets forgotten from the model, most recent last: what a late report about one needs (at most BOUNDS.forgottenSockets). */
  forgotten: Map<number, { id: string; type: string; endpoint: string }>;
  /** The highest socket number forgotten: agents number sockets upwards, so an unknown number up to it is a forgotten socket. */
  forgottenUpTo: number;
  timer?: NodeJS.Timeout;
  closed: boolean;
  /** The agent's shared ring (attached at hello), read once its `ring` report came (`ringOn`). */
  ring?: SharedRing;
  ringOn?: boolean;
  ringTimer?: NodeJS.Timeout;
  ringDelayMs?: number;
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
  private readonly counters: CollectorStats = { agents: 0, rejected: 0, evicted: 0, refused: 0, malformed: 0, oversized: 0, agentDropped: 0, messages: 0, sharedRings: 0 };
  private readonly handler: AgentReportHandler;
  /** Why the last report or message counted as malformed was refused (for a developer of an agent). */
  private lastMalformedReason?: string;
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
    this.maxFrame = options.maxFrameBytes ?? LIMITS.frameBytes;
    this.helloTimeoutMs = options.helloTimeoutMs ?? LIMITS.helloTimeoutMs;
    this.maxAgents = options.maxAgents ?? LIMITS.agents;
    this.maxHello = options.maxHelloBytes ?? LIMITS.helloBytes;
    this.maxUnauthenticated = Math.max(1, options.maxUnauthenticated ?? LIMITS.unauthenticated);
    this.maxUnauthenticatedPerPeer = Math.max(1, options.maxUnauthenticatedPerPeer ?? LIMITS.unauthenticatedPerPeer);
    this.handler = new AgentReportHandler(this.id, this.capture, this.model, this.counters);
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

  /** Why the last malformed report or message was refused (the protocol's reason), if any was. */
  get lastMalformed(): string | undefined {
    return this.lastMalformedReason;
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
    // (the reader's sink is called only once `c` exists)
    const sink = { frame: (body: Buffer) => !c.closed && this.onFrame(c, body), badLength: (len: number) => this.badFrameLength(c, len) };
    const c: AgentConn = { socket, peer: socket.remoteAddress ?? '', turn: this.acceptTurn, frames: new FrameReader(sink, this.maxHello), hello: false, sockets: new Map(), closedSockets: new Set(), forgotten: new Map(), forgottenUpTo: 0, closed: false };
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
   * beyond BOUNDS.burstFactor times the limits evicts the oldest anyway.
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
    if (samePeer >= this.maxUnauthenticatedPerPeer) victim = seasonedOfPeer ?? (samePeer >= this.maxUnauthenticatedPerPeer * BOUNDS.burstFactor ? oldestOfPeer : undefined);
    if (!victim && this.unauthenticated.size >= this.maxUnauthenticated) {
      victim = seasonedOfAll ?? (this.unauthenticated.size >= this.maxUnauthenticated * BOUNDS.burstFactor ? this.unauthenticated.values().next().value : undefined);
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
    // the process ended: what it left in its ring comes before its exit (the ring lives while the collector holds it)
    if (why === 'connection closed' && c.ringOn) this.drainRing(c, true);
    if (c.closed) return;
    c.closed = true;
    clearTimeout(c.timer);
    clearTimeout(c.ringTimer);
    c.ring?.close();
    this.conns.delete(c);
    if (!this.unauthenticated.delete(c) && c.hello) this.authenticated--;
    c.frames.clear();
    c.socket.destroy();
    // The agent's end of the connection closed: its process ended (the kernel closes it at
    // exit, even at a SIGKILL). When the collector ends the connection (stopped, bad input)
    // the process may well run on: no exit is made up for it, it stays as last seen.
    const p = c.process;
    if (p && p.state === 'running' && why === 'connection closed') {
      this.handler.exited(p, Date.now());
    }
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

  /** Reads the frames `chunk` completes (agentFrames.ts); an unreadable frame closes the connection, counted. */
  private onData(c: AgentConn, chunk: Buffer): void {
    if (c.closed) return;
    try {
      c.frames.push(chunk);
    } catch {
      // never let agent input throw into the host
      this.counters.malformed++;
      this.close(c, 'unreadable input');
    }
  }

  /** A frame of a length not allowed (the first one, the hello, is held to maxHelloBytes): the connection is closed and counted. */
  private badFrameLength(c: AgentConn, len: number): void {
    if (len === 0) this.counters.malformed++;
    else this.counters.oversized++;
    if (!c.hello) this.counters.rejected++;
    this.close(c, 'bad frame length');
  }

  /** Handles one frame; false when the connection was closed. */
  private onFrame(c: AgentConn, body: Buffer): boolean {
    if (!c.hello) return this.onHello(c, body);
    if (body[0] === FRAME_KIND.message) {
      const m = readMessage(body);
      if (!m.ok) {
        this.malformed(m.reason);
        this.close(c, 'malformed message'); // after it the framing cannot be trusted
        return false;
      }
      this.handler.message(c.view!, m.value);
      return true;
    }
    if (body[0] === FRAME_KIND.batch) {
      // single-frame messages of the Python agent at real rates (messageBatch.ts); checked whole before any is added
      const view = c.view!;
      const ok = forEachBatchedMessage(body, (m) => this.handler.message(view, { socket: m.socket, direction: m.direction, ts: epochMs(m.tsSec), frames: [m.frame] }));
      if (!ok) {
        this.malformed('a malformed message batch');
        this.close(c, 'malformed message');
        return false;
      }
      return true;
    }
    const r = readReport(body);
    // a bad report is skipped; framing is intact
    if (!r.ok) this.malformed(r.reason);
    else if (r.value.type === 'ring') this.ringOn(c);
    else if (!this.handler.report(c.view!, r.value)) this.malformed(`a ${r.value.type} report that contradicts the ones before it`);
    return true;
  }

  private malformed(reason: string): void {
    this.counters.malformed++;
    this.lastMalformedReason = reason;
  }

  /** The first frame: a hello with the session's token, or the connection is closed. */
  private onHello(c: AgentConn, body: Buffer): boolean {
    const hello = readHello(body);
    const token = hello.ok ? Buffer.from(hello.value.token) : undefined;
    if (!hello.ok || !token || token.length !== this.tokenBytes.length || !timingSafeEqual(token, this.tokenBytes)) {
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
    c.frames.maxBytes = this.maxFrame;
    this.authenticated++;
    this.counters.agents++;
    const { pid, agent } = hello.value;
    ++this.connectionCount;
    const p: ProcessEntry = { pid, name: `pid ${pid}`, argv: [], cwd: '', state: 'running', dropped: 0 };
    c.process = p;
    c.view = { process: p, socketOf: (n) => this.socketOf(c, n), socketClosed: (n) => this.socketClosed(c, n) };
    this.model.hello(this.id, pid, agent, Date.now());
    // the agent's shared ring, when it offers one and it is what it says (else its frames stay on the connection)
    if (hello.value.ring) c.ring = SharedRing.attach(pid, hello.value.ring);
    this.updateState();
    return true;
  }

  /** The agent's `ring` report: everything after it comes through its shared ring. */
  private ringOn(c: AgentConn): void {
    if (!c.ring || c.ringOn) {
      this.malformed('a ring report without a shared ring attached');
      return;
    }
    c.ringOn = true;
    this.counters.sharedRings++;
    c.ringDelayMs = BOUNDS.ringMinDelayMs;
    // not from inside onData (this report's connection chunk is still being read)
    c.ringTimer = setTimeout(() => this.drainRing(c), 0);
  }

  /**
   * Reads the agent's shared ring as if it came on the connection (onData): a
   * round of at most ringRoundBytes, then again soon while frames flow; `all`:
   * to its end, now (the process ended). The ring is read into one buffer used
   * again each read (fresh memory for every read costs a page fault per 4 KiB):
   * the capture copies what it keeps, the frame reader what it holds.
   */
  private drainRing(c: AgentConn, all = false): void {
    clearTimeout(c.ringTimer);
    const ring = c.ring;
    if (!ring || c.closed) return;
    let got = 0;
    try {
      for (;;) {
        const chunk = ring.read(BOUNDS.ringChunkBytes, c.frames.heldBytes === 0);
        if (!chunk) throw new Error('the ring indices make no sense');
        if (!chunk.length) break;
        this.onData(c, chunk);
        if (c.closed) return;
        c.frames.detach();
        ring.consumed(chunk.length);
        got += chunk.length;
        if (!all && got >= BOUNDS.ringRoundBytes) break;
      }
    } catch {
      // never let agent input throw into the host
      this.malformed('an unreadable shared ring');
      this.close(c, 'unreadable input');
      return;
    }
    if (all) return;
    c.ringDelayMs = got ? BOUNDS.ringMinDelayMs : Math.min(BOUNDS.ringMaxDelayMs, (c.ringDelayMs ?? BOUNDS.ringMinDelayMs) * 2);
    c.ringTimer = setTimeout(() => this.drainRing(c), got >= BOUNDS.ringRoundBytes ? 0 : c.ringDelayMs);
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
    if (!c.sockets.has(n)) return; // a late close of a socket already forgotten
    c.closedSockets.delete(n);
    c.closedSockets.add(n);
    if (c.closedSockets.size <= BOUNDS.closedSocketsKept) return;
    const oldest: number = c.closedSockets.values().next().value!;
    c.closedSockets.delete(oldest);
    const o = c.sockets.get(oldest);
    if (!o) return;
    c.sockets.delete(oldest);
    c.forgotten.set(oldest, { id: o.id, type: o.type, endpoint: primaryEndpoint(o) });
    if (c.forgotten.size > BOUNDS.forgottenSockets) c.forgotten.delete(c.forgotten.keys().next().value!);
    if (oldest > c.forgottenUpTo) c.forgottenUpTo = oldest;
  }
}
