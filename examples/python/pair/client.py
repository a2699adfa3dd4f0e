"""PAIR, the connecting peer: receives one message, sends two.
Usage: python3 client.py <connect endpoint> [interval ms]
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
socket.connect(endpoint)
print("client PAIR connected to %s" % endpoint)
while True:
    msg = socket.recv_string()
    print("client received: %s" % msg)
    socket.send_string("client message to server1")
    socket.send_string("client message to server2")
    time.sleep(interval)
