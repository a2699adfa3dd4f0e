"""Green and async layers (gevent's zmq.green, zmq.asyncio and tornado's futures) retry
a would-block until it goes through: their EAGAINs are waits, not the program's failures."""
import sys


def layer_wrappers(zmq, Socket, state):
    """(install_layers(sock), in_layer_retry()): wraps the layers in a socket's class, once
    per class; says whether an EAGAIN comes from inside tornado's ZMQStream's read."""
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

    return install_layers, in_layer_retry
