"""Streamer device (seed: "Learning ØMQ", ØMQ Devices / Streamer): PULL facing
the task feeders, PUSH facing the workers.
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
frontend = ctx.socket(zmq.PULL)
frontend.bind(frontend_endpoint)
backend = ctx.socket(zmq.PUSH)
backend.bind(backend_endpoint)
print("streamer device: PULL %s -> PUSH %s" % (frontend_endpoint, backend_endpoint))
zmq.proxy(frontend, backend)
