"""Forks 10 children right after its first socket, while the agent's reporter thread makes its
first connection. Each child's first acts are imports the reporter once made lazily on its thread
(socket, the idna codec for getaddrinfo): a fork while that thread held a module's import lock left
the lock held for ever in the child, which hung at its own import. Each child then sends one message
to the parent and leaves with os._exit, as multiprocessing's workers do. The parent waits 10 s at
most for all, makes one IPv6 connection (the monitor's peer address, once an import too) and says
which modules the agent's thread imported: none, or the children of a later fork could hang too."""
import os
import sys
import threading
import time

imported_by_agent = []


def audit(event, args):
    if event == "import" and threading.current_thread().name == "zmq-debug-agent":
        imported_by_agent.append(args[0])


sys.addaudithook(audit)

import zmq  # noqa: E402

N = 10
ctx = zmq.Context()
pull = ctx.socket(zmq.PULL)
port = pull.bind_to_random_port("tcp://127.0.0.1")
pids = []
for i in range(N):
    pid = os.fork()
    if pid == 0:
        import socket  # noqa: F401

        "example.org".encode("idna")
        c = zmq.Context()
        s = c.socket(zmq.PUSH)
        s.connect("tcp://127.0.0.1:%d" % port)
        s.send(b"child %d" % i)
        s.close(linger=1000)
        c.term()
        os._exit(0)
    pids.append(pid)
    time.sleep(0.003)
got = 0
poller = zmq.Poller()
poller.register(pull, zmq.POLLIN)
deadline = time.time() + 10
while got < N and poller.poll(max(0, deadline - time.time()) * 1000):
    pull.recv()
    got += 1
hung = []
for pid in pids:
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done or time.time() > deadline:
            break
        time.sleep(0.01)
    if not done:
        hung.append(pid)
        os.kill(pid, 9)
        os.waitpid(pid, 0)
try:
    v6 = ctx.socket(zmq.PULL)
    v6.ipv6 = True
    v6_port = v6.bind_to_random_port("tcp://[::1]")
    out = ctx.socket(zmq.PUSH)
    out.ipv6 = True
    out.connect("tcp://[::1]:%d" % v6_port)
    out.send(b"over IPv6")
    v6.recv()
    time.sleep(0.2)  # the reporter's next rounds read the connection's events
    out.close(0)
    v6.close(0)
except zmq.ZMQError:
    pass  # no IPv6 loopback here
print("children", " ".join(map(str, pids)), file=sys.stderr)
print("received %d of %d, hung %s" % (got, N, hung or "none"), file=sys.stderr)
print("imported by the agent's thread: %s" % (" ".join(sorted(set(imported_by_agent))) or "none"), file=sys.stderr)
pull.close()
ctx.term()
sys.exit(1 if hung or got < N else 0)
