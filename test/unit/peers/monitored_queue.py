# The seed's monitored queue (seed 004, "Monitor Queue"), ported to Python 3:
# a ROUTER/DEALER queue whose monitor PUB republishes every message with an
# in/out prefix, one REP server behind it, and CLIENTS REQ clients sending one
# request each once START appears on stdin-less timing (after a delay).
# usage: monitored_queue.py FRONT BACK MON CLIENTS [IN_PREFIX OUT_PREFIX]
import sys, threading, time
import zmq
from zmq.devices import monitored_queue

front, back, mon_port, clients = (int(a) for a in sys.argv[1:5])
in_prefix = sys.argv[5].encode() if len(sys.argv) > 5 else b'in'
out_prefix = sys.argv[6].encode() if len(sys.argv) > 6 else b'out'
ctx = zmq.Context()
ins = ctx.socket(zmq.ROUTER); ins.bind('tcp://127.0.0.1:%d' % front)
outs = ctx.socket(zmq.DEALER); outs.bind('tcp://127.0.0.1:%d' % back)
mons = ctx.socket(zmq.PUB); mons.bind('tcp://127.0.0.1:%d' % mon_port)
threading.Thread(target=lambda: monitored_queue(ins, outs, mons, in_prefix, out_prefix), daemon=True).start()

def server():
    s = ctx.socket(zmq.REP); s.connect('tcp://127.0.0.1:%d' % back)
    while True:
        msg = s.recv()
        s.send(b'Response to ' + msg)

threading.Thread(target=server, daemon=True).start()
print('ready', flush=True)
time.sleep(1.0)  # let the spy connect and subscribe: PUB drops what no one subscribed to
for client_id in range(clients):
    c = ctx.socket(zmq.REQ); c.connect('tcp://127.0.0.1:%d' % front)
    c.send(b'Request # 1 from client # %d' % client_id)
    print('client got', c.recv().decode(), flush=True)
    c.close()
print('clients done', flush=True)
time.sleep(30)
