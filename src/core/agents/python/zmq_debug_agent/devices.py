"""Devices (zmq.proxy, zmq.device, zmq.devices' monitored_queue): their loops run in
Python through the program's own (wrapped) sockets, so that their traffic is seen."""
import os
import sys

def install_devices(zmq, agent):
    """Devices: libzmq's proxy loop moves messages where no wrapper sees them. zmq.proxy,
    zmq.device (and through them zmq.devices' Thread/Process Device and Proxy classes) and
    zmq.devices' monitored_queue run the same loop in Python instead, through the program's
    own (wrapped) sockets: every message is seen on the socket it came in on and the one it
    went out of, and on the capture/monitor socket when there is one. The semantics are
    libzmq's (and pyzmq's own pure-Python monitored_queue, the one it uses on PyPy); only the
    speed differs. ZMQ_DEBUG_AGENT_DEVICES=native keeps libzmq's loop (its traffic unseen).
    zmq.proxy_steerable keeps libzmq's loop (its control socket is libzmq's to read)."""
    native = agent.unseen_device = unseen_device_wrapper(zmq, agent)
    if hasattr(zmq, "proxy_steerable"):
        # its control socket (PAUSE/RESUME/TERMINATE) is libzmq's to read: the loop stays native
        zmq.proxy_steerable = native("zmq.proxy_steerable", zmq.proxy_steerable)
    if os.environ.get("ZMQ_DEBUG_AGENT_DEVICES", "") == "native":
        zmq.proxy = native("zmq.proxy", zmq.proxy)
        zmq.device = native("zmq.device", zmq.device)
        agent.device_functions = (zmq.proxy, zmq.device)
        return
    orig_proxy = zmq.proxy
    orig_device = zmq.device
    proxy, device = python_devices(zmq, orig_proxy, orig_device)
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


def unseen_device_wrapper(zmq, agent):
    """native(kind, orig): a device function whose loop stays libzmq's, wrapped to report that its
    sockets' traffic is not seen (the doctor says so)."""
    control = agent.control

    def unseen(kind, *socks):
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

    return native


def python_devices(zmq, orig_proxy, orig_device):
    """(proxy, device): libzmq's proxy loop in Python, through the program's wrapped sockets (the
    originals for sockets the agent did not wrap, and for device types libzmq does not proxy)."""
    POLLIN = int(zmq.POLLIN)
    Poller = zmq.Poller
    QUEUE, FORWARDER, STREAMER = (int(getattr(zmq, n, v)) for n, v in (("QUEUE", 3), ("FORWARDER", 2), ("STREAMER", 1)))

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
    return proxy, device


def pure_monitored_queue(native_mq, origin):
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


def devices_imported(agent):
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
        ours = pure_monitored_queue(native_mq, getattr(compiled, "__file__", None))
        if ours is None:
            return
        for name in ("zmq.devices.monitoredqueue", "zmq.devices.monitoredqueuedevice", "zmq.devices"):
            mod = sys.modules.get(name)
            if mod is not None and getattr(mod, "monitored_queue", None) is native_mq:
                mod.monitored_queue = ours
    except Exception:
        pass

