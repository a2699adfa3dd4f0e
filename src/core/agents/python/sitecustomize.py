"""zmq-debug agent for Python programs that use pyzmq.

Loaded by Python itself at start-up (this folder is put first on PYTHONPATH,
and Python imports `sitecustomize` from it), so the program under debug is not
changed by a single line. What it does:

- chains to the `sitecustomize` this one hides (Debian ships one), so that the
  interpreter behaves as it would without us;
- does nothing more unless ZMQ_DEBUG_COLLECTOR and ZMQ_DEBUG_TOKEN are set;
- never imports zmq itself: when the program imports zmq, it wraps methods of
  `zmq.Socket` (bind, connect, unbind, disconnect, send, recv, set/setsockopt,
  close, __init__) in place. send_multipart/send_string/send_json/send_pyobj
  and their recv twins, zmq.asyncio, tornado's ZMQStream and the sockets of
  zmq.devices all go through these methods;
- reports process, sockets and every message to the collector over a plain TCP
  connection (not a zmq socket: nothing is added to the program's contexts, so
  `ctx.term()` and socket counts behave as before), from a daemon thread, via a
  bounded queue: a full queue drops reports (counted and reported), never
  blocks the program; no collector means no reports and no output.

Every wrapper calls the original first and lets its result or exception pass
unchanged; the agent's own work is inside `try/except` so it can never raise
into the program.

Wire format to the collector: frames of [u32 BE length][body]. Body 'J' +
UTF-8 JSON (hello with the token first, then process/socket/error/drops
reports) or 'M' + a binary message record (see _pack_message and collector.ts).
"""
import os
import sys


def _chain_sitecustomize():
    # Import the sitecustomize we shadow, the way Python would have imported it.
    import importlib.machinery
    import importlib.util

    here = os.path.dirname(os.path.abspath(__file__))
    paths = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", paths)
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    saved = sys.modules.get("sitecustomize")
    sys.modules["sitecustomize"] = module
    try:
        spec.loader.exec_module(module)
    finally:
        if saved is not None:
            sys.modules["sitecustomize"] = saved


class _Agent(object):
    MAX_QUEUE = 8192  # reports waiting for the collector; more are dropped (counted)
    MAX_QUEUE_BYTES = 32 << 20
    MAX_FRAME = 65536  # bytes of each frame kept; longer ones are cut (original length reported)
    # The reporter thread encodes for at most BUDGET seconds every TICK: it holds the
    # GIL while it works, so this bounds what it can take from the program (about
    # 8%). A program that sends faster than that gets its surplus reports dropped
    # (counted), not slowed down.
    TICK = 0.05
    BUDGET = 0.002
    # The gate: a token bucket of messages the wrappers look at, GATE more every
    # TICK (5,000 a second), up to GATE_BURST saved while the program is quiet
    # (each 512 bytes of a message count as one more). With the gate shut, send
    # and recv only count what they do not look at (dropped), the cheapest a
    # wrapper can be; the collector's share of the CPU stays small too.
    GATE = 250
    GATE_BURST = 5000

    def __init__(self, address, token):
        import collections
        import struct
        import threading
        import time

        self.host, _, port = address.rpartition(":")
        self.port = int(port)
        self.token = token
        self.time = time.time
        self.threading = threading
        self.queue = collections.deque()
        self.queued_bytes = 0
        self.dropped = 0
        self.reported_dropped = 0
        # (socket id, op, errno name) -> [count, first ts] not yet reported; op "wait": sends a
        # green/async layer held at the HWM (reported as waits, not failures)
        self.failures = {}
        self.sockets = {}  # underlying address -> socket state
        self.next_id = 0
        # socket monitors: underlying address of the program's socket -> _Monitor.
        # The PAIR sockets that read them are the agent's: used by the reporter
        # thread and closed by the program's thread (close, ctx.term), always under
        # mon_lock, so that no two threads touch one libzmq socket at once. It is re-entrant:
        # the cyclic GC can run pyzmq's Socket.__del__ (which closes the socket, so enters the
        # close wrapper) on whatever thread holds it, in the middle of a drain or a start.
        self.monitors = {}
        self.mon_lock = threading.RLock()
        # at most this many agent monitors at once (each costs the program two libzmq sockets
        # and two file descriptors); set from the limits in _install, 0 once the program hit one
        self.monitor_budget = 64
        try:
            # ZMQ_DEBUG_AGENT_GATE: look at more (or fewer) messages per tick, at that cost
            self.GATE = max(1, int(os.environ.get("ZMQ_DEBUG_AGENT_GATE", self.GATE)))
            self.GATE_BURST = max(self.GATE, self.GATE_BURST)
        except ValueError:
            pass
        self.wake = threading.Event()
        # [messages the wrappers may still look at, frames passed by unseen (ever), sockets with a multipart send under way]
        self.gate = [self.GATE_BURST, 0, 0]
        self.unseen_taken = 0
        self.thread = None
        self.stopping = False
        self.conn = None
        self.reconnect = False
        self.retry_at = 0.0
        self.pid = os.getpid()
        self.fork_of = None  # in a forked child: the parent's name
        self.struct = struct
        # 'M', direction, socket id, ts, frame count
        self.mhead = struct.Struct(">IcBIdI")
        self.fhead = struct.Struct(">II")

    # -- program side (hot path: keep short) ---------------------------------

    def put(self, item, size):
        if len(self.queue) >= self.MAX_QUEUE or self.queued_bytes + size > self.MAX_QUEUE_BYTES:
            self.dropped += 1
            return
        self.queued_bytes += size
        self.queue.append(item)
        if self.thread is None:
            self.start()

    def control(self, obj):
        self.put(("J", obj), 256)

    # -- reporter thread ------------------------------------------------------

    def start(self):
        if self.thread is not None or self.stopping:
            return
        # the process is reported as started when its first report was made
        self.started = self.time()
        t = self.threading.Thread(target=self.run, name="zmq-debug-agent", daemon=True)
        self.thread = t
        t.start()

    def run(self):
        gate = self.gate
        while not self.stopping:
            self.wake.wait(self.TICK)
            self.wake.clear()
            if self.monitors:
                self.drain_monitors()
            self.flush(deadline=self.time() + self.BUDGET)
            gate[0] = max(0, min(gate[0] + self.GATE, self.GATE_BURST, self.MAX_QUEUE - len(self.queue)))
            self.take_unseen()

    def take_unseen(self):
        # frames the wrappers let pass unseen are dropped reports
        total = self.gate[1]
        self.dropped += total - self.unseen_taken
        self.unseen_taken = total

    def connect(self):
        import socket

        if self.conn is not None:
            return True
        now = self.time()
        if now < self.retry_at:
            return False
        try:
            conn = socket.create_connection((self.host, self.port), timeout=1.0)
            conn.settimeout(5.0)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            hello = {"type": "hello", "token": self.token, "agent": "python", "version": 1, "pid": os.getpid()}
            first = [self.frame_json(hello), self.frame_json(self.process_report())]
            if self.reconnect:
                # a new collector: tell it the sockets that are open (queued reports follow)
                first += [self.frame_json(self.socket_report(st)) for st in list(self.sockets.values())]
            conn.sendall(b"".join(first))
        except Exception:
            self.retry_at = now + 2.0
            return False
        self.conn = conn
        self.reconnect = True
        return True

    def frame_json(self, obj):
        import json

        body = b"J" + json.dumps(obj, separators=(",", ":")).encode("utf-8", "replace")
        return self.struct.pack(">I", len(body)) + body

    def flush(self, deadline):
        if not self.queue and not self.failures and self.dropped == self.reported_dropped and self.gate[1] == self.unseen_taken:
            return
        if not self.connect():
            # nobody listens: what is queued is lost (counted)
            while self.queue:
                self.queue.popleft()
                self.dropped += 1
            self.queued_bytes = 0
            self.failures.clear()
            return
        out = []
        n = 0
        q = self.queue
        mhead = self.mhead
        fhead = self.fhead
        popleft = q.popleft
        append = out.append
        freed = 0
        while q:
            item = popleft()
            if item[0] == "M":
                _, direction, sid, ts, frames = item
                head = len(out)
                append(None)
                size = 0
                for f in frames:
                    if type(f) is tuple:
                        # a frame cut to MAX_FRAME: (original length, kept bytes)
                        ln, f = f
                    else:
                        ln = len(f)
                    append(fhead.pack(ln, len(f)))
                    append(f)
                    size += 8 + len(f)
                # body: 18 header bytes, then per frame its original and kept lengths and bytes
                out[head] = mhead.pack(18 + size, b"M", direction, sid, ts, len(frames))
                freed += size
            else:
                append(self.frame_json(item[1]))
                freed += 256
            n += 1
            if n >= 512:
                self.queued_bytes -= freed
                freed = 0
                if not self.send(out):
                    return
                del out[:]
                n = 0
                if deadline is not None and self.time() > deadline:
                    break
        self.queued_bytes -= freed
        if self.failures:
            fails, self.failures = self.failures, {}
            for (sid, op, code), f in fails.items():
                if op == "wait":
                    out.append(self.frame_json({"type": "wait", "socket": sid, "op": "send", "count": f[0], "ts": f[1]}))
                    continue
                rep = {"type": "error", "socket": sid, "op": op, "code": code, "count": f[0], "ts": f[1]}
                if len(f) > 2 and f[2] is not None:
                    rep["site"] = f[2]
                out.append(self.frame_json(rep))
        if self.dropped != self.reported_dropped:
            self.reported_dropped = self.dropped
            out.append(self.frame_json({"type": "drops", "dropped": self.dropped}))
        if self.stopping and self.thread is not None and not self.thread.is_alive():
            out.append(self.frame_json({"type": "exit", "ts": self.time()}))
        if out:
            self.send(out)
        if not q:
            self.queued_bytes = 0

    def flush_final(self):
        self.take_unseen()
        if self.queue or self.failures or self.dropped != self.reported_dropped:
            self.flush(deadline=None)
        elif self.conn is not None:
            self.send([self.frame_json({"type": "exit", "ts": self.time()})])

    def send(self, parts):
        try:
            self.conn.sendall(b"".join(parts))
            return True
        except Exception:
            try:
                self.conn.close()
            except Exception:
                pass
            self.conn = None
            self.retry_at = self.time() + 2.0
            return False

    def at_exit(self):
        # give queued reports a short moment to leave; never hold the exit longer
        if os.getpid() != self.pid:
            return
        if self.monitors:
            # the agent's monitor sockets never outlive the program's wish to exit
            self.stop_monitors()
        if self.thread is None:
            return
        try:
            self.stopping = True
            self.wake.set()
            self.thread.join(0.5)
            if not self.thread.is_alive():
                # the last flush, from here: sends what is queued, then says exit
                self.flush_final()
        except Exception:
            pass

    def after_fork(self):
        # in the child: a new process with no reporter thread and no connection
        try:
            # self.pid is still the parent's here
            self.fork_of = "%s ▸ fork %d" % (self.fork_of, self.pid) if self.fork_of else self.own_name()
        except Exception:
            pass

        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:
                pass
        self.conn = None
        self.thread = None
        self.queue.clear()
        self.queued_bytes = 0
        self.dropped = 0
        self.reported_dropped = 0
        self.failures = {}
        self.gate[:] = [self.GATE_BURST, 0, 0]
        self.unseen_taken = 0
        self.pid = os.getpid()
        self.wake = self.threading.Event()
        self.retry_at = 0.0
        self.reconnect = False
        # sockets inherited from the parent are the parent's (libzmq sockets do not survive a fork)
        self.sockets.clear()
        self.next_id = 0
        # the parent's monitor sockets are not ours to close here (pyzmq leaves sockets of another pid alone);
        # the dict is emptied in place: the wrappers hold it
        self.monitors.clear()
        self.mon_lock = self.threading.RLock()

    # -- socket monitors ---------------------------------------------------------

    def drain_monitors(self):
        # reporter thread: read what the monitors have, without waiting
        with self.mon_lock:
            for m in list(self.monitors.values()):
                m.drain(self)

    def stop_monitor(self, key, drain=True):
        # any thread: the program closes the socket, terminates its context, or monitors it itself
        m = None
        try:
            with self.mon_lock:
                m = self.monitors.pop(key, None)
                if m is not None:
                    if drain:
                        m.drain(self)
                    m.close(self)
        except Exception:
            pass
        return m

    def stop_monitors(self, context=None):
        try:
            with self.mon_lock:
                for key, m in list(self.monitors.items()):
                    if context is None or m.context_key == context:
                        # pop, not del: a close re-entered from the GC may have taken it already
                        if self.monitors.pop(key, None) is None:
                            continue
                        m.drain(self)
                        m.close(self)
        except Exception:
            pass

    # -- reports ---------------------------------------------------------------

    def process_report(self):
        argv = None
        try:
            with open("/proc/self/cmdline", "rb") as f:
                argv = [a.decode("utf-8", "replace") for a in f.read().split(b"\0")[:-1]]
        except Exception:
            pass
        if not argv:
            argv = [sys.executable] + list(getattr(sys, "argv", []))
        name = self.own_name()
        runs = _runs()
        if runs:
            name = "%s (%s)" % (name, runs)
        try:
            cwd = os.getcwd()
        except Exception:
            cwd = ""
        import zmq

        return {
            "type": "process", "pid": os.getpid(), "ppid": os.getppid(), "argv": argv, "cwd": cwd, "name": name,
            "runtime": "python %d.%d.%d pyzmq %s libzmq %s" % (sys.version_info[:3] + (zmq.pyzmq_version(), zmq.zmq_version())),
            "ts": min(self.time(), getattr(self, "started", None) or self.time()),
        }

    def own_name(self):
        # the program's name; a forked child (no exec) is its parent's name and its role:
        # `controller ▸ fork 2925` (the parent's own name, itself maybe a fork's, then this pid)
        if self.fork_of:
            return "%s ▸ fork %d" % (self.fork_of, os.getpid())
        name = None
        a0 = getattr(sys, "argv", [""])[0] if getattr(sys, "argv", None) else ""
        if a0 and a0 != "-c":
            name = os.path.basename(a0)
            if name == "__main__.py":
                name = os.path.basename(os.path.dirname(a0))
        return name or os.path.basename(sys.executable or "python")

    def socket_report(self, st):
        r = {"type": "socket", "op": "open", "socket": st["id"], "socketType": st["type"], "ts": st["ts"]}
        for k in ("sndhwm", "rcvhwm", "site"):
            if k in st:
                r[k] = st[k]
        return r


def _runs():
    """What this process runs when it is a multiprocessing child: its target (`launch_scheduler`,
    `ProcessMonitoredQueue.run`), or None. Only looked at when the program imported multiprocessing."""
    mp = sys.modules.get("multiprocessing.process")
    if mp is None:
        return None
    try:
        cp = mp.current_process()
        if getattr(cp, "name", "MainProcess") == "MainProcess":
            return None
        target = getattr(cp, "_target", None)
        if target is None:
            # a Process subclass with its own run()
            return "%s.run" % type(cp).__name__ if type(cp).run is not mp.BaseProcess.run else None
        owner = getattr(target, "__self__", None)
        if owner is not None and getattr(target, "__name__", "") == "run":
            # a device's or a Process subclass's run(): its class says what it is
            return "%s.run" % type(owner).__name__
        return getattr(target, "__qualname__", None) or getattr(target, "__name__", None) or type(target).__name__
    except Exception:
        return None


# libzmq monitor events -> zeromq.js names (what the collector and the spies use)
_EVENT_NAMES = {
    1: "connect", 2: "connect:delay", 4: "connect:retry", 8: "bind", 16: "bind:error", 32: "accept",
    64: "accept:error", 128: "close", 256: "close:error", 512: "disconnect", 1024: "end",
    2048: "handshake:error:other", 4096: "handshake", 8192: "handshake:error:protocol", 16384: "handshake:error:auth",
}
_ERRNO_EVENTS = (16, 64, 256, 2048)  # their value is an errno
_FD_EVENTS = (1, 32, 512)  # their value is the connection's file descriptor


def _proc_peer(fd):
    """The remote address of a TCP connection by its fd, read from /proc (never touching the fd)."""
    try:
        link = os.readlink("/proc/self/fd/%d" % fd)
    except Exception:
        return None
    if not link.startswith("socket:["):
        return None
    inode = link[8:-1]
    for name in ("/proc/self/net/tcp", "/proc/self/net/tcp6"):
        try:
            with open(name) as f:
                next(f)
                for line in f:
                    parts = line.split()
                    if len(parts) > 9 and parts[9] == inode:
                        return _hex_addr(parts[2])
        except Exception:
            pass
    return None


def _hex_addr(text):
    host, port = text.split(":")
    port = int(port, 16)
    raw = bytes.fromhex(host)
    if len(raw) == 4:
        return "tcp://%s:%d" % (".".join(str(b) for b in raw[::-1]), port)
    # IPv6: four 32-bit words, each in host (little-endian) order
    words = b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4))
    if words[:12] == b"\0" * 10 + b"\xff\xff":
        return "tcp://%s:%d" % (".".join(str(b) for b in words[12:]), port)
    import ipaddress

    return "tcp://[%s]:%d" % (ipaddress.IPv6Address(words), port)


class _Monitor(object):
    """The agent's reader of one program socket's libzmq monitor (an inproc PAIR of its own)."""

    MAX_PER_DRAIN = 256

    def __init__(self, pair, sid, context_key):
        self.pair = pair
        self.sid = sid
        self.context_key = context_key
        self.peers = {}  # fd -> peer address, from connect/accept to disconnect
        self.retry = None  # [attempts, since, address, interval] of a run of connect:retry
        self.stopping = False  # the agent stops this monitor itself: its "end" event is not the program's

    def drain(self, agent):
        import zmq

        pair = self.pair
        if pair is None:
            return
        for _ in range(self.MAX_PER_DRAIN):
            try:
                head = pair.recv(zmq.NOBLOCK)
                addr = pair.recv(zmq.NOBLOCK) if pair.get(zmq.RCVMORE) else b""
            except Exception:
                return
            try:
                self.event(agent, head, addr)
            except Exception:
                pass

    def event(self, agent, head, addr):
        if len(head) < 6:
            return
        code, value = agent.struct.unpack("=HI", head[:6])
        name = _EVENT_NAMES.get(code)
        if name is None or (code == 1024 and self.stopping):
            return
        address = addr.decode("utf-8", "replace") if isinstance(addr, bytes) else str(addr)
        now = agent.time()
        if code == 4:
            # a run of retries is two reports: the first, and the count when it ends
            if self.retry is None:
                self.retry = [1, now, address, value]
                agent.control({"type": "event", "socket": self.sid, "event": name, "address": address, "interval": value, "attempts": 1, "ts": now})
            else:
                self.retry[0] += 1
            return
        if self.retry is not None:
            if code in (2, 128):
                # the delay and the close of each failed attempt belong to the run of retries
                return
            self.end_retries(agent)
        r = {"type": "event", "socket": self.sid, "event": name, "address": address, "ts": now}
        if code in _ERRNO_EVENTS:
            import errno

            r["code"] = errno.errorcode.get(value, str(value))
            try:
                r["error"] = os.strerror(value)
            except Exception:
                pass
        elif code in (8192, 16384):
            r["code"] = str(value)
        if code in _FD_EVENTS:
            if code == 512:
                peer = self.peers.pop(value, None)
            else:
                peer = _proc_peer(value) if address.startswith("tcp://") else None
                if peer:
                    self.peers[value] = peer
            if peer:
                r["peer"] = peer
        agent.control(r)

    def end_retries(self, agent):
        if self.retry is not None and self.retry[0] > 1:
            attempts, since, address, interval = self.retry
            agent.control({"type": "event", "socket": self.sid, "event": "connect:retried", "address": address, "interval": interval,
                           "attempts": attempts, "since": since, "ts": agent.time()})
        self.retry = None

    def close(self, agent):
        self.end_retries(agent)
        pair, self.pair = self.pair, None
        if pair is not None:
            pair.close(0)


def _site_finder(zmq):
    """The call site of a socket operation: {file, line} of the innermost frame of the
    program's own code (outside pyzmq and this agent). Walks sys._getframe: used only on
    failures, binds/connects, subscriptions and socket creation, never per message."""
    getframe = sys._getframe
    skip = (os.path.dirname(os.path.abspath(zmq.__file__)) + os.sep, os.path.dirname(os.path.abspath(__file__)) + os.sep)
    seen = {}  # co_filename -> absolute path, or None for a file to skip (bounded)

    def site():
        try:
            f = getframe(1)
            while f is not None:
                name = f.f_code.co_filename
                path = seen.get(name, False)
                if path is False:
                    path = None if name.startswith("<") else os.path.abspath(name)
                    if path is not None and path.startswith(skip):
                        path = None
                    if len(seen) < 1024:
                        seen[name] = path
                if path is not None:
                    return {"file": path, "line": f.f_lineno}
                f = f.f_back
        except Exception:
            pass
        return None

    return site


def _install(agent):
    import zmq

    Socket = zmq.Socket  # zmq.sugar.socket.Socket: zmq.asyncio and friends subclass it
    if getattr(Socket, "_zmq_debug_agent", False):
        return
    if "libzmq-debug-agent" in os.environ.get("LD_PRELOAD", ""):
        # the native agent is preloaded too (pyzmq on a shared libzmq): this agent reports the process, it stands back
        try:
            import ctypes

            ctypes.CDLL(None).zmq_debug_agent_stand_back()
        except Exception:
            pass
    SNDMORE = int(zmq.SNDMORE)  # an enum.Flag: & on it costs more than the send
    RCVMORE = int(zmq.RCVMORE)
    ZMQError = zmq.ZMQError
    Frame = zmq.Frame
    EMFILE = int(getattr(zmq, "EMFILE", 24))
    opt_names = {}
    for name in ("SUBSCRIBE", "UNSUBSCRIBE", "SNDHWM", "RCVHWM", "HWM", "IDENTITY", "ROUTING_ID", "LINGER", "SNDTIMEO", "RCVTIMEO",
                 "ROUTER_MANDATORY", "CONFLATE", "XPUB_VERBOSE", "REQ_RELAXED", "REQ_CORRELATE", "IMMEDIATE", "PROBE_ROUTER"):
        v = getattr(zmq, name, None)
        if v is not None:
            opt_names[int(v)] = name.lower()
    sockets = agent.sockets
    now = agent.time
    site = _site_finder(zmq)
    put = agent.put
    control = agent.control
    maxf = agent.MAX_FRAME
    errno_names = {}
    import errno as _errno

    for code, name in _errno.errorcode.items():
        errno_names[code] = name
    for name in ("EFSM", "ENOCOMPATPROTO", "ETERM", "EMTHREAD"):
        v = getattr(zmq, name, None)
        if v is not None:
            errno_names[int(v)] = name

    def state(sock):
        try:
            st = sockets.get(sock.underlying)
        except Exception:
            return None
        if st is None:
            st = register(sock)
        return st

    def register(sock):
        try:
            key = sock.underlying
        except Exception:
            return None
        agent.next_id += 1
        st = {"id": agent.next_id, "pid": agent.pid, "type": getattr(sock, "_type_name", "?"), "ts": now(), "out": [], "in": [], "seen": agent.gate[1]}
        where = site()
        if where is not None:
            st["site"] = where
        for k, o in (("sndhwm", zmq.SNDHWM), ("rcvhwm", zmq.RCVHWM)):
            try:
                st[k] = int(Socket.get(sock, o))
            except Exception:
                pass
        sockets[key] = st
        control(agent.socket_report(st))
        return st

    def fail(sock, op, e):
        try:
            st = state(sock)
            if st is None:
                return
            err = getattr(e, "errno", None)
            if err == EAGAIN and (st.get("layer " + op) or in_layer_retry()):
                # a would-block inside a green/async layer that waits and tries again: the program
                # never sees it. A send that had to wait is the HWM (or no peer) holding it: once a call
                if op != "send" or st.get("waited"):
                    return
                st["waited"] = True
                code = ""
                op = "wait"
            else:
                code = errno_names.get(err, str(err if err is not None else ""))
            key = (st["id"], op, code)
            f = agent.failures.get(key)
            if f is None:
                agent.failures[key] = [1, now(), site()]
            else:
                f[0] += 1
            if agent.thread is None:
                agent.start()
        except Exception:
            pass

    EAGAIN = int(getattr(zmq, "EAGAIN", 11))
    NOBLOCK = int(zmq.NOBLOCK)
    layered = set()  # classes whose methods are wrapped as layers

    def in_layer_retry():
        # tornado's ZMQStream reads with NOBLOCK when its loop says the socket is readable and
        # shrugs off an EAGAIN (the state changed since): a frame or two up the stack
        f = sys._getframe(2)
        for _ in range(4):
            if f is None:
                return False
            c = f.f_code
            if c.co_name == "_handle_recv" and c.co_filename.endswith("zmqstream.py"):
                return True
            f = f.f_back
        return False

    def layer(cls, name, op, flags_of):
        # Wrap a green/async layer's call that retries a would-block until it can go through:
        # while it runs (and the program did not ask for NOBLOCK itself), an EAGAIN of the
        # socket below is the layer waiting, not a failure of the program's.
        orig = cls.__dict__.get(name)
        if orig is None or getattr(orig, "_zmq_debug_layer", False):
            return
        key = "layer " + op

        def wrapper(self, *a, **kw):
            try:
                nowait = flags_of(a, kw) & NOBLOCK
                st = None if nowait else state(self)
            except Exception:
                st = None
            if st is None:
                return orig(self, *a, **kw)
            st[key] = st.get(key, 0) + 1
            if op == "send":
                st["waited"] = False
            try:
                return orig(self, *a, **kw)
            finally:
                st[key] -= 1

        wrapper.__name__ = getattr(orig, "__name__", name)
        wrapper.__doc__ = getattr(orig, "__doc__", None)
        wrapper._zmq_debug_layer = True
        setattr(cls, name, wrapper)

    def arg(a, kw, i, name, default=0):
        if len(a) > i:
            return a[i]
        return kw.get(name, default)

    def install_layers(sock):
        # once per socket class: the layers in its MRO that retry would-blocks for the program
        cls = type(sock)
        if cls in layered or cls is Socket:
            return
        layered.add(cls)
        for c in cls.__mro__:
            mod = getattr(c, "__module__", "")
            if mod == "zmq.green.core" and c.__name__ == "_Socket":
                # gevent: send/recv loop on NOBLOCK + EAGAIN, waiting for the hub in between
                layer(c, "send", "send", lambda a, kw: int(arg(a, kw, 1, "flags") or 0))
                layer(c, "recv", "recv", lambda a, kw: int(arg(a, kw, 0, "flags") or 0))
            elif mod == "zmq._future" and c.__name__ == "_AsyncSocket":
                # asyncio (and tornado futures): a send tried at once with DONTWAIT, then on the loop
                layer(c, "_add_send_event", "send", lambda a, kw: int((arg(a, kw, 2, "kwargs", None) or {}).get("flags", 0) or 0))

    orig_init = Socket.__init__
    orig_send = Socket.send
    orig_recv = Socket.recv
    orig_bind = Socket.bind
    orig_connect = Socket.connect
    orig_unbind = Socket.unbind
    orig_disconnect = Socket.disconnect
    orig_set = Socket.set
    orig_setsockopt = Socket.setsockopt
    orig_close = Socket.close
    orig_get = Socket.get
    orig_monitor = Socket.monitor
    BaseSocket = Socket.__mro__[1]  # the compiled socket: the agent's PAIRs are made from it, unwrapped and out of ctx._sockets
    Context = zmq.Context
    orig_term = Context.term
    EVENT_ALL = int(getattr(zmq, "EVENT_ALL", 0xFFFF))
    PAIR = int(zmq.PAIR)
    LINGER = int(zmq.LINGER)
    RCVHWM = int(zmq.RCVHWM)
    monitors = agent.monitors
    # ZMQ_DEBUG_AGENT_MONITOR=0: no socket monitors (no events, no PAIR of the agent's in the program's contexts)
    monitoring = os.environ.get("ZMQ_DEBUG_AGENT_MONITOR", "1") != "0"

    def start_monitor(sock, st, addr):
        # the first bind/connect to a transport with connections: watch the socket's libzmq
        # monitor from a PAIR of the agent's own; never when the program monitors it itself
        if "mon" in st or not monitoring or len(monitors) >= agent.monitor_budget:
            return
        if not isinstance(addr, str):
            addr = bytes(addr).decode("utf-8", "replace")
        if addr.startswith("inproc://"):
            return
        st["mon"] = True
        key = sock.underlying
        ctx = sock.context
        maddr = "inproc://zmq-debug-agent-monitor.%d.%d" % (os.getpid(), st["id"])
        pair = None
        try:
            orig_monitor(sock, maddr, EVENT_ALL)
            pair = BaseSocket(ctx, PAIR)
            pair.set(LINGER, 0)
            pair.set(RCVHWM, 100000)
            pair.connect(maddr)
        except Exception:
            try:
                orig_monitor(sock, None, 0)
            except Exception:
                pass
            if pair is not None:
                try:
                    pair.close(0)
                except Exception:
                    pass
            return
        with agent.mon_lock:
            agent.monitors[key] = _Monitor(pair, st["id"], ctx.underlying)

    def release_monitors():
        # the agent's PAIRs go, and no new monitor starts in this process
        agent.monitor_budget = 0
        agent.stop_monitors()

    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        if soft == resource.RLIM_INFINITY:
            soft = 1 << 20
        # a sixteenth of the descriptors and an eighth of a context's default 1,023 sockets
        agent.monitor_budget = max(0, min(soft // 32, 1023 // 16))
    except Exception:
        pass

    def __init__(self, *a, **kw):
        try:
            orig_init(self, *a, **kw)
        except ZMQError as e:
            # the program ran out of sockets or descriptors: give back the agent's and try once
            # more, so that it fails only where it would have failed without the agent
            if e.errno != EMFILE or not monitors:
                raise
            release_monitors()
            orig_init(self, *a, **kw)
        try:
            if getattr(self, "_zmq_debug_internal", False):
                return
            if sockets.get(self.underlying) is None:
                register(self)
            install_layers(self)
            if "zmq.devices" in sys.modules:
                _devices_imported(agent)
        except Exception:
            pass

    # pyzmq's Python-level send only handles the draft routing_id/group arguments and
    # then calls the compiled send; without them, the wrapper calls the compiled one
    # itself (the same call, one Python layer less: its cost pays for the wrapper's).
    # Used only when that is all the Python-level send does, as in pyzmq 22 to 26.
    plain_send = orig_send
    try:
        base_send = Socket.__mro__[1].send
        names = set(orig_send.__code__.co_names)
        if names <= {"zmq", "Frame", "isinstance", "copy_threshold", "routing_id", "group", "super", "send"} and callable(base_send):
            plain_send = base_send
    except Exception:
        pass
    queue = agent.queue
    enqueue = queue.append
    maxq = agent.MAX_QUEUE
    maxb = agent.MAX_QUEUE_BYTES

    def keep(data):
        # what to queue for one frame: the bytes, or (original length, first MAX_FRAME bytes)
        if type(data) is bytes:
            b = data
        elif isinstance(data, Frame):
            b = data.bytes
        elif isinstance(data, str):
            return None
        else:
            try:
                b = memoryview(data).tobytes()
            except Exception:
                return None
        return b if len(b) <= maxf else (len(b), b[:maxf])

    gate = agent.gate

    def report(st, direction, pending, last):
        # one whole message: queue it, or count it dropped when the queue is full
        gate[0] -= 1
        if len(queue) >= maxq or agent.queued_bytes > maxb:
            agent.dropped += 1
            del pending[:]
            return
        f = keep(last)
        if pending:
            pending.append(f)
            frames = tuple(pending)
            del pending[:]
        else:
            frames = (f,)
        size = 0
        for f in frames:
            if f is None:
                return
            size += 8 + (len(f) if type(f) is bytes else maxf)
        agent.queued_bytes += size
        gate[0] -= size >> 9
        enqueue(("M", direction, st["id"], now(), frames))
        if agent.thread is None:
            agent.start()

    def send(self, data, flags=0, copy=True, track=False, routing_id=None, group=None):
        try:
            if routing_id is None and group is None:
                r = plain_send(self, data, flags, copy, track)
            else:
                r = orig_send(self, data, flags, copy, track, routing_id=routing_id, group=group)
        except ZMQError as e:
            fail(self, "send", e)
            raise
        # fast path: the gate is closed and no multipart send is under way: count, nothing else
        if gate[0] <= 0 and not gate[2] and not flags & SNDMORE:
            gate[1] += 1
            return r
        try:
            st = sockets.get(self.underlying) or register(self)
            pending = st["out"]
            if flags & SNDMORE:
                if not pending:
                    gate[2] += 1
                pending.append(keep(data))
            else:
                if pending:
                    gate[2] -= 1
                report(st, 0, pending, data)
        except Exception:
            pass
        return r

    def recv(self, flags=0, copy=True, track=False):
        try:
            r = orig_recv(self, flags, copy, track)
        except ZMQError as e:
            fail(self, "recv", e)
            raise
        if gate[0] <= 0:
            gate[1] += 1
            return r
        try:
            st = sockets.get(self.underlying) or register(self)
            more = orig_get(self, RCVMORE)
            if st["seen"] != gate[1]:
                # frames went by unseen since this socket's last one: this frame may be
                # the middle or end of a message; skip (and count) up to a message end
                if not more:
                    st["seen"] = gate[1]
                del st["in"][:]
                agent.dropped += 1
            elif more:
                st["in"].append(keep(r))
            else:
                report(st, 1, st["in"], r)
        except Exception:
            pass
        return r

    def endpoint_op(orig, op):
        def wrapper(self, addr, *a, **kw):
            if op in ("bind", "connect"):
                try:
                    st = state(self)
                    if st is not None:
                        start_monitor(self, st, addr)
                except Exception:
                    pass
            try:
                r = orig(self, addr, *a, **kw)
            except ZMQError as e:
                try:
                    st = state(self)
                    if st is not None:
                        rep = {"type": "socket", "op": op, "socket": st["id"], "endpoint": str(addr), "error": str(e),
                               "code": errno_names.get(e.errno, str(e.errno)), "ts": now()}
                        where = site()
                        if where is not None:
                            rep["site"] = where
                        control(rep)
                except Exception:
                    pass
                raise
            try:
                st = state(self)
                if st is not None:
                    rep = {"type": "socket", "op": op, "socket": st["id"], "endpoint": addr if isinstance(addr, str) else addr.decode("utf-8", "replace"), "ts": now()}
                    if op in ("bind", "connect"):
                        # the real address (tcp://*:0 -> tcp://0.0.0.0:41234), also on connect for a resolved host name
                        last = orig_get(self, zmq.LAST_ENDPOINT)
                        if isinstance(last, bytes):
                            last = last.decode("utf-8", "replace")
                        if last and last != rep["endpoint"]:
                            rep["resolved"] = last
                        where = site()
                        if where is not None:
                            rep["site"] = where
                    control(rep)
            except Exception:
                pass
            return r

        wrapper.__name__ = orig.__name__
        wrapper.__doc__ = orig.__doc__
        return wrapper

    def option_op(orig):
        def wrapper(self, option, optval, *a, **kw):
            r = orig(self, option, optval, *a, **kw)
            try:
                name = opt_names.get(int(option))
                if name is not None:
                    st = state(self)
                    if st is not None:
                        rep = {"type": "socket", "op": "option", "socket": st["id"], "option": name, "ts": now()}
                        if name in ("subscribe", "unsubscribe"):
                            rep["op"] = name
                            v = optval.encode("utf-8") if isinstance(optval, str) else bytes(optval)
                            import base64

                            rep["topic"] = base64.b64encode(v).decode("ascii")
                            where = site()
                            if where is not None:
                                rep["site"] = where
                        elif isinstance(optval, int):
                            rep["value"] = optval
                        elif isinstance(optval, (bytes, bytearray)):
                            import base64

                            rep["bytes"] = base64.b64encode(bytes(optval)).decode("ascii")
                        control(rep)
            except Exception:
                pass
            return r

        wrapper.__name__ = orig.__name__
        wrapper.__doc__ = orig.__doc__
        return wrapper

    def close(self, *a, **kw):
        try:
            closed = self.closed
            key = self.underlying if not closed else None
        except Exception:
            closed, key = True, None
        if key is not None and key in monitors:
            # libzmq 4.3 keeps a socket's monitor socket alive after the socket closes (one
            # libzmq socket leaked per close, until ZMQ_MAX_SOCKETS): stop it first, on the
            # program's thread as the close itself. Then the agent's PAIR, which is in the
            # program's context: ctx.term() would wait for it.
            try:
                monitors[key].stopping = True
                orig_monitor(self, None, 0)
            except Exception:
                pass
            agent.stop_monitor(key)
        r = orig_close(self, *a, **kw)
        try:
            if not closed and key is not None:
                st = sockets.pop(key, None)
                if st is not None:
                    control({"type": "socket", "op": "close", "socket": st["id"], "ts": now()})
        except Exception:
            pass
        return r

    def monitor(self, *a, **kw):
        # the program monitors this socket itself: its events are the program's (libzmq has one monitor a socket)
        try:
            key = self.underlying
            st = sockets.get(key)
            if st is not None:
                st["mon"] = False
            if key in monitors:
                agent.stop_monitor(key)
        except Exception:
            pass
        return orig_monitor(self, *a, **kw)

    def term(self, *a, **kw):
        # ctx.term() (and destroy(), and a collected Context) waits for every socket of the context: ours go first
        try:
            if monitors:
                agent.stop_monitors(self.underlying)
        except Exception:
            pass
        return orig_term(self, *a, **kw)

    _install_devices(zmq, agent)
    monitor.__doc__ = orig_monitor.__doc__
    term.__doc__ = orig_term.__doc__
    Socket.monitor = monitor
    Context.term = term
    __init__.__doc__ = orig_init.__doc__
    send.__doc__ = orig_send.__doc__
    recv.__doc__ = orig_recv.__doc__
    close.__doc__ = orig_close.__doc__
    Socket.__init__ = __init__
    Socket.send = send
    Socket.recv = recv
    Socket.bind = endpoint_op(orig_bind, "bind")
    Socket.connect = endpoint_op(orig_connect, "connect")
    Socket.unbind = endpoint_op(orig_unbind, "unbind")
    Socket.disconnect = endpoint_op(orig_disconnect, "disconnect")
    Socket.set = option_op(orig_set)
    Socket.setsockopt = option_op(orig_setsockopt)
    Socket.close = close
    Socket._zmq_debug_agent = True


def _install_devices(zmq, agent):
    """Devices: libzmq's proxy loop moves messages where no wrapper sees them. zmq.proxy,
    zmq.device (and through them zmq.devices' Thread/Process Device and Proxy classes) and
    zmq.devices' monitored_queue run the same loop in Python instead, through the program's
    own (wrapped) sockets: every message is seen on the socket it came in on and the one it
    went out of, and on the capture/monitor socket when there is one. The semantics are
    libzmq's (and pyzmq's own pure-Python monitored_queue, the one it uses on PyPy); only the
    speed differs. ZMQ_DEBUG_AGENT_DEVICES=native keeps libzmq's loop (its traffic unseen).
    zmq.proxy_steerable keeps libzmq's loop (its control socket is libzmq's to read)."""
    control = agent.control

    def unseen(kind, *socks):
        # a device whose loop stays libzmq's: its sockets' traffic is not seen (the doctor says so)
        try:
            for sock in socks:
                st = agent.sockets.get(sock.underlying) if sock is not None else None
                if st is not None:
                    control({"type": "event", "socket": st["id"], "event": "device:unseen", "address": kind, "ts": agent.time()})
        except Exception:
            pass

    def native(kind, orig):
        def wrapper(*a, **kw):
            unseen(kind, *[x for x in a if isinstance(x, zmq.Socket)])
            return orig(*a, **kw)

        wrapper.__name__ = getattr(orig, "__name__", kind)
        wrapper.__doc__ = getattr(orig, "__doc__", None)
        return wrapper

    agent.unseen_device = native
    if hasattr(zmq, "proxy_steerable"):
        # its control socket (PAUSE/RESUME/TERMINATE) is libzmq's to read: the loop stays native
        zmq.proxy_steerable = native("zmq.proxy_steerable", zmq.proxy_steerable)
    if os.environ.get("ZMQ_DEBUG_AGENT_DEVICES", "") == "native":
        zmq.proxy = native("zmq.proxy", zmq.proxy)
        zmq.device = native("zmq.device", zmq.device)
        agent.device_functions = (zmq.proxy, zmq.device)
        return
    POLLIN = int(zmq.POLLIN)
    Poller = zmq.Poller
    QUEUE, FORWARDER, STREAMER = (int(getattr(zmq, n, v)) for n, v in (("QUEUE", 3), ("FORWARDER", 2), ("STREAMER", 1)))
    orig_proxy = zmq.proxy
    orig_device = zmq.device

    def proxy(frontend, backend, capture=None):
        if getattr(frontend, "_zmq_debug_agent", False) is not True or getattr(backend, "_zmq_debug_agent", False) is not True:
            return orig_proxy(frontend, backend, capture)
        poller = Poller()
        poller.register(frontend, POLLIN)
        if backend is not frontend:
            poller.register(backend, POLLIN)
        while True:
            for sock, _ in poller.poll():
                # one whole message each turn, as libzmq's proxy forwards (capture first, then out)
                other = backend if sock is frontend else frontend
                msg = sock.recv_multipart()
                if capture is not None:
                    capture.send_multipart(msg)
                other.send_multipart(msg)

    def device(device_type, frontend, backend):
        if int(device_type) not in (QUEUE, FORWARDER, STREAMER):
            return orig_device(device_type, frontend, backend)
        # libzmq 3+: every device is a proxy
        return proxy(frontend, backend)

    proxy.__doc__ = orig_proxy.__doc__
    device.__doc__ = orig_device.__doc__
    zmq.proxy = proxy
    zmq.device = device
    agent.device_functions = (proxy, device)
    try:
        import zmq.backend as backend_mod

        # pyzmq re-exports them from zmq.backend and zmq.sugar: the same function everywhere
        for mod in (backend_mod, sys.modules.get("zmq.sugar")):
            if mod is not None and getattr(mod, "proxy", None) is orig_proxy:
                mod.proxy = proxy
            if mod is not None and getattr(mod, "device", None) is orig_device:
                mod.device = device
    except Exception:
        pass


def _pure_monitored_queue(native_mq, origin):
    """pyzmq's pure-Python monitored_queue (zmq/devices/monitoredqueue.py next to the compiled one,
    the version pyzmq itself uses on PyPy), in place of the compiled loop; None when not there."""
    import zmq

    if getattr(native_mq, "_zmq_debug_agent", False) or not origin or origin.endswith(".py"):
        return None
    path = os.path.join(os.path.dirname(origin), "monitoredqueue.py")
    if not os.path.exists(path):
        return None
    ns = {"__name__": "zmq.devices._zmq_debug_monitoredqueue"}
    with open(path) as f:
        exec(compile(f.read(), path, "exec"), ns)
    pure = ns["monitored_queue"]

    def monitored_queue(in_socket, out_socket, mon_socket, in_prefix=b"in", out_prefix=b"out"):
        if not all(getattr(x, "_zmq_debug_agent", False) is True for x in (in_socket, out_socket, mon_socket)):
            return native_mq(in_socket, out_socket, mon_socket, in_prefix, out_prefix)
        return pure(in_socket, out_socket, mon_socket, in_prefix, out_prefix)

    monitored_queue.__doc__ = native_mq.__doc__
    monitored_queue._zmq_debug_agent = True
    del zmq
    return monitored_queue


def _devices_imported(agent):
    # zmq.devices binds device (basedevice) and monitored_queue by name when imported: the import
    # hook gives them the agent's; this catches a zmq.devices imported before the agent was installed
    if os.environ.get("ZMQ_DEBUG_AGENT_DEVICES", "") == "native":
        return
    fns = getattr(agent, "device_functions", None)
    base = sys.modules.get("zmq.devices.basedevice")
    if base is not None and fns is not None and getattr(base, "device", None) is not fns[1]:
        base.device = fns[1]
    compiled = sys.modules.get("zmq.devices.monitoredqueue")
    if compiled is None or getattr(compiled.monitored_queue, "_zmq_debug_agent", False) or getattr(compiled, "_zmq_debug_tried", False):
        return
    compiled._zmq_debug_tried = True
    try:
        native_mq = compiled.monitored_queue
        ours = _pure_monitored_queue(native_mq, getattr(compiled, "__file__", None))
        if ours is None:
            return
        for name in ("zmq.devices.monitoredqueue", "zmq.devices.monitoredqueuedevice", "zmq.devices"):
            mod = sys.modules.get(name)
            if mod is not None and getattr(mod, "monitored_queue", None) is native_mq:
                mod.monitored_queue = ours
    except Exception:
        pass


class _ZmqImportHook(object):
    """A meta path finder that lets `zmq` load as usual, then installs the wrappers."""

    def __init__(self, agent):
        self.agent = agent
        self.done = False

    def find_spec(self, fullname, path=None, target=None):
        if fullname == "zmq.devices.monitoredqueue":
            return self.monitoredqueue_spec(fullname, path)
        if fullname != "zmq" or self.done:
            return None
        import importlib.machinery

        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return None
        loader = spec.loader
        hook = self

        class Loader(object):
            def create_module(self, spec):
                return loader.create_module(spec)

            def exec_module(self, module):
                loader.exec_module(module)
                hook.done = True
                try:
                    _install(hook.agent)
                except Exception:
                    pass

            def __getattr__(self, name):
                return getattr(loader, name)

        spec.loader = Loader()
        return spec

    def monitoredqueue_spec(self, fullname, path):
        # the compiled monitored_queue loads as usual, then gives way to the agent's (before
        # zmq.devices and monitoredqueuedevice bind it by name, and any `from zmq.devices import`)
        keep_native = os.environ.get("ZMQ_DEBUG_AGENT_DEVICES", "") == "native"
        agent = self.agent
        import importlib.machinery

        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return None
        loader = spec.loader

        class Loader(object):
            def create_module(self, spec):
                return loader.create_module(spec)

            def exec_module(self, module):
                loader.exec_module(module)
                try:
                    if keep_native:
                        # libzmq's loop as asked: its sockets are said to be unseen
                        mark = getattr(agent, "unseen_device", None)
                        if mark is not None:
                            module.monitored_queue = mark("zmq.devices.monitored_queue", module.monitored_queue)
                        return
                    ours = _pure_monitored_queue(module.monitored_queue, getattr(module, "__file__", None))
                    if ours is not None:
                        module.monitored_queue = ours
                except Exception:
                    pass

            def __getattr__(self, name):
                return getattr(loader, name)

        spec.loader = Loader()
        return spec


def _main():
    address = os.environ.get("ZMQ_DEBUG_COLLECTOR")
    token = os.environ.get("ZMQ_DEBUG_TOKEN")
    if not address or not token:
        return
    try:
        agent = _Agent(address, token)
    except Exception:
        return
    import atexit

    atexit.register(agent.at_exit)
    # os._exit skips atexit (forked children, multiprocessing workers): flush first, then exit as asked
    real_exit = os._exit

    def _exit(status):
        try:
            agent.at_exit()
        except BaseException:
            pass
        real_exit(status)

    _exit.__doc__ = real_exit.__doc__
    os._exit = _exit
    if hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=agent.after_fork)
    if "zmq" in sys.modules:
        _install(agent)
    else:
        sys.meta_path.insert(0, _ZmqImportHook(agent))


try:
    _main()
except Exception:
    pass

del _main
_chain_sitecustomize()
