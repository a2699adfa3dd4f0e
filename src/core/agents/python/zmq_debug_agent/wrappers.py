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


def install(agent):
    import zmq

    Socket = zmq.Socket  # zmq.sugar.socket.Socket: zmq.asyncio and friends subclass it
    if getattr(Socket, "_zmq_debug_agent", False):
        return
    # the native agent preloaded too (pyzmq on a shared libzmq): this agent reports the process, the
    # native one stands back and records the messages of the sockets this agent adopts (native.py)
    agent.native = stand_back()
    ZMQError = zmq.ZMQError
    EMFILE = int(getattr(zmq, "EMFILE", 24))
    opt_names = {}
    for name in ("SUBSCRIBE", "UNSUBSCRIBE", "SNDHWM", "RCVHWM", "HWM", "IDENTITY", "ROUTING_ID", "LINGER", "SNDTIMEO", "RCVTIMEO",
                 "ROUTER_MANDATORY", "CONFLATE", "XPUB_VERBOSE", "REQ_RELAXED", "REQ_CORRELATE", "IMMEDIATE", "PROBE_ROUTER"):
        v = getattr(zmq, name, None)
        if v is not None:
            opt_names[int(v)] = name.lower()
    sockets = agent.sockets
    now = agent.time
    site = site_finder(zmq)
    control = agent.control
    errno_names = {}
    import errno as _errno

    for code, name in _errno.errorcode.items():
        errno_names[code] = name
    for name in ("EFSM", "ENOCOMPATPROTO", "ETERM", "EMTHREAD"):
        v = getattr(zmq, name, None)
        if v is not None:
            errno_names[int(v)] = name

    def with_site(rep):
        # the program's line that made the call, when it is found
        where = site()
        if where is not None:
            rep["site"] = where

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
        # the keys of its messages in a batch record: socket id << 1 | direction
        st["out_key"] = st["id"] << 1
        st["in_key"] = st["id"] << 1 | 1
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
    install_layers, in_layer_retry = layer_wrappers(zmq, Socket, state)

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
            agent.monitors[key] = Monitor(pair, st["id"], ctx.underlying)

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
                devices_imported(agent)
        except Exception:
            pass

    send, recv = message_wrappers(agent, zmq, Socket, orig_send, orig_recv, orig_get, register, fail)

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
                        with_site(rep)
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
                        with_site(rep)
                    control(rep)
            except Exception:
                pass
            return r

        return named(wrapper, orig)

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
                            with_site(rep)
                        elif isinstance(optval, int):
                            rep["value"] = optval
                        elif isinstance(optval, (bytes, bytearray)):
                            import base64

                            rep["bytes"] = base64.b64encode(bytes(optval)).decode("ascii")
                        control(rep)
            except Exception:
                pass
            return r

        return named(wrapper, orig)

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
                agent.adopted.discard(key)
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

    install_devices(zmq, agent)
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

