"""Poller, the worker: polls a PULL control socket and a SUB data socket (topic
"9") with zmq.Poller and stops on "Exit".
Usage: python3 worker.py <control connect endpoint> <data connect endpoint> [topic]
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import zmq
from example_support import arg, context

control_endpoint = arg(0, "tcp://127.0.0.1:5556")
data_endpoint = arg(1, "tcp://127.0.0.1:5558")
topicfilter = arg(2, "9")
ctx = context()
socket_pull = ctx.socket(zmq.PULL)
socket_pull.connect(control_endpoint)
print("Connected to server at %s" % control_endpoint)
socket_sub = ctx.socket(zmq.SUB)
socket_sub.connect(data_endpoint)
socket_sub.setsockopt_string(zmq.SUBSCRIBE, topicfilter)
print("Connected to publisher at %s" % data_endpoint)
poller = zmq.Poller()
poller.register(socket_pull, zmq.POLLIN)
poller.register(socket_sub, zmq.POLLIN)
should_continue = True
while should_continue:
    socks = dict(poller.poll())
    if socks.get(socket_pull) == zmq.POLLIN:
        message = socket_pull.recv_string()
        print("Received control command: %s" % message)
        if message == "Exit":
            print("Received exit command, client will stop receiving messages")
            should_continue = False
    if socks.get(socket_sub) == zmq.POLLIN:
        topic, messagedata = socket_sub.recv_string().split()
        print("Processing ... %s %s" % (topic, messagedata))
