"""The agent's reporter: a bounded queue the wrappers fill, and the daemon thread that
sends it to the collector over a plain TCP connection (not a zmq socket: nothing is
added to the program's contexts). A full queue drops reports (counted and reported),
never blocks the program; no collector means no reports and no output."""
import os
import sys
import time
from itertools import islice

from . import records


class Agent(object):
    MAX_QUEUE = 65536  # reports waiting for the collector; more are dropped (counted)
    MAX_QUEUE_BYTES = 32 << 20
    MAX_FRAME = 65536  # bytes of each frame kept; longer ones are cut (original length reported)
    # The reporter thread uses at most BUDGET seconds of CPU every TICK (its own thread's
    # time: a sendall waiting for the collector costs nothing), so this bounds what it can
    # take from the program. A program that sends faster than that gets its surplus
    # reports dropped (counted), not slowed down.
    TICK = 0.05
    BUDGET = 0.01
    # The gate: a token bucket of messages the wrappers look at, GATE more every TICK
    # (5,000 a second by default), up to GATE_BURST saved while the program is quiet (each
    # 4 KiB of a message over 8 KiB counts one more). Below that rate every message is
    # captured; above it, with the gate shut, send and recv only count what they do not
    # look at (dropped), the cheapest a wrapper can be. ZMQ_DEBUG_AGENT_GATE=10000 captures
    # a program at 100,000 msg/s whole, where the collector keeps up: flat out on a loaded
    # 2-core machine a high gate slowed a PUSH→PULL program many times (docs/performance.md).
    GATE = 250
    EXIT_WAIT = 2.0
    GATE_BURST = 5000

    def __init__(self, address, token):
        import collections
        import threading
        import time

        host, _, port = address.rpartition(":")
        # bytes: getaddrinfo would encode a str with the idna codec, a first import on the reporter's thread (start)
        try:
            self.host = host.encode("ascii")
        except UnicodeError:
            self.host = host.encode("idna")
        self.port = int(port)
        self.socket = None  # the socket module, imported by start
        self.runtime = None
        self.token = token
        self.time = time.time
        self.cpu = getattr(time, "thread_time", time.time)  # the reporter's own CPU time
        self.threading = threading
        self.queue = collections.deque()
        self.queued_bytes = [0]  # a cell: the wrappers add to it
        self.dropped = 0
        self.reported_dropped = 0
        # (socket id, op, errno name) -> [count, first ts] not yet reported; op "wait": sends a
        # green/async layer held at the HWM (reported as waits, not failures)
        self.failures = {}
        self.sockets = {}  # underlying address -> socket state
        self.next_id = 0
        # socket monitors: underlying address of the program's socket -> Monitor.
        # The PAIR sockets that read them are the agent's: used by the reporter
        # thread and closed by the program's thread (close, ctx.term), always under
        # mon_lock, so that no two threads touch one libzmq socket at once. It is re-entrant:
        # the cyclic GC can run pyzmq's Socket.__del__ (which closes the socket, so enters the
        # close wrapper) on whatever thread holds it, in the middle of a drain or a start.
        self.monitors = {}
        self.mon_lock = threading.RLock()
        # at most this many agent monitors at once (each costs the program two libzmq sockets
        # and two file descriptors); set from the limits in install, 0 once the program hit one
        self.monitor_budget = 64
        try:
            # ZMQ_DEBUG_AGENT_GATE: look at more (or fewer) messages per tick, at that cost
            self.GATE = max(1, int(os.environ.get("ZMQ_DEBUG_AGENT_GATE", self.GATE)))
            self.GATE_BURST = max(4 * self.GATE, self.GATE_BURST)
        except ValueError:
            pass
        self.wake = threading.Event()
        # [messages the wrappers may still look at, frames passed by unseen (ever), sockets with a multipart send under way]
        self.gate = [self.GATE_BURST, 0, 0]
        self.gate_ts = self.time()
        self.unseen_taken = 0
        self.sends = 0  # sendall calls that went through (the exit waits while they do)
        self.thread = None
        self.stopping = False
        self.conn = None
        self.reconnect = False
        self.retry_at = 0.0
        self.pid = os.getpid()
        self.fork_of = None  # in a forked child: the parent's name
        # the native agent records the messages of these sockets (native.py; None: this agent does)
        self.native = None
        self.adopted = set()  # underlying addresses of the sockets it adopted
        self.all_adopted = [True]  # a cell: while every socket is adopted, the wrappers only call through
        self.native_dropped = 0  # its drops already counted in self.dropped

    # -- program side (hot path: keep short) ---------------------------------

    def put(self, record):
        # a whole record (bytes), queued as a 1-tuple (see records.py); the wrappers queue messages themselves
        if self.native is not None:
            # in the native agent's queue, in order with the messages it records (drops counted there)
            self.native.put(record, len(record))
            if self.thread is None:
                self.start()
            return
        size = len(record)
        if len(self.queue) >= self.MAX_QUEUE or self.queued_bytes[0] + size > self.MAX_QUEUE_BYTES:
            self.dropped += 1
            return
        self.queued_bytes[0] += size
        self.queue.append((record,))
        if self.thread is None:
            self.start()

    def control(self, obj):
        self.put(records.frame_json(obj))

    # -- reporter thread ------------------------------------------------------

    def start(self):
        if self.thread is not None or self.stopping:
            return
        # The reporter's thread never imports a module for the first time: a fork() while it held that module's
        # import lock would leave the lock held for ever in the child, whose thread and program would hang at
        # their first import of it (a multiprocessing worker lost, its exit held). What it needs is imported
        # here, on the program's thread, before it runs.
        if self.socket is None:
            import socket

            self.socket = socket
            zmq = sys.modules["zmq"]  # the wrappers that start it are zmq's
            self.runtime = "python %d.%d.%d pyzmq %s libzmq %s" % (sys.version_info[:3] + (zmq.pyzmq_version(), zmq.zmq_version()))
        # the process is reported as started when its first report was made
        self.started = self.time()
        self.starter_tid = self.native_tid()
        t = self.threading.Thread(target=self.run, name="zmq-debug-agent", daemon=True)
        self.thread = t
        t.start()

    def native_tid(self):
        # the OS thread's id (gevent and eventlet patch get_ident, not get_native_id); 0: unknown
        get = getattr(self.threading, "get_native_id", None)
        return get() if get is not None else 0

    def run(self):
        # Under gevent's or eventlet's monkey-patching this "thread" is a greenlet on the program's
        # own OS thread: it must only wait cooperatively (wake.wait), never block in C.
        tid = self.native_tid()
        own_thread = tid != 0 and tid != self.starter_tid
        # the first round without waiting: the collector learns of the process while it starts
        first = True
        while not self.stopping:
            if not first:
                native = self.native
                if native is not None and own_thread:
                    # until the next round the native agent sends its queue whenever a MiB waits, this
                    # thread not woken for it (the ring stays in the caches)
                    sent = native.pump(self.conn.fileno() if self.conn is not None else -1, int(self.TICK * 1000))
                    if sent < 0:
                        self.send_failed()
                    self.sends += sent > 0
                else:
                    self.wake.wait(self.TICK)
            first = False
            self.wake.clear()
            if self.monitors:
                self.drain_monitors()
            self.flush(deadline=self.cpu() + self.BUDGET)
            self.refill()
            self.take_unseen()

    def refill(self):
        # tokens for the time since the last refill (a late tick is not a slower gate), never
        # more than the queue has room for: the wrappers queue only what the gate lets through
        now = self.time()
        add = int(self.GATE * (now - self.gate_ts) / self.TICK)
        if add <= 0:
            return
        self.gate_ts = now
        gate = self.gate
        gate[0] = max(0, min(gate[0] + add, self.GATE_BURST, self.MAX_QUEUE - len(self.queue)))

    def take_unseen(self):
        # frames the wrappers let pass unseen are dropped reports
        total = self.gate[1]
        self.dropped += total - self.unseen_taken
        self.unseen_taken = total

    def connect(self):
        socket = self.socket
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
            ring = self.native.ring_offer() if self.native is not None else None
            if ring is not None:
                # the collector may read the native agent's shared ring instead of this socket (shmring.c)
                hello["ring"] = ring
            first = [records.frame_json(hello), records.frame_json(self.process_report())]
            if self.reconnect:
                # a new collector: tell it the sockets that are open (queued reports follow)
                first += [records.frame_json(self.socket_report(st)) for st in list(self.sockets.values())]
            conn.sendall(b"".join(first))
            # blocking from here: a sendall is then one send() with the GIL released, where with a
            # timeout it polls and takes the GIL back after every part the collector took
            conn.settimeout(None)
        except Exception:
            self.retry_at = now + 2.0
            return False
        self.conn = conn
        self.reconnect = True
        return True

    def flush(self, deadline):
        native = self.native
        if native is None and not self.queue and not self.failures and self.dropped == self.reported_dropped and self.gate[1] == self.unseen_taken:
            return
        if not self.hand_over(deadline):
            return
        self.send_reports()

    def hand_over(self, deadline=None):
        """What is queued to the collector, in order, until the deadline (the reporter's CPU time) or a full shared
        ring (the rest stays queued); False when there is no collector (what was queued is counted lost)."""
        native = self.native
        q = self.queue
        # with the native agent: its queue (this agent's reports and the adopted sockets' messages) up to here goes
        # first, then the messages this agent queued before (of sockets not adopted: their open reports are in it)
        before = len(q)
        upto = native.mark() if native is not None else 0
        if not self.connect():
            # nobody listens: what is queued is lost (counted)
            while q:
                q.popleft()
                self.dropped += 1
            self.queued_bytes[0] = 0
            self.failures.clear()
            if native is not None:
                native.send_queued(-1, upto)
                self.take_native_drops()
            return False
        if native is not None:
            if not self.ring_switch():
                return False
            # the GIL is released while it sends
            sent = native.send_queued(self.conn.fileno(), upto)
            self.take_native_drops()
            if sent < 0:
                self.send_failed()
                return False
            self.sends += sent > 0
            if native.ring_full():
                # its queue kept reports from before this agent's (a socket's open report before its messages)
                before = 0
        take = iter(q.popleft, None)  # the reporter is the only one that takes: never empty within len(q)
        while q and (native is None or before > 0):
            out = []
            n = min(len(q), records.BATCH, before) if native is not None else min(len(q), records.BATCH)
            batch = list(islice(take, n))
            size = records.encode(batch, out)
            ok = self.send(out)
            if ok is None:
                # the shared ring is full: the batch goes back to the queue's head, in order, for the next
                # round (as the native queue keeps what does not fit); the queue's bounds shut the gate
                q.extendleft(reversed(batch))
                break
            self.queued_bytes[0] -= size
            before -= n
            if not ok:
                self.dropped += n  # the connection lost with them: counted
                return False
            # a sendall held up by a busy collector is no reason to shut the gate while the queue has room
            self.refill()
            if deadline is not None and self.cpu() > deadline:
                break
        return True

    def send_reports(self):
        # the failures, the drops and (the last flush) the exit, after what was queued
        q = self.queue
        out = []
        fails = None
        if self.failures:
            fails, self.failures = self.failures, {}
            for (sid, op, code), f in fails.items():
                if op == "wait":
                    out.append(records.frame_json({"type": "wait", "socket": sid, "op": "send", "count": f[0], "ts": f[1]}))
                    continue
                rep = {"type": "error", "socket": sid, "op": op, "code": code, "count": f[0], "ts": f[1]}
                if len(f) > 2 and f[2] is not None:
                    rep["site"] = f[2]
                out.append(records.frame_json(rep))
        reported = self.reported_dropped
        if self.dropped != self.reported_dropped:
            self.reported_dropped = self.dropped
            out.append(records.frame_json({"type": "drops", "dropped": self.dropped}))
        if not q and self.stopping and self.thread is not None and not self.thread.is_alive():
            out.append(records.frame_json({"type": "exit", "ts": self.time()}))
        if out and self.send(out) is None:
            # the shared ring is full: the failures and the drops wait for the next round
            self.reported_dropped = reported
            for key, f in (fails.items() if fails else ()):
                cur = self.failures.setdefault(key, f)
                if cur is not f:
                    cur[0] += f[0]
                    cur[1] = min(cur[1], f[1])
        if not q:
            self.queued_bytes[0] = 0

    def flush_final(self):
        self.take_unseen()
        native = self.native
        if native is not None and self.conn is not None:
            # what the shared ring had no room for (in the native queue, or in this agent's): the collector gets
            # half a second to make room (it reads every 5 ms), then the rest is counted lost, before the drops
            # and the exit are reported
            waited = 0.0
            while self.hand_over() and (native.queued() or self.queue) and waited < 0.5:
                time.sleep(0.005)
                waited += 0.005
            if native.queued():
                native.send_queued(-1, native.mark())
                self.take_native_drops()
            if self.queue:
                self.dropped += len(self.queue)
                self.queue.clear()
                self.queued_bytes[0] = 0
        if self.queue or self.failures or self.dropped != self.reported_dropped or self.native is not None:
            self.flush(deadline=None)
        elif self.conn is not None:
            self.send([records.frame_json({"type": "exit", "ts": self.time()})])

    def send(self, parts):
        # True sent, False the connection lost, None the shared ring full (nothing sent)
        try:
            data = b"".join(parts)
            put = self.native.ring_put(data, len(data)) if self.native is not None and self.conn is not None else -1
            if put == 0:
                return None
            if put < 0:
                self.conn.sendall(data)
            self.sends += 1
            return True
        except Exception:
            self.send_failed()
            return False

    def ring_switch(self):
        # the collector attached the shared ring: the `ring` report on the socket, every frame in the ring from now
        # on; a collector gone is noticed here (it never writes: its socket readable means closed). False: lost.
        native = self.native
        try:
            if native.ring_attached():
                self.conn.sendall(records.frame_json({"type": "ring"}))
                native.ring_on()
            elif native.ring_gone(self.conn.fileno()):
                raise EOFError
            return True
        except Exception:
            self.send_failed()
            return False

    def send_failed(self):
        try:
            self.conn.close()
        except Exception:
            pass
        self.conn = None
        self.retry_at = self.time() + 2.0

    def take_native_drops(self):
        # the native agent's messages not recorded (its gate shut, its queue full, no collector)
        total = self.native.dropped()
        self.dropped += total - self.native_dropped
        self.native_dropped = total

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
            # half a second, longer only while the collector is taking what is queued: at most
            # EXIT_WAIT, and never a second without a send going through
            self.thread.join(0.5)
            waited, still = 0.5, 0.0
            while self.thread.is_alive() and waited < self.EXIT_WAIT and still < 1.0:
                sent = self.sends
                self.thread.join(0.25)
                waited += 0.25
                still = 0.0 if self.sends != sent else still + 0.25
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
        self.queued_bytes[0] = 0
        self.dropped = 0
        self.reported_dropped = 0
        self.failures = {}
        self.gate[:] = [self.GATE_BURST, 0, 0]
        self.gate_ts = self.time()
        self.unseen_taken = 0
        self.native_dropped = 0  # the native agent starts afresh in the child too
        self.adopted.clear()
        self.all_adopted[0] = True
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
        running = runs()
        if running:
            name = "%s (%s)" % (name, running)
        try:
            cwd = os.getcwd()
        except Exception:
            cwd = ""
        return {
            "type": "process", "pid": os.getpid(), "ppid": os.getppid(), "argv": argv, "cwd": cwd, "name": name, "runtime": self.runtime,
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


def runs():
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

