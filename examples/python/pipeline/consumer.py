"""Pipeline, one consumer: PULLs work, PUSHes a result for every even number.
Usage: python3 consumer.py <work endpoint> <results endpoint> [consumer id]
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import random

import zmq
from example_support import arg, context

work_endpoint = arg(0, "tcp://127.0.0.1:5557")
results_endpoint = arg(1, "tcp://127.0.0.1:5558")
consumer_id = arg(2, str(random.randrange(1, 10005)))
print("I am consumer #%s" % consumer_id)
ctx = context()
consumer_receiver = ctx.socket(zmq.PULL)
consumer_receiver.connect(work_endpoint)
consumer_sender = ctx.socket(zmq.PUSH)
consumer_sender.connect(results_endpoint)
while True:
    work = consumer_receiver.recv_json()
    data = work["num"]
    print("consumer %s received %d" % (consumer_id, data))
    if data % 2 == 0:
        consumer_sender.send_json({"consumer": consumer_id, "num": data})
