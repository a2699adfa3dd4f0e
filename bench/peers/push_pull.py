"""One side of the agent overhead benchmark: `pull ENDPOINT COUNT` binds a PULL,
prints "bound", receives COUNT messages and prints "RATE <msg/s>" (first to last
message); `push ENDPOINT COUNT SIZE` connects a PUSH and sends COUNT messages of
SIZE bytes as fast as it can."""
import sys
import time

import zmq

role, endpoint, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
ctx = zmq.Context()
if role == "pull":
    s = ctx.socket(zmq.PULL)
    s.bind(endpoint)
    print("bound", flush=True)
    s.recv()
    start = time.perf_counter()
    for _ in range(count - 1):
        s.recv()
    elapsed = time.perf_counter() - start
    print("RATE %f" % ((count - 1) / elapsed), flush=True)
else:
    s = ctx.socket(zmq.PUSH)
    s.connect(endpoint)
    payload = b"x" * int(sys.argv[4])
    for _ in range(count):
        s.send(payload)
s.close(linger=-1)
ctx.term()
