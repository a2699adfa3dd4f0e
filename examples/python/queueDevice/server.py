"""Queue device, one REP server connected to the device's backend.
Usage: python3 server.py <backend connect endpoint> [server id] [reply delay ms]
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import random
import time

import zmq
from example_support import arg, context, num_arg

endpoint = arg(0, "tcp://127.0.0.1:5560")
server_id = arg(1, str(random.randrange(1, 10005)))
delay = num_arg(2, 1000) / 1000
ctx = context()
socket = ctx.socket(zmq.REP)
socket.connect(endpoint)
print("server %s REP connected to %s" % (server_id, endpoint))
while True:
    message = socket.recv_string()
    print("server %s received request: %s" % (server_id, message))
    time.sleep(delay)
    socket.send_string("World from server %s" % server_id)
