"""Monitored queue (seed: "Learning ØMQ", PyZmq Devices / Monitor Queue): a
ROUTER <-> DEALER queue that republishes every message it relays on a PUB
socket, prefixed 'in' (client -> server) or 'out' (server -> client).
Usage: python3 device.py <frontend bind> <backend bind> <monitor bind> [in prefix] [out prefix]
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import zmq
from zmq.devices import monitored_queue
from example_support import arg, context

frontend_endpoint = arg(0, "tcp://127.0.0.1:5559")
backend_endpoint = arg(1, "tcp://127.0.0.1:5560")
monitor_endpoint = arg(2, "tcp://127.0.0.1:5562")
in_prefix = arg(3, "in").encode()
out_prefix = arg(4, "out").encode()
ctx = context()
frontend = ctx.socket(zmq.ROUTER)
frontend.bind(frontend_endpoint)
backend = ctx.socket(zmq.DEALER)
backend.bind(backend_endpoint)
monitor = ctx.socket(zmq.PUB)
monitor.bind(monitor_endpoint)
print("monitored queue: ROUTER %s <-> DEALER %s, monitor PUB %s" % (frontend_endpoint, backend_endpoint, monitor_endpoint))
monitored_queue(frontend, backend, monitor, in_prefix, out_prefix)
