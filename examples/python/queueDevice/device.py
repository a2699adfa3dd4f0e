"""Queue device (seed: "Learning ØMQ", ØMQ Devices / Queue): ROUTER facing the
clients, DEALER facing the servers, joined by zmq.proxy.
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
frontend = ctx.socket(zmq.ROUTER)
frontend.bind(frontend_endpoint)
backend = ctx.socket(zmq.DEALER)
backend.bind(backend_endpoint)
print("queue device: ROUTER %s <-> DEALER %s" % (frontend_endpoint, backend_endpoint))
zmq.proxy(frontend, backend)
