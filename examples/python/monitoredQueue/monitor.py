"""Monitored queue, the monitoring client: prints every relayed message.
Usage: python3 monitor.py <monitor connect endpoint>
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import zmq
from example_support import arg, context, show

endpoint = arg(0, "tcp://127.0.0.1:5562")
ctx = context()
socket = ctx.socket(zmq.SUB)
socket.connect(endpoint)
socket.setsockopt(zmq.SUBSCRIBE, b"")
print("Collecting updates from %s" % endpoint)
while True:
    frames = socket.recv_multipart()
    print("Monitoring Client: [%s]" % " | ".join(show(f) for f in frames))
