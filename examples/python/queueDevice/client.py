"""Queue device, one REQ client connected to the device's frontend.
Usage: python3 client.py <frontend connect endpoint> [client id] [interval ms]
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import random
import time

import zmq
from example_support import arg, context, num_arg

endpoint = arg(0, "tcp://127.0.0.1:5559")
client_id = arg(1, str(random.randrange(1, 10005)))
interval = num_arg(2, 1000) / 1000
ctx = context()
socket = ctx.socket(zmq.REQ)
socket.connect(endpoint)
print("client %s REQ connected to %s" % (client_id, endpoint))
request = 1
while True:
    print("client %s sending request %d ..." % (client_id, request))
    socket.send_string("Hello from %s" % client_id)
    message = socket.recv_string()
    print("client %s received reply %d [ %s ]" % (client_id, request, message))
    request += 1
    time.sleep(interval)
