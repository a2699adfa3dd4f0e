"""Streamer device, the task feeder connected to the device's frontend.
Usage: python3 feeder.py <frontend connect endpoint> [interval ms]
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import time

import zmq
from example_support import arg, context, num_arg

endpoint = arg(0, "tcp://127.0.0.1:5559")
interval = num_arg(1, 1000) / 1000
ctx = context()
zmq_socket = ctx.socket(zmq.PUSH)
zmq_socket.connect(endpoint)
print("feeder PUSH connected to %s" % endpoint)
num = 0
while True:
    zmq_socket.send_json({"num": num})
    print("feeder sent %d" % num)
    num += 1
    time.sleep(interval)
