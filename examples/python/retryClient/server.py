"""Retrying request client, the server: a plain REP server to stop and restart.
Usage: python3 server.py <bind endpoint> [reply delay ms]
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import time

import zmq
from example_support import arg, context, num_arg

endpoint = arg(0, "tcp://127.0.0.1:5555")
delay = num_arg(1, 0) / 1000
ctx = context()
socket = ctx.socket(zmq.REP)
socket.bind(endpoint)
print("server REP bound to %s" % endpoint)
while True:
    request = socket.recv_string()
    print("server received %s" % request)
    if delay:
        time.sleep(delay)
    socket.send_string("reply to %s" % request)
