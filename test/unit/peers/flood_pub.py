# A PUB that sends 1 KiB messages as fast as it can, for the CLI's backpressure tests.
# usage: flood_pub.py PORT [SIZE]
# Prints "bound" once bound, then "subscribed" at the first subscriber; sends until killed.
# Each message is "<seq> " + filler, so a reader can tell which ones it missed.
import sys, time
import zmq
from zmq.utils.monitor import recv_monitor_message

port = int(sys.argv[1])
size = int(sys.argv[2]) if len(sys.argv) > 2 else 1024
ctx = zmq.Context()
pub = ctx.socket(zmq.PUB)
pub.setsockopt(zmq.LINGER, 0)
mon = pub.get_monitor_socket(zmq.EVENT_HANDSHAKE_SUCCEEDED)
pub.bind('tcp://127.0.0.1:%d' % port)
print('bound', flush=True)
recv_monitor_message(mon)
print('subscribed', flush=True)
filler = bytes(range(256)) * (size // 256 + 1)
seq = 0
send = pub.send
while True:
    head = b'%d ' % seq
    send(head + filler[: size - len(head)])
    seq += 1
