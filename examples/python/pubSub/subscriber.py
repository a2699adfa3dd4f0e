"""Publish/subscribe, a subscriber connected to several publishers with one topic
filter; prints a running average every 5 updates.
Usage: python3 subscriber.py <topic> <connect endpoint> [<connect endpoint> ...]
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import zmq
from example_support import arg, context, rest_args

topicfilter = arg(0, "10001")
endpoints = rest_args(1) or ["tcp://127.0.0.1:5556"]
ctx = context()
socket = ctx.socket(zmq.SUB)
for endpoint in endpoints:
    socket.connect(endpoint)
socket.setsockopt_string(zmq.SUBSCRIBE, topicfilter)
print("subscriber SUB connected to %s, topic '%s'" % (" and ".join(endpoints), topicfilter))
total_value = 0
updates = 0
while True:
    topic, messagedata, sender = socket.recv_string().split()
    total_value += int(messagedata)
    updates += 1
    print("%s %s from %s" % (topic, messagedata, sender))
    if updates % 5 == 0:
        print("average for topic '%s' after %d updates: %.1f" % (topicfilter, updates, total_value / updates))
