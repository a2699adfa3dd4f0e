"""The agent's reader of a program socket's libzmq monitor: connection events, named
as zeromq.js names them, with the peer's address read from /proc."""
import errno
import os
import socket
import struct

_EVENT = struct.Struct("=HI")

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
    inode = link[8:-1].encode("ascii")
    for name in ("/proc/self/net/tcp", "/proc/self/net/tcp6"):
        try:
            # bytes, not text: no codec looked up on the reporter's thread
            with open(name, "rb") as f:
                next(f)
                for line in f:
                    parts = line.split()
                    if len(parts) > 9 and parts[9] == inode:
                        return _hex_addr(parts[2].decode("ascii"))
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
    return "tcp://[%s]:%d" % (socket.inet_ntop(socket.AF_INET6, words), port)


class Monitor(object):
    """The agent's reader of one program socket's libzmq monitor (an inproc PAIR of its own)."""

    MAX_PER_DRAIN = 256

    def __init__(self, zmq, pair, sid, context_key):
        self.zmq = zmq  # drain runs on the reporter's thread, which never imports (reporter.start)
        self.pair = pair
        self.sid = sid
        self.context_key = context_key
        self.peers = {}  # fd -> peer address, from connect/accept to disconnect
        self.retry = None  # [attempts, since, address, interval] of a run of connect:retry
        self.stopping = False  # the agent stops this monitor itself: its "end" event is not the program's

    def drain(self, agent):
        zmq = self.zmq
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
        code, value = _EVENT.unpack(head[:6])
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

