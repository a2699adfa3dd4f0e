"""Request/reply, the REQ client connected to several servers at once: the
replies alternate between them.
Usage: python3 client.py <interval ms> <connect endpoint> [<connect endpoint> ...]
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import time

import zmq
from example_support import context, num_arg, rest_args

interval = num_arg(0, 1000) / 1000
endpoints = rest_args(1) or ["tcp://127.0.0.1:5556"]
ctx = context()
socket = ctx.socket(zmq.REQ)
for endpoint in endpoints:
    socket.connect(endpoint)
print("client REQ connected to %s" % " and ".join(endpoints))
request = 1
while True:
    print("sending request %d ..." % request)
    socket.send_string("Hello")
    message = socket.recv_string()
    print("received reply %d [ %s ]" % (request, message))
    request += 1
    time.sleep(interval)
