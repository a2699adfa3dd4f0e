"""PAIR, the binding peer (seed: "Learning ØMQ", PAIR).
Usage: python3 server.py <bind endpoint> [interval ms]
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import time

import zmq
from example_support import arg, context, num_arg

endpoint = arg(0, "tcp://127.0.0.1:5556")
interval = num_arg(1, 1000) / 1000
ctx = context()
socket = ctx.socket(zmq.PAIR)
socket.bind(endpoint)
print("server PAIR bound to %s" % endpoint)
while True:
    socket.send_string("Server message to client3")
    msg = socket.recv_string()
    print("server received: %s" % msg)
    time.sleep(interval)
