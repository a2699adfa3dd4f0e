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
        self.adopt = held.zmq_debug_agent_adopt
        self.adopt.argtypes = (ctypes.c_void_p, ctypes.c_uint)
        self.adopt.restype = ctypes.c_int
        self.mark = held.zmq_debug_agent_mark
        self.mark.argtypes = ()
        self.mark.restype = ctypes.c_size_t
        self.send_queued = lib.zmq_debug_agent_send_queued
        self.send_queued.argtypes = (ctypes.c_int, ctypes.c_size_t)
        self.send_queued.restype = ctypes.c_long
        # the reporter's wait for its next round, sending the queue whenever much waits (the GIL released)
        self.pump = lib.zmq_debug_agent_pump
        self.pump.argtypes = (ctypes.c_int, ctypes.c_long)
        self.pump.restype = ctypes.c_long
        self.hold_pump = held.zmq_debug_agent_hold_pump
        self.hold_pump.argtypes = ()
        self.hold_pump.restype = None
        self.put = held.zmq_debug_agent_put
        self.put.argtypes = (ctypes.c_char_p, ctypes.c_size_t)
        self.put.restype = None
        self.dropped = held.zmq_debug_agent_dropped
        self.dropped.argtypes = ()
        self.dropped.restype = ctypes.c_ulong
        # the shared ring (shmring.c): offered in the hello, on once the collector attached it
        self.ring_offer_ = held.zmq_debug_agent_ring_offer
        self.ring_offer_.argtypes = (ctypes.c_char_p, ctypes.POINTER(ctypes.c_size_t))
        self.ring_offer_.restype = ctypes.c_int
        self.ring_attached = held.zmq_debug_agent_ring_attached
        self.ring_attached.argtypes = ()
        self.ring_attached.restype = ctypes.c_int
        self.ring_on = held.zmq_debug_agent_ring_on
        self.ring_on.argtypes = ()
        self.ring_on.restype = None
        self.ring_put = held.zmq_debug_agent_ring_put
        self.ring_put.argtypes = (ctypes.c_char_p, ctypes.c_size_t)
        self.ring_put.restype = ctypes.c_int
        self.ring_gone = held.zmq_debug_agent_ring_gone
        self.ring_gone.argtypes = (ctypes.c_int,)
        self.ring_gone.restype = ctypes.c_int
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
