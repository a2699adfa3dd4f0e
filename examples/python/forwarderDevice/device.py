"""Forwarder device (seed: "Learning ØMQ", ØMQ Devices / Forwarder): SUB facing
the publishers (subscribed to everything), PUB facing the subscribers.
Usage: python3 device.py <frontend bind endpoint> <backend bind endpoint>
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import zmq
from example_support import arg, context

frontend_endpoint = arg(0, "tcp://127.0.0.1:5559")
backend_endpoint = arg(1, "tcp://127.0.0.1:5560")
ctx = context()
frontend = ctx.socket(zmq.SUB)
frontend.bind(frontend_endpoint)
frontend.setsockopt(zmq.SUBSCRIBE, b"")
backend = ctx.socket(zmq.PUB)
backend.bind(backend_endpoint)
print("forwarder device: SUB %s -> PUB %s" % (frontend_endpoint, backend_endpoint))
zmq.proxy(frontend, backend)
