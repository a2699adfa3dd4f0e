# A PUB server in the style of the seed documents (ported to Python 3), for tests.
# usage: pub_server.py PORT MODE [COUNT]
#   MODE topics : "<topic> <data>" with topics 9999..10004 (seed 004), until killed
#   MODE special: binary, empty and 1 MiB frames, then "done", repeated
# Prints "bound" once bound, and logs every socket event it sees as "event NAME".
import random, sys, threading, time
import zmq
from zmq.utils.monitor import recv_monitor_message

port, mode = int(sys.argv[1]), sys.argv[2]
count = int(sys.argv[3]) if len(sys.argv) > 3 else 0
ctx = zmq.Context()
pub = ctx.socket(zmq.PUB)
pub.setsockopt(zmq.LINGER, 0)
mon = pub.get_monitor_socket()
names = {getattr(zmq, n): n for n in dir(zmq) if n.startswith('EVENT_')}

def watch():
    while True:
        try:
            ev = recv_monitor_message(mon)
        except zmq.ZMQError:
            return
        print('event', names.get(ev['event'], ev['event']), flush=True)

threading.Thread(target=watch, daemon=True).start()
pub.bind('tcp://127.0.0.1:%d' % port)
print('bound', flush=True)
sent = 0
while count == 0 or sent < count:
    if mode == 'topics':
        topic = random.randrange(9999, 10005)
        pub.send_string('%d %d' % (topic, random.randrange(1, 215) - 80))
    elif mode == 'special':
        pub.send_multipart([b'bin', bytes([0, 255, 128, 10, 13, 0xc3, 0x28])])
        pub.send_multipart([b'empty', b'', b''])
        pub.send_multipart([b'big', bytes(range(256)) * 4096])
        pub.send_multipart([b'done'])
    sent += 1
    time.sleep(0.01)
print('sent', sent, flush=True)
time.sleep(0.5)
