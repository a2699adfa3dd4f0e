"""Non-blocking push/pull, the client (seed: "Simple, Non-blocking, Push/Pull
Example with ZeroMQ"). It pushes values and never waits for an answer.
Usage: python3 client.py <bind endpoint> [interval ms]
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import time

import zmq
from example_support import arg, context, num_arg

endpoint = arg(0, "tcp://127.0.0.1:5559")
interval = num_arg(1, 500) / 1000
ctx = context()
sender = ctx.socket(zmq.PUSH)
sender.bind(endpoint)
print("client PUSH bound to %s" % endpoint)
i = 0
while True:
    print("sending {}".format(i))
    sender.send_string(str(i))
    i += 1
    time.sleep(interval)
