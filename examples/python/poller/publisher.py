"""Poller, the publisher: publishes "<topic> server#<id>" on topics 8 and 9.
Usage: python3 publisher.py <bind endpoint> [publisher id] [interval ms]
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import random
import time

import zmq
from example_support import arg, context, num_arg

endpoint = arg(0, "tcp://127.0.0.1:5558")
publisher_id = arg(1, str(random.randrange(0, 9999)))
interval = num_arg(2, 1000) / 1000
ctx = context()
socket = ctx.socket(zmq.PUB)
socket.bind(endpoint)
print("Running server on %s" % endpoint)
while True:
    topic = random.randrange(8, 10)
    messagedata = "server#%s" % publisher_id
    print("%s %s" % (topic, messagedata))
    socket.send_string("%d %s" % (topic, messagedata))
    time.sleep(interval)
