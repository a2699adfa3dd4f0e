"""Forwarder device, one publisher connected to the device's frontend.
Usage: python3 publisher.py <frontend connect endpoint> [publisher id] [interval ms]
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import random
import time

import zmq
from example_support import arg, context, num_arg

endpoint = arg(0, "tcp://127.0.0.1:5559")
publisher_id = arg(1, str(random.randrange(0, 9999)))
interval = num_arg(2, 1000) / 1000
ctx = context()
socket = ctx.socket(zmq.PUB)
socket.connect(endpoint)
print("publisher %s PUB connected to %s" % (publisher_id, endpoint))
while True:
    topic = random.randrange(1, 10)
    messagedata = "server#%s" % publisher_id
    print("%s %s" % (topic, messagedata))
    socket.send_string("%d %s" % (topic, messagedata))
    time.sleep(interval)
