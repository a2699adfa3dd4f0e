"""Publish/subscribe, one publisher (seed: "Learning ØMQ", Publish/Subscribe).
Publishes "<topic> <data> <name>" with topics 9999..10004.
Usage: python3 publisher.py <bind endpoint> [name] [interval ms]
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import random
import time

import zmq
from example_support import arg, context, num_arg

endpoint = arg(0, "tcp://127.0.0.1:5556")
name = arg(1, endpoint.rsplit(":", 1)[-1])
interval = num_arg(2, 1000) / 1000
ctx = context()
socket = ctx.socket(zmq.PUB)
socket.bind(endpoint)
print("publisher %s PUB bound to %s" % (name, endpoint))
while True:
    topic = random.randrange(9999, 10005)
    messagedata = random.randrange(1, 215) - 80
    print("publisher %s sent %d %d" % (name, topic, messagedata))
    socket.send_string("%d %d %s" % (topic, messagedata, name))
    time.sleep(interval)
