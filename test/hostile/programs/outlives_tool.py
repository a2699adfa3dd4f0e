"""Prints a line every 50 ms for argv[1] seconds, then writes argv[2] and exits 0: the test
kills zmq-debug meanwhile, and the program must not notice (no BrokenPipeError)."""
import sys
import time

import zmq

ctx = zmq.Context()
push = ctx.socket(zmq.PUSH)
push.bind("tcp://127.0.0.1:*")
end = time.time() + float(sys.argv[1])
n = 0
while time.time() < end:
    print("line", n, flush=True)
    n += 1
    time.sleep(0.05)
with open(sys.argv[2], "w") as f:
    f.write("finished %d\n" % n)
push.close(0)
ctx.term()
