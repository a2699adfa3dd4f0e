# Benchmark publisher: PUB with unlimited HWM plus a REP sync socket.
# usage: sync_pub.py PUB_PORT SYNC_PORT COUNT SIZE ROUNDS
# For each round: wait for "ready" on the sync socket, reply, send COUNT messages
# of SIZE bytes as fast as possible, then one b"END" message, and print the send
# loop's rate ("looprate R"): what was offered to the subscriber. With no HWM a
# subscriber that cannot keep up leaves messages queued behind, so its rate falls
# below this one.
import sys
import time
import zmq

pub_port, sync_port, count, size, rounds = (int(a) for a in sys.argv[1:6])
ctx = zmq.Context()
pub = ctx.socket(zmq.PUB)
pub.setsockopt(zmq.SNDHWM, 0)
pub.bind('tcp://127.0.0.1:%d' % pub_port)
sync = ctx.socket(zmq.REP)
sync.bind('tcp://127.0.0.1:%d' % sync_port)
payload = bytes((i * 7) % 251 for i in range(size))
print('bound', flush=True)
for _ in range(rounds):
    sync.recv()
    sync.send(b'go')
    t0 = time.perf_counter()
    for _ in range(count):
        pub.send(payload)
    loop = count / (time.perf_counter() - t0)
    pub.send(b'END')
    print('looprate %.0f' % loop, flush=True)
print("done", flush=True)
pub.close()  # default linger: wait until the subscriber has everything
ctx.term()
