"""Request/reply, one REP server (seed: "Learning ØMQ", Client / Server).
Usage: python3 server.py <bind endpoint> [reply delay ms]
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import time

import zmq
from example_support import arg, context, num_arg

endpoint = arg(0, "tcp://127.0.0.1:5556")
delay = num_arg(1, 1000) / 1000
port = endpoint.rsplit(":", 1)[-1]
ctx = context()
socket = ctx.socket(zmq.REP)
socket.bind(endpoint)
print("server REP bound to %s" % endpoint)
while True:
    message = socket.recv_string()
    print("server %s received request: %s" % (port, message))
    time.sleep(delay)
    socket.send_string("World from %s" % port)
