"""Unclosed sockets in reference cycles (an object owning a socket and a bound method of
itself), freed by the cyclic GC on whatever thread allocates: pyzmq's Socket.__del__ then
closes them from inside whatever code the GC interrupted. argv[1]: the gen0 threshold."""
import gc
import sys

import zmq

gc.set_threshold(int(sys.argv[1]), 1, 1)
ctx = zmq.Context()


class Holder:
    def __init__(self):
        self.s = ctx.socket(zmq.PUSH)
        self.s.bind("tcp://127.0.0.1:*")
        self.cb = self.method

    def method(self):
        pass


for i in range(400):
    Holder()
print("done", i + 1)
