"""Monitored queue, the REP server behind the device.
Usage: python3 server.py <backend connect endpoint> [server id]
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import random

import zmq
from example_support import arg, context

endpoint = arg(0, "tcp://127.0.0.1:5560")
server_id = arg(1, str(random.randrange(1, 10005)))
ctx = context()
socket = ctx.socket(zmq.REP)
socket.connect(endpoint)
print("Program: Server connecting to device at %s" % endpoint)
while True:
    message = socket.recv_string()
    print("Server: Received - %s" % message)
    socket.send_string("Response from server #%s" % server_id)
