"""Non-blocking push/pull, the server: pulls each value and processes it slowly.
Usage: python3 server.py <connect endpoint> [processing ms]
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import time

import zmq
from example_support import arg, context, num_arg

endpoint = arg(0, "tcp://127.0.0.1:5559")
processing = num_arg(1, 2000) / 1000
ctx = context()
receiver = ctx.socket(zmq.PULL)
receiver.connect(endpoint)
print("server PULL connected to %s" % endpoint)


def print_value(s):
    time.sleep(processing)
    print("value: {}".format(s))


while True:
    s = receiver.recv_string()
    print("received {}".format(s))
    print_value(s)
