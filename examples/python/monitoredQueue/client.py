"""Monitored queue, one REQ client in front of the device.
Usage: python3 client.py <frontend connect endpoint> [client id] [interval ms]
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import time

import zmq
from example_support import arg, context, num_arg

endpoint = arg(0, "tcp://127.0.0.1:5559")
client_id = arg(1, "0")
interval = num_arg(2, 1000) / 1000
ctx = context()
socket = ctx.socket(zmq.REQ)
socket.connect(endpoint)
print("Program: Worker # %s connecting to device at %s" % (client_id, endpoint))
request_num = 1
while True:
    socket.send_string("Request #%s from client #%s" % (request_num, client_id))
    message = socket.recv_multipart()
    print("Client %s: Received - %s" % (client_id, " | ".join(m.decode() for m in message)))
    request_num += 1
    time.sleep(interval)
