"""The native agent (libzmq-debug-agent.so, LD_PRELOADed by the collector's environment) in a
pyzmq process on the shared libzmq: this agent reports the process and its sockets, and the
native agent records their messages (in C, the cheap part) with this agent's socket numbers;
this agent's own reports go in the same queue, in order with them (put), and this agent's reporter
sends it on its own connection (reporter.py). One process, one socket
number, each message once. Without a native agent that can (macOS, no compiler, an older
library), or for a socket it cannot adopt (one made by another library, or by a pyzmq whose calls do
not pass through it), this agent records the messages itself (messages.py)."""
import os


class Native(object):
    """The native agent's entry points. Only send_queued and pump (blocking sends) release the GIL: the
    others are short and hold it, so a wrapper's call never hands the program's thread to another."""

    def __init__(self, lib):
        import ctypes

        held = ctypes.PyDLL(None)
        size, ulong, long_, int_, none = ctypes.c_size_t, ctypes.c_ulong, ctypes.c_long, ctypes.c_int, None

        def entry(dll, name, argtypes, restype):
            f = getattr(dll, "zmq_debug_agent_" + name)
            f.argtypes, f.restype = argtypes, restype
            return f

        self.adopt = entry(held, "adopt", (ctypes.c_void_p, ctypes.c_uint), int_)
        self.mark = entry(held, "mark", (), size)
        self.send_queued = entry(lib, "send_queued", (int_, size), long_)
        # the reporter's wait for its next round, sending the queue whenever much waits (the GIL released)
        self.pump = entry(lib, "pump", (int_, long_), long_)
        self.hold_pump = entry(held, "hold_pump", (), none)
        self.put = entry(held, "put", (ctypes.c_char_p, size), none)
        self.queued = entry(held, "queued", (), size)
        self.dropped = entry(held, "dropped", (), ulong)
        # the shared ring (shmring.c): offered in the hello, on once the collector attached it
        self.ring_offer_ = entry(held, "ring_offer", (ctypes.c_char_p, ctypes.POINTER(size)), int_)
        self.ring_attached = entry(held, "ring_attached", (), int_)
        self.ring_on = entry(held, "ring_on", (), none)
        self.ring_put = entry(held, "ring_put", (ctypes.c_char_p, size), int_)
        self.ring_gone = entry(held, "ring_gone", (int_,), int_)
        # 1: the last send_queued kept reports before its mark (the shared ring full)
        self.ring_full = entry(held, "ring_full", (), int_)
        self.ctypes = ctypes

    def ring_offer(self):
        """The hello's `ring` field for a new connection (the ring reset), or None (frames on the socket)."""
        nonce = self.ctypes.create_string_buffer(33)
        size = self.ctypes.c_size_t(0)
        fd = self.ring_offer_(nonce, self.ctypes.byref(size))
        return {"fd": fd, "bytes": size.value, "nonce": nonce.value.decode()} if fd >= 0 else None


def stand_back():
    """Where the native agent is preloaded: it stands back (this agent reports the process). Returns
    Native when it records the messages of this agent's sockets, else None."""
    if "libzmq-debug-agent" not in os.environ.get("LD_PRELOAD", ""):
        return None
    try:
        import ctypes

        lib = ctypes.CDLL(None)
        lib.zmq_debug_agent_stand_back()
        if os.environ.get("ZMQ_DEBUG_AGENT_NATIVE_MESSAGES", "1") == "0" or not hasattr(lib, "zmq_debug_agent_adopt"):
            return None
        native = Native(lib)
        # NULL: only asks (from now on the native agent's queue is this agent's reporter's to send)
        return native if native.adopt(None, 0) else None
    except Exception:
        return None
