"""Streamer device, one task worker connected to the device's backend.
Usage: python3 worker.py <backend connect endpoint> [worker id]
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import random

import zmq
from example_support import arg, context

endpoint = arg(0, "tcp://127.0.0.1:5560")
consumer_id = arg(1, str(random.randrange(1, 10005)))
ctx = context()
consumer_receiver = ctx.socket(zmq.PULL)
consumer_receiver.connect(endpoint)
print("I am consumer %s" % consumer_id)
while True:
    work = consumer_receiver.recv_json()
    print("worker %s received %d" % (consumer_id, work["num"]))
