"""Round robin, one PULL worker. Run several: each prints what it gets.
Usage: python3 worker.py <connect endpoint> [worker number]
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import zmq
from example_support import arg, context

endpoint = arg(0, "tcp://127.0.0.1:1234")
worker_id = arg(1, str(os.getpid()))
ctx = context()
pull_socket = ctx.socket(zmq.PULL)
pull_socket.connect(endpoint)
print("worker %s PULL connected to %s" % (worker_id, endpoint))
while True:
    msg = pull_socket.recv_string()
    print("worker %s received %s" % (worker_id, msg.split(" , ")[0]))
