"""SUB client: subscribes to one topic of pub_server.py and prints what arrives.

Run: /usr/bin/python3 sub_client.py [port] [topic]
"""
import sys

import zmq

port = int(sys.argv[1]) if len(sys.argv) > 1 else 5556
topic = sys.argv[2] if len(sys.argv) > 2 else "10001"
ctx = zmq.Context()
sub = ctx.socket(zmq.SUB)
sub.connect("tcp://127.0.0.1:%d" % port)
sub.setsockopt_string(zmq.SUBSCRIBE, topic)
print("subscribed to %r on tcp://127.0.0.1:%d" % (topic, port), flush=True)
try:
    while True:
        print(sub.recv_string(), flush=True)
except KeyboardInterrupt:
    pass
finally:
    sub.close(linger=0)
    ctx.term()
