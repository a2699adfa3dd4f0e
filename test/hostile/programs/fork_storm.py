"""Forks 20 children while a thread keeps the agent busy (sockets opened, bound, sending and
closing) and the GC runs often: each child makes a context of its own, does a PUSH/PULL
round trip and exits with its index; the parent checks every exit code."""
import gc
import os
import threading
import time

import zmq

gc.set_threshold(20, 1, 1)
ctx = zmq.Context()
stop = threading.Event()


def busy():
    while not stop.is_set():
        s = ctx.socket(zmq.PUSH)
        s.bind("tcp://127.0.0.1:*")
        s.close(0)


t = threading.Thread(target=busy)
t.start()
codes = []
for i in range(20):
    pid = os.fork()
    if pid == 0:
        c = zmq.Context()
        pull = c.socket(zmq.PULL)
        port = pull.bind_to_random_port("tcp://127.0.0.1")
        push = c.socket(zmq.PUSH)
        push.connect("tcp://127.0.0.1:%d" % port)
        push.send(b"child %d" % i)
        ok = pull.recv() == b"child %d" % i
        push.close(0)
        pull.close(0)
        c.term()
        os._exit(i if ok else 100)
    _, status = os.waitpid(pid, 0)
    codes.append(os.WEXITSTATUS(status))
stop.set()
t.join()
ctx.term()
print("children", codes == list(range(20)), codes)
