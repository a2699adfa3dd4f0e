"""Pipeline, the producer (seed: "Learning ØMQ", Push/Pull).
Usage: python3 producer.py <bind endpoint> [interval ms]
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import time

import zmq
from example_support import arg, context, num_arg

endpoint = arg(0, "tcp://127.0.0.1:5557")
interval = num_arg(1, 500) / 1000
ctx = context()
zmq_socket = ctx.socket(zmq.PUSH)
zmq_socket.bind(endpoint)
print("producer PUSH bound to %s" % endpoint)
num = 0
while True:
    zmq_socket.send_json({"num": num})
    print("producer sent %d" % num)
    num += 1
    time.sleep(interval)
