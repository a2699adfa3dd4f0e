"""The wrappers of zmq.Socket's methods and zmq.Context.term, put in place when the
program imports zmq. Every wrapper calls the original first and lets its result or
exception pass unchanged; the agent's own work is inside `try/except` so it can never
raise into the program."""
import os
import sys

from .devices import devices_imported, install_devices
from .layers import layer_wrappers
from .messages import message_wrappers
from .monitor import Monitor
from .native import stand_back

def site_finder(zmq):
    """The call site of a socket operation: {file, line} of the innermost frame of the
    program's own code (outside pyzmq and this agent). Walks sys._getframe: used only on
    failures, binds/connects, subscriptions and socket creation, never per message."""
    getframe = sys._getframe
    # the agent: this package and the sitecustomize.py beside it
    agent_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    skip = (os.path.dirname(os.path.abspath(zmq.__file__)) + os.sep, agent_dir + os.sep)
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


def named(wrapper, orig):
    """The wrapper, with the name and docstring of what it wraps."""
    wrapper.__name__ = orig.__name__
    wrapper.__doc__ = orig.__doc__
    return wrapper


OPTIONS_REPORTED = ("SUBSCRIBE", "UNSUBSCRIBE", "SNDHWM", "RCVHWM", "HWM", "IDENTITY", "ROUTING_ID", "LINGER", "SNDTIMEO",
                    "RCVTIMEO", "ROUTER_MANDATORY", "CONFLATE", "XPUB_VERBOSE", "REQ_RELAXED", "REQ_CORRELATE", "IMMEDIATE",
                    "PROBE_ROUTER")


def errno_names(zmq):
    """errno -> its name (EAGAIN, EFSM, ...), libzmq's own among them."""
    import errno

    names = dict(errno.errorcode)
    for name in ("EFSM", "ENOCOMPATPROTO", "ETERM", "EMTHREAD"):
        v = getattr(zmq, name, None)
        if v is not None:
            names[int(v)] = name
    return names


class SocketBook(object):
    """The program's sockets as the agent knows them: each one's state (made and its open report queued
    the first time the agent sees the socket), the failures of its calls counted, and the program's
    lines that made them (`site`)."""

    def __init__(self, agent, zmq, Socket):
        self.agent = agent
        self.zmq = zmq
        self.Socket = Socket
        self.sockets = agent.sockets
        self.now = agent.time
        self.control = agent.control
        self.site = site_finder(zmq)
        self.errno_names = errno_names(zmq)
        self.EAGAIN = int(getattr(zmq, "EAGAIN", 11))
        # set once the green/async layers are wrapped (layers.py)
        self.in_layer_retry = lambda: False

    def with_site(self, rep):
        # the program's line that made the call, when it is found
        where = self.site()
        if where is not None:
            rep["site"] = where

    def state(self, sock):
        try:
            st = self.sockets.get(sock.underlying)
        except Exception:
            return None
        if st is None:
            st = self.register(sock)
        return st

    def register(self, sock):
        try:
            key = sock.underlying
        except Exception:
            return None
        agent = self.agent
        agent.next_id += 1
        st = {"id": agent.next_id, "pid": agent.pid, "type": getattr(sock, "_type_name", "?"), "ts": self.now(), "out": [], "in": [], "seen": agent.gate[1]}
        # the keys of its messages in a batch record: socket id << 1 | direction
        st["out_key"] = st["id"] << 1
        st["in_key"] = st["id"] << 1 | 1
        where = self.site()
        if where is not None:
            st["site"] = where
        for k, o in (("sndhwm", self.zmq.SNDHWM), ("rcvhwm", self.zmq.RCVHWM)):
            try:
                st[k] = int(self.Socket.get(sock, o))
            except Exception:
                pass
        self.sockets[key] = st
        self.control(agent.socket_report(st))
        # after its open report is queued: the reporter sends the native agent's messages after its own reports
        if agent.native is not None:
            if agent.native.adopt(key, st["id"]):
                st["native"] = True
                agent.adopted.add(key)
            else:
                agent.all_adopted[0] = False
                # its messages go in this agent's queue: only its rounds send the native queue, in order with it
                agent.native.hold_pump()
        return st

    def fail(self, sock, op, e):
        try:
            st = self.state(sock)
            if st is None:
                return
            err = getattr(e, "errno", None)
            if err == self.EAGAIN and (st.get("layer " + op) or self.in_layer_retry()):
                # a would-block inside a green/async layer that waits and tries again: the program
                # never sees it. A send that had to wait is the HWM (or no peer) holding it: once a call
                if op != "send" or st.get("waited"):
                    return
                st["waited"] = True
                code = ""
                op = "wait"
            else:
                code = self.errno_names.get(err, str(err if err is not None else ""))
            agent = self.agent
            key = (st["id"], op, code)
            f = agent.failures.get(key)
            if f is None:
                agent.failures[key] = [1, self.now(), self.site()]
            else:
                f[0] += 1
            if agent.thread is None:
                agent.start()
        except Exception:
            pass


class AgentMonitors(object):
    """The agent's own monitors of the program's sockets: the first bind/connect of a socket to a
    transport with connections starts its libzmq monitor, read by a PAIR of the agent's (monitor.py),
    within a budget of the program's descriptors and sockets; never where the program monitors the
    socket itself, and none with ZMQ_DEBUG_AGENT_MONITOR=0."""

    def __init__(self, agent, zmq, Socket):
        self.agent = agent
        self.zmq = zmq
        self.monitors = agent.monitors
        self.orig_monitor = Socket.monitor
        self.BaseSocket = Socket.__mro__[1]  # the compiled socket: the agent's PAIRs are made from it, unwrapped and out of ctx._sockets
        self.EVENT_ALL = int(getattr(zmq, "EVENT_ALL", 0xFFFF))
        self.PAIR = int(zmq.PAIR)
        self.LINGER = int(zmq.LINGER)
        self.RCVHWM = int(zmq.RCVHWM)
        self.on = os.environ.get("ZMQ_DEBUG_AGENT_MONITOR", "1") != "0"
        try:
            import resource

            soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
            if soft == resource.RLIM_INFINITY:
                soft = 1 << 20
            # a sixteenth of the descriptors and an eighth of a context's default 1,023 sockets
            agent.monitor_budget = max(0, min(soft // 32, 1023 // 16))
        except Exception:
            pass

    def start(self, sock, st, addr):
        if "mon" in st or not self.on or len(self.monitors) >= self.agent.monitor_budget:
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
            self.orig_monitor(sock, maddr, self.EVENT_ALL)
            pair = self.BaseSocket(ctx, self.PAIR)
            pair.set(self.LINGER, 0)
            pair.set(self.RCVHWM, 100000)
            pair.connect(maddr)
        except Exception:
            try:
                self.orig_monitor(sock, None, 0)
            except Exception:
                pass
            if pair is not None:
                try:
                    pair.close(0)
                except Exception:
                    pass
            return
        with self.agent.mon_lock:
            self.monitors[key] = Monitor(self.zmq, pair, st["id"], ctx.underlying)

    def release(self):
        # the agent's PAIRs go, and no new monitor starts in this process
        self.agent.monitor_budget = 0
        self.agent.stop_monitors()


def init_wrapper(zmq, orig_init, book, monitors, install_layers):
    """Socket.__init__: the socket registered (its open report) as soon as it is made."""
    ZMQError = zmq.ZMQError
    EMFILE = int(getattr(zmq, "EMFILE", 24))
    agent = book.agent

    def __init__(self, *a, **kw):
        try:
            orig_init(self, *a, **kw)
        except ZMQError as e:
            # the program ran out of sockets or descriptors: give back the agent's and try once
            # more, so that it fails only where it would have failed without the agent
            if e.errno != EMFILE or not monitors.monitors:
                raise
            monitors.release()
            orig_init(self, *a, **kw)
        try:
            if getattr(self, "_zmq_debug_internal", False):
                return
            if book.sockets.get(self.underlying) is None:
                book.register(self)
            install_layers(self)
            if "zmq.devices" in sys.modules:
                devices_imported(agent)
        except Exception:
            pass

    return named(__init__, orig_init)


def endpoint_wrapper(zmq, orig, op, book, monitors):
    """bind, connect, unbind, disconnect: reported with the endpoint (and the real address a bind or
    connect resolved to), or with the error the program got."""
    ZMQError = zmq.ZMQError
    LAST_ENDPOINT = zmq.LAST_ENDPOINT
    orig_get = book.Socket.get
    state, control, now = book.state, book.control, book.now

    def wrapper(self, addr, *a, **kw):
        if op in ("bind", "connect"):
            try:
                st = state(self)
                if st is not None:
                    monitors.start(self, st, addr)
            except Exception:
                pass
        try:
            r = orig(self, addr, *a, **kw)
        except ZMQError as e:
            try:
                st = state(self)
                if st is not None:
                    rep = {"type": "socket", "op": op, "socket": st["id"], "endpoint": str(addr), "error": str(e),
                           "code": book.errno_names.get(e.errno, str(e.errno)), "ts": now()}
                    book.with_site(rep)
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
                    last = orig_get(self, LAST_ENDPOINT)
                    if isinstance(last, bytes):
                        last = last.decode("utf-8", "replace")
                    if last and last != rep["endpoint"]:
                        rep["resolved"] = last
                    book.with_site(rep)
                control(rep)
        except Exception:
            pass
        return r

    return named(wrapper, orig)


def option_wrapper(zmq, orig, book):
    """set/setsockopt: the options the map and the doctor read (OPTIONS_REPORTED), subscriptions with
    their topic and the line that made them."""
    import base64

    opt_names = {}
    for name in OPTIONS_REPORTED:
        v = getattr(zmq, name, None)
        if v is not None:
            opt_names[int(v)] = name.lower()

    def wrapper(self, option, optval, *a, **kw):
        r = orig(self, option, optval, *a, **kw)
        try:
            name = opt_names.get(int(option))
            if name is not None:
                st = book.state(self)
                if st is not None:
                    rep = {"type": "socket", "op": "option", "socket": st["id"], "option": name, "ts": book.now()}
                    if name in ("subscribe", "unsubscribe"):
                        rep["op"] = name
                        v = optval.encode("utf-8") if isinstance(optval, str) else bytes(optval)
                        rep["topic"] = base64.b64encode(v).decode("ascii")
                        book.with_site(rep)
                    elif isinstance(optval, int):
                        rep["value"] = optval
                    elif isinstance(optval, (bytes, bytearray)):
                        rep["bytes"] = base64.b64encode(bytes(optval)).decode("ascii")
                    book.control(rep)
        except Exception:
            pass
        return r

    return named(wrapper, orig)


def close_wrapper(orig_close, book, monitors):
    """Socket.close: the agent's monitor of the socket stopped first, then the close reported."""
    agent = book.agent
    live = monitors.monitors
    orig_monitor = monitors.orig_monitor

    def close(self, *a, **kw):
        try:
            closed = self.closed
            key = self.underlying if not closed else None
        except Exception:
            closed, key = True, None
        if key is not None and key in live:
            # libzmq 4.3 keeps a socket's monitor socket alive after the socket closes (one
            # libzmq socket leaked per close, until ZMQ_MAX_SOCKETS): stop it first, on the
            # program's thread as the close itself. Then the agent's PAIR, which is in the
            # program's context: ctx.term() would wait for it.
            try:
                live[key].stopping = True
                orig_monitor(self, None, 0)
            except Exception:
                pass
            agent.stop_monitor(key)
        r = orig_close(self, *a, **kw)
        try:
            if not closed and key is not None:
                agent.adopted.discard(key)
                st = book.sockets.pop(key, None)
                if st is not None:
                    book.control({"type": "socket", "op": "close", "socket": st["id"], "ts": book.now()})
        except Exception:
            pass
        return r

    return named(close, orig_close)


def monitor_wrapper(book, monitors):
    """Socket.monitor: the program monitors this socket itself; its events are the program's (libzmq has
    one monitor a socket), so the agent's stops."""
    orig_monitor = monitors.orig_monitor

    def monitor(self, *a, **kw):
        try:
            key = self.underlying
            st = book.sockets.get(key)
            if st is not None:
                st["mon"] = False
            if key in monitors.monitors:
                book.agent.stop_monitor(key)
        except Exception:
            pass
        return orig_monitor(self, *a, **kw)

    return named(monitor, orig_monitor)


def term_wrapper(orig_term, agent):
    """Context.term: ctx.term() (and destroy(), and a collected Context) waits for every socket of the
    context: the agent's go first."""

    def term(self, *a, **kw):
        try:
            if agent.monitors:
                agent.stop_monitors(self.underlying)
        except Exception:
            pass
        return orig_term(self, *a, **kw)

    return named(term, orig_term)


def install(agent):
    import zmq

    Socket = zmq.Socket  # zmq.sugar.socket.Socket: zmq.asyncio and friends subclass it
    if getattr(Socket, "_zmq_debug_agent", False):
        return
    # the native agent preloaded too (pyzmq on a shared libzmq): this agent reports the process, the
    # native one stands back and records the messages of the sockets this agent adopts (native.py)
    agent.native = stand_back()
    book = SocketBook(agent, zmq, Socket)
    install_layers, book.in_layer_retry = layer_wrappers(zmq, Socket, book.state)
    monitors = AgentMonitors(agent, zmq, Socket)
    orig_send, orig_recv = Socket.send, Socket.recv
    send, recv = message_wrappers(agent, zmq, Socket, orig_send, orig_recv, Socket.get, book.register, book.fail)
    install_devices(zmq, agent)
    Socket.monitor = monitor_wrapper(book, monitors)
    zmq.Context.term = term_wrapper(zmq.Context.term, agent)
    Socket.__init__ = init_wrapper(zmq, Socket.__init__, book, monitors, install_layers)
    Socket.send = named(send, orig_send)
    Socket.recv = named(recv, orig_recv)
    for op in ("bind", "connect", "unbind", "disconnect"):
        setattr(Socket, op, endpoint_wrapper(zmq, getattr(Socket, op), op, book, monitors))
    Socket.set = option_wrapper(zmq, Socket.set, book)
    Socket.setsockopt = option_wrapper(zmq, Socket.setsockopt, book)
    Socket.close = close_wrapper(Socket.close, book, monitors)
    Socket._zmq_debug_agent = True
