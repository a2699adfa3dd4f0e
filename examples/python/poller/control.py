"""Poller, the command server (seed: "Learning ØMQ", ZMQ Poller): PUSHes
"Continue" a number of times, then "Exit", then stops.
Usage: python3 control.py <bind endpoint> [number of Continue] [interval ms]
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import time

import zmq
from example_support import arg, context, num_arg

endpoint = arg(0, "tcp://127.0.0.1:5556")
continues = int(num_arg(1, 6))
interval = num_arg(2, 1000) / 1000
ctx = context()
socket = ctx.socket(zmq.PUSH)
socket.bind(endpoint)
print("Running server on %s" % endpoint)
for reqnum in range(continues):
    socket.send_string("Continue")
    print("sent control command: Continue")
    time.sleep(interval)
socket.send_string("Exit")
print("sent control command: Exit")
# Give the last message time to leave before the context is destroyed with linger 0.
time.sleep(0.5)
