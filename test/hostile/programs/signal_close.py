"""A signal handler that opens, binds and closes sockets while the main thread does the same:
Python runs the handler between any two bytecodes of the main thread, agent code included."""
import signal
import sys
import time

import zmq

ctx = zmq.Context()
handled = [0]


def on_alarm(signum, frame):
    s = ctx.socket(zmq.PULL)
    s.bind("tcp://127.0.0.1:*")
    s.close(0)
    handled[0] += 1


signal.signal(signal.SIGALRM, on_alarm)
signal.setitimer(signal.ITIMER_REAL, 0.002, 0.002)
end = time.time() + 3
n = 0
while time.time() < end:
    s = ctx.socket(zmq.PUSH)
    s.bind("tcp://127.0.0.1:*")
    s.close(0)
    n += 1
signal.setitimer(signal.ITIMER_REAL, 0, 0)
print("done", n > 0, handled[0] > 0)
ctx.term()
