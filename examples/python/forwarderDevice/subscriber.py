"""Forwarder device, a subscriber connected to the device's backend.
Usage: python3 subscriber.py <backend connect endpoint> [topic]
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import zmq
from example_support import arg, context

endpoint = arg(0, "tcp://127.0.0.1:5560")
topicfilter = arg(1, "9")
ctx = context()
socket = ctx.socket(zmq.SUB)
socket.connect(endpoint)
socket.setsockopt_string(zmq.SUBSCRIBE, topicfilter)
print("Collecting updates from %s, topic '%s'" % (endpoint, topicfilter))
while True:
    topic, messagedata = socket.recv_string().split()
    print("%s %s" % (topic, messagedata))
