"""Text that only describes endpoints, never binds or connects them.

Example: publisher.bind("tcp://*:9001") and sub.connect("tcp://localhost:9001")
appear here in a docstring, which is documentation, not code.
"""
import socket as stdlib_socket

import zmq

# publisher.bind("tcp://*:9002")  <- commented out
print('run: sub.connect("tcp://localhost:9003")')
help_text = "connect with tcp://localhost:9004"

s = stdlib_socket.socket(stdlib_socket.AF_INET, stdlib_socket.SOCK_STREAM)
s.connect(("localhost", 9005))


def connect(url):
    return url


connect("tcp://localhost:9006")
ctx = zmq.Context()
dynamic = ctx.socket(zmq.SUB)
dynamic.connect(input("endpoint? "))
