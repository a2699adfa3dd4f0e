import os, zmq
ctx = zmq.Context()
poller = zmq.Poller()
pairs = []
for i in range(200):
    a = ctx.socket(zmq.PAIR); port = a.bind_to_random_port("tcp://127.0.0.1")
    b = ctx.socket(zmq.PAIR); b.connect("tcp://127.0.0.1:%d" % port)
    poller.register(a, zmq.POLLIN); poller.register(b, zmq.POLLIN)
    pairs.append((a, b))
for a, b in pairs:
    b.send(b"x")
got = 0
while got < 200:
    for s, e in poller.poll(5000):
        s.recv()
        got += 1
print("done", got, "fds", len(os.listdir("/proc/self/fd")))
for a, b in pairs:
    a.close(0); b.close(0)
ctx.term()
