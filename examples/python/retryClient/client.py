"""Retrying request client (seed: "Pyzmq - not a lot of best practices"): send,
poll for the reply with a timeout, use up a retry per timeout, and when none
are left close the socket, reconnect and send the request again.
Usage: python3 client.py <connect endpoint> [timeout ms] [retries] [interval ms]
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import time

import zmq
from example_support import arg, context, num_arg

endpoint = arg(0, "tcp://127.0.0.1:5555")
timeout = int(num_arg(1, 2500))
retries = max(1, int(num_arg(2, 3)))
interval = num_arg(3, 1000) / 1000
ctx = context()


def open_socket():
    socket = ctx.socket(zmq.REQ)
    socket.setsockopt(zmq.LINGER, 0)
    socket.connect(endpoint)
    return socket


socket = open_socket()
print("client REQ connected to %s" % endpoint)
n = 1
while True:
    request = "request %d" % n
    print("sending %s" % request)
    socket.send_string(request)
    retries_left = retries
    while True:
        if socket.poll(timeout, zmq.POLLIN):
            reply = socket.recv_string()
            print("received reply %d [ %s ]" % (n, reply))
            break
        retries_left -= 1
        print("no reply within %d ms (retries left %d)" % (timeout, retries_left))
        if retries_left > 0:
            continue
        print("closing socket and reconnecting")
        socket.close()
        socket = open_socket()
        print("resending %s" % request)
        socket.send_string(request)
        retries_left = retries
    n += 1
    time.sleep(interval)
