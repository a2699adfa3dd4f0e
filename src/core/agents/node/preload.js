/*
 * zmq-debug agent for Node programs that use zeromq v6. Loaded with
 * NODE_OPTIONS="--require <this file>", so the program is not changed by a line.
 *
 * Does nothing unless ZMQ_DEBUG_COLLECTOR and ZMQ_DEBUG_TOKEN are set. When the
 * program loads `zeromq`, the methods of each socket class (Pair, Publisher,
 * Subscriber, Request, Reply, Dealer, Router, Pull, Push, XPublisher,
 * XSubscriber, Stream) are wrapped on that class's own prototype with
 * Object.defineProperty (Socket.prototype's methods are not writable): bind,
 * unbind, connect, disconnect, send, receive, close, subscribe, unsubscribe.
 * Each wrapper calls the original and passes its result or error through
 * unchanged (async ones return a promise that settles as the original's did).
 *
 * Reports go over a plain TCP connection (not a zeromq socket, so nothing is
 * added to the program's context), unref'd so it never keeps the program alive,
 * through a bounded buffer: when it is full, reports are dropped and counted.
 * Same wire format as the Python agent (see collector.ts).
 */
'use strict';
(function () {
  const address = process.env.ZMQ_DEBUG_COLLECTOR;
  const token = process.env.ZMQ_DEBUG_TOKEN;
  if (!address || !token) return;
  const net = require('net');
  const path = require('path');
  const Module = require('module');

  const MAX_FRAME = 65536;
  // A token bucket of messages looked at: GATE more every 50 ms, up to BURST saved while
  // the program is quiet; beyond, they are only counted (dropped), so that a program
  // sending as fast as it can is not slowed by copies and encoding.
  const GATE = Math.max(1, Number(process.env.ZMQ_DEBUG_AGENT_GATE) || 250);
  const BURST = Math.max(GATE, 5000);
  let gate = BURST;
  let unseen = 0;
  let gateTimer;
  const MAX_PENDING_BYTES = 32 << 20;
  const TYPES = {
    Pair: 'PAIR', Publisher: 'PUB', Subscriber: 'SUB', Request: 'REQ', Reply: 'REP', Dealer: 'DEALER', Router: 'ROUTER',
    Pull: 'PULL', Push: 'PUSH', XPublisher: 'XPUB', XSubscriber: 'XSUB', Stream: 'STREAM',
  };
  const sep = address.lastIndexOf(':');
  const host = address.slice(0, sep);
  const port = Number(address.slice(sep + 1));

  let conn;
  let connected = false;
  let retryAt = 0;
  let pending = [];
  let pendingBytes = 0;
  let dropped = 0;
  let reportedDropped = 0;
  let flushScheduled = false;
  let exiting = false;
  let nextId = 0;
  const states = new WeakMap();
  const failures = new Map();

  // Where in the program's own code a call was made: {file, line} of the innermost frame
  // outside this agent, node's internals and the zeromq package. A stack capture costs
  // microseconds: only at socket creation, bind/connect, subscribe and each socket's first
  // send and receive (whose sites stand for its failed sends and receives), never per message.
  const ZEROMQ_DIR = path.sep + 'node_modules' + path.sep + 'zeromq' + path.sep;
  function callSite() {
    const prepare = Error.prepareStackTrace;
    const limit = Error.stackTraceLimit;
    try {
      Error.stackTraceLimit = 30;
      Error.prepareStackTrace = (_, frames) => frames;
      const holder = {};
      Error.captureStackTrace(holder, callSite);
      const frames = holder.stack;
      if (!Array.isArray(frames)) return undefined;
      for (const f of frames) {
        let file = f.getFileName();
        if (!file || file === __filename || file.startsWith('node:') || file.includes(ZEROMQ_DIR)) continue;
        if (file.startsWith('file://')) file = require('url').fileURLToPath(file);
        if (!path.isAbsolute(file)) continue;
        const line = f.getLineNumber();
        return line ? { file, line } : undefined;
      }
    } catch (e) {
      // never throw into the program
    } finally {
      Error.prepareStackTrace = prepare;
      Error.stackTraceLimit = limit;
    }
    return undefined;
  }

  function frameJson(obj) {
    const body = Buffer.from('J' + JSON.stringify(obj), 'utf8');
    const head = Buffer.allocUnsafe(4);
    head.writeUInt32BE(body.length, 0);
    return [head, body];
  }

  function programName() {
    const main = process.argv[1];
    if (!main) return path.basename(process.execPath);
    const base = path.basename(main);
    return base === 'index.js' ? path.basename(path.dirname(main)) + '/' + base : base;
  }

  function processReport() {
    let cwd = '';
    try {
      cwd = process.cwd();
    } catch (e) {
      // a removed working directory
    }
    let zmqVersion = '';
    try {
      zmqVersion = ' libzmq ' + require('zeromq').version;
    } catch (e) {
      // not loadable from here
    }
    return {
      type: 'process', pid: process.pid, ppid: process.ppid, argv: [process.execPath].concat(process.argv.slice(1)), cwd,
      name: programName(), runtime: 'node ' + process.versions.node + ' zeromq' + zmqVersion, ts: Date.now() / 1000,
    };
  }

  function enqueue(parts, size) {
    if (pendingBytes + size > MAX_PENDING_BYTES || (conn && conn.writableLength > MAX_PENDING_BYTES)) {
      dropped++;
      return;
    }
    for (const p of parts) pending.push(p);
    pendingBytes += size;
    schedule();
  }

  function control(obj) {
    const parts = frameJson(obj);
    enqueue(parts, parts[1].length + 4);
  }

  function schedule() {
    if (flushScheduled) return;
    flushScheduled = true;
    setImmediate(flush);
  }

  function connect() {
    if (conn || Date.now() < retryAt) return;
    try {
      conn = net.connect({ host, port });
    } catch (e) {
      conn = undefined;
      retryAt = Date.now() + 2000;
      return;
    }
    conn.unref();
    conn.setNoDelay(true);
    const c = conn;
    c.on('connect', () => {
      connected = true;
      c.write(Buffer.concat(frameJson({ type: 'hello', token, agent: 'node', version: 1, pid: process.pid }).concat(frameJson(processReport()))));
      schedule();
    });
    c.on('error', () => undefined);
    c.on('close', () => {
      if (conn === c) {
        conn = undefined;
        connected = false;
        retryAt = Date.now() + 2000;
      }
    });
  }

  function flush() {
    flushScheduled = false;
    try {
      connect();
      if (!conn) {
        // nobody listens: what is pending is lost (counted)
        dropped += pending.length ? countRecords(pending) : 0;
        pending = [];
        pendingBytes = 0;
        failures.clear();
        return;
      }
      if (!connected) return; // flushed again on 'connect'
      for (const f of failures.values()) {
        const r = { type: 'error', socket: f.socket, op: f.op, code: f.code, count: f.count, ts: f.ts };
        if (f.site) r.site = f.site;
        pushFrames(frameJson(r));
      }
      failures.clear();
      if (dropped !== reportedDropped) {
        reportedDropped = dropped;
        pushFrames(frameJson({ type: 'drops', dropped }));
      }
      if (pending.length) {
        const out = Buffer.concat(pending);
        pending = [];
        pendingBytes = 0;
        conn.write(out);
      }
      if (exiting) conn.end();
    } catch (e) {
      // the agent must never throw into the program
    }
  }

  function pushFrames(parts) {
    for (const p of parts) pending.push(p);
  }

  function countRecords(parts) {
    // two buffers per JSON report, 1 + 2 per frame per message: an estimate is enough here
    return Math.max(1, Math.round(parts.length / 3));
  }

  function toBuffer(f) {
    if (Buffer.isBuffer(f)) return f;
    if (typeof f === 'string') return Buffer.from(f, 'utf8');
    if (f === null || f === undefined) return Buffer.alloc(0);
    if (ArrayBuffer.isView(f)) return Buffer.from(f.buffer, f.byteOffset, f.byteLength);
    if (f instanceof ArrayBuffer || (typeof SharedArrayBuffer !== 'undefined' && f instanceof SharedArrayBuffer)) return Buffer.from(f);
    return Buffer.from(String(f), 'utf8');
  }

  function message(st, direction, frames) {
    if (gate <= 0) {
      unseen++;
      return;
    }
    gate--;
    if (!gateTimer) {
      gateTimer = setInterval(() => {
        gate = Math.min(gate + GATE, BURST);
        if (unseen) {
          dropped += unseen;
          unseen = 0;
          schedule();
        }
      }, 50);
      gateTimer.unref();
    }
    // frames are copied now: the program may reuse its buffers after send resolves
    const parts = [];
    let size = 18;
    const head = Buffer.allocUnsafe(22);
    parts.push(head);
    for (const raw of frames) {
      const f = toBuffer(raw);
      const kept = f.length > MAX_FRAME ? MAX_FRAME : f.length;
      const fh = Buffer.allocUnsafe(8);
      fh.writeUInt32BE(f.length, 0);
      fh.writeUInt32BE(kept, 4);
      parts.push(fh, Buffer.from(f.subarray(0, kept)));
      size += 8 + kept;
    }
    head.writeUInt32BE(size, 0);
    head[4] = 0x4d;
    head[5] = direction;
    head.writeUInt32BE(st.id, 6);
    head.writeDoubleBE(Date.now() / 1000, 10);
    head.writeUInt32BE(frames.length, 18);
    enqueue(parts, size + 4);
  }

  function stateOf(sock) {
    let st = states.get(sock);
    if (!st) {
      st = { id: ++nextId, type: typeOf(sock) };
      states.set(sock, st);
      const r = { type: 'socket', op: 'open', socket: st.id, socketType: st.type, ts: Date.now() / 1000 };
      const where = callSite();
      if (where) r.site = where;
      try {
        if (typeof sock.sendHighWaterMark === 'number') r.sndhwm = sock.sendHighWaterMark;
        if (typeof sock.receiveHighWaterMark === 'number') r.rcvhwm = sock.receiveHighWaterMark;
      } catch (e) {
        // a closed socket
      }
      control(r);
    }
    return st;
  }

  function typeOf(sock) {
    let proto = Object.getPrototypeOf(sock);
    while (proto && proto.constructor) {
      const t = TYPES[proto.constructor.name];
      if (t) return t;
      proto = Object.getPrototypeOf(proto);
    }
    return '?';
  }

  function fail(sock, op, err) {
    try {
      const st = stateOf(sock);
      const code = (err && err.code) || 'ERROR';
      const key = st.id + ' ' + op + ' ' + code;
      const f = failures.get(key);
      if (f) f.count++;
      else {
        // the failure settles a promise: its stack is the event loop's, so the socket's first send or receive stands for it
        const where = op === 'send' ? st.sendSite : st.recvSite;
        failures.set(key, { socket: st.id, op, code, count: 1, ts: Date.now() / 1000, site: where || undefined });
      }
      schedule();
    } catch (e) {
      // never throw into the program
    }
  }

  function endpointReport(sock, op, addr, err, where) {
    try {
      const st = stateOf(sock);
      const r = { type: 'socket', op, socket: st.id, endpoint: String(addr), ts: Date.now() / 1000 };
      if (where) r.site = where;
      if (err) {
        r.error = String((err && err.message) || err);
        if (err && err.code) r.code = err.code;
      } else if (op === 'bind' || op === 'connect') {
        const last = sock.lastEndpoint;
        if (last && last !== r.endpoint) r.resolved = last;
      }
      control(r);
    } catch (e) {
      // never throw into the program
    }
  }

  function define(proto, name, make) {
    const orig = proto[name];
    if (typeof orig !== 'function') return;
    const wrapped = make(orig);
    Object.defineProperty(wrapped, 'name', { value: orig.name });
    Object.defineProperty(proto, name, { value: wrapped, writable: true, configurable: true, enumerable: false });
  }

  /**
   * The program's promise `p`, observed: `seen(value)` when it resolves (never throwing into the
   * program), `failed(error)` when it rejects; the program gets the same value or error.
   */
  function observe(p, seen, failed) {
    return p.then(
      (v) => {
        try {
          seen(v);
        } catch (e) {
          // never throw into the program
        }
        return v;
      },
      (e) => {
        failed(e);
        throw e;
      },
    );
  }

  /** bind, unbind, connect, disconnect of a zeromq.js socket class: reported once they returned or failed. */
  function patchEndpoints(proto) {
    define(proto, 'bind', (orig) => function bind(addr) {
      stateOf(this);
      const where = callSite();
      const p = orig.apply(this, arguments);
      if (!p || typeof p.then !== 'function') return p;
      return observe(
        p,
        () => endpointReport(this, 'bind', addr, undefined, where),
        (e) => endpointReport(this, 'bind', addr, e, where),
      );
    });
    define(proto, 'unbind', (orig) => function unbind(addr) {
      const p = orig.apply(this, arguments);
      if (!p || typeof p.then !== 'function') return p;
      return p.then((v) => {
        endpointReport(this, 'unbind', addr);
        return v;
      });
    });
    for (const op of ['connect', 'disconnect']) {
      define(proto, op, (orig) => function (addr) {
        let r;
        try {
          r = orig.apply(this, arguments);
        } catch (e) {
          endpointReport(this, op, addr, e, callSite());
          throw e;
        }
        endpointReport(this, op, addr, undefined, callSite());
        return r;
      });
  }
  }

  /** send, receive (every message, and failures by errno) and close of a zeromq.js socket class. */
  function patchTraffic(proto) {
    define(proto, 'send', (orig) => function send(msg) {
      // the frames as given now (the program may reuse its array); not even that when the gate is shut
      const frames = gate > 0 ? (Array.isArray(msg) ? msg.slice() : [msg]) : undefined;
      const st = stateOf(this);
      if (st.sendSite === undefined) st.sendSite = callSite() || null;
      return observe(
        orig.apply(this, arguments),
        () => {
          if (frames) message(st, 0, frames);
          else unseen++;
        },
        (e) => fail(this, 'send', e),
      );
    });
    define(proto, 'receive', (orig) => function receive() {
      const st = stateOf(this);
      if (st.recvSite === undefined) st.recvSite = callSite() || null;
      return observe(
        orig.apply(this, arguments),
        (frames) => message(st, 1, frames),
        (e) => fail(this, 'recv', e),
      );
    });
    define(proto, 'close', (orig) => function close() {
      const known = states.get(this);
      const r = orig.apply(this, arguments);
      if (known) control({ type: 'socket', op: 'close', socket: known.id, ts: Date.now() / 1000 });
      return r;
    });
  }

  function patch(zmq) {
    if (!zmq || zmq.__zmqDebugAgent) return;
    for (const cls of Object.keys(TYPES)) {
      const C = zmq[cls];
      if (typeof C !== 'function' || !C.prototype) continue;
      const proto = C.prototype;
      patchEndpoints(proto);
      patchTraffic(proto);
      for (const op of ['subscribe', 'unsubscribe']) {
        define(proto, op, (orig) => function () {
          const r = orig.apply(this, arguments);
          try {
            const st = stateOf(this);
            const where = callSite();
            const topics = arguments.length ? Array.from(arguments) : [''];
            for (const t of topics) {
              const r = { type: 'socket', op, socket: st.id, topic: toBuffer(t).toString('base64'), ts: Date.now() / 1000 };
              if (where) r.site = where;
              control(r);
            }
          } catch (e) {
            // never throw into the program
          }
          return r;
        });
      }
    }
    try {
      Object.defineProperty(zmq, '__zmqDebugAgent', { value: true });
    } catch (e) {
      // a frozen module object
    }
  }

  const origLoad = Module._load;
  Module._load = function (request) {
    const exports = origLoad.apply(this, arguments);
    try {
      if (typeof request === 'string' && request.indexOf('zeromq') >= 0 && exports && typeof exports === 'object' && typeof exports.Push === 'function' && typeof exports.Socket === 'function' && !exports.__zmqDebugAgent) {
        patch(exports);
      }
    } catch (e) {
      // never throw into the program
    }
    return exports;
  };

  // what is still pending when the loop empties: write it (the write keeps the loop alive until done)
  process.on('beforeExit', () => {
    if (exiting || !conn) return;
    exiting = true;
    dropped += unseen;
    unseen = 0;
    try {
      control({ type: 'exit', ts: Date.now() / 1000 });
      conn.ref();
      flush();
    } catch (e) {
      // never throw into the program
    }
  });
})();
