"""Round robin, the PUSH side (seed: "Quick ZeroMQ Round Robin (push-pull) with
Python"): PUSH deals messages to the connected PULL workers in turn.
Usage: python3 ventilator.py <bind endpoint> [interval ms]
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import time

import zmq
from example_support import arg, context, num_arg

endpoint = arg(0, "tcp://127.0.0.1:1234")
interval = num_arg(1, 500) / 1000
ctx = context()
push_socket = ctx.socket(zmq.PUSH)
push_socket.bind(endpoint)
print("ventilator PUSH bound to %s" % endpoint)
x = 0
while True:
    push_socket.send_string("%d , %s" % (x, time.time()))
    print("sent %d" % x)
    x += 1
    time.sleep(interval)
