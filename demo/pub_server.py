"""PUB server: publishes weather-like updates on topics 10001..10004.

Run: /usr/bin/python3 pub_server.py [port]     (needs python3-zmq)
The pyzmq PUB/SUB pattern from the classic tutorials, in Python 3.
"""
import random
import sys
import time

import zmq

port = int(sys.argv[1]) if len(sys.argv) > 1 else 5556
ctx = zmq.Context()
pub = ctx.socket(zmq.PUB)
pub.bind("tcp://127.0.0.1:%d" % port)
print("publishing on tcp://127.0.0.1:%d (Ctrl-C to stop)" % port, flush=True)
try:
    n = 0
    while True:
        topic = random.randint(10001, 10004)
        pub.send_string("%d reading-%d %d" % (topic, n, random.randint(-20, 40)))
        n += 1
        time.sleep(0.5)
except KeyboardInterrupt:
    pass
finally:
    pub.close(linger=0)
    ctx.term()
