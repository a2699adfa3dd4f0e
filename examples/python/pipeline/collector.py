"""Pipeline, the result collector: counts results per consumer.
Usage: python3 collector.py <bind endpoint> [report every N results]
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import json

import zmq
from example_support import arg, context, num_arg

endpoint = arg(0, "tcp://127.0.0.1:5558")
every = max(1, int(num_arg(1, 10)))
ctx = context()
results_receiver = ctx.socket(zmq.PULL)
results_receiver.bind(endpoint)
print("collector PULL bound to %s" % endpoint)
collector_data = {}
received = 0
while True:
    result = results_receiver.recv_json()
    collector_data[result["consumer"]] = collector_data.get(result["consumer"], 0) + 1
    received += 1
    print("result %d from consumer %s" % (result["num"], result["consumer"]))
    if received % every == 0:
        print("totals %s" % json.dumps(collector_data, separators=(",", ":")))
