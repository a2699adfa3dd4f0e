# Benchmark publisher with DEFAULT options (SNDHWM 1000, as most programs run):
# binds a PUB, waits for its first subscriber's handshake, gives the
# subscription a moment to arrive, then sends SIZE-byte messages as fast as it
# can for SECONDS and prints how many it sent. What a slow subscriber cannot take
# beyond the HWM, libzmq drops silently: this counts what was handed to send().
# usage: timed_pub.py PORT SECONDS SIZE [SNDHWM [RATE]]   (SNDHWM: only for the
# pubhwm part, which measures what the HWM lets through; the others keep the
# default, given as 0. RATE: messages a second, sent in ticks of 10 ms instead
# of as fast as it can: the host part's live-viewer ceiling, a trickle
# that keeps the frames viewer flooded)
import sys
import time
import zmq
from zmq.utils.monitor import recv_monitor_message

port, seconds, size = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
ctx = zmq.Context()
pub = ctx.socket(zmq.PUB)
if len(sys.argv) > 4 and int(sys.argv[4]):
    pub.setsockopt(zmq.SNDHWM, int(sys.argv[4]))
rate = int(sys.argv[5]) if len(sys.argv) > 5 else 0
mon = pub.get_monitor_socket(zmq.EVENT_HANDSHAKE_SUCCEEDED)
pub.bind('tcp://127.0.0.1:%d' % port)
print('bound', flush=True)
recv_monitor_message(mon)
time.sleep(0.5)
payload = bytes((i * 7) % 251 for i in range(size))
send = pub.send
n = 0
clock = time.perf_counter
end = clock() + seconds
print('sending', flush=True)
if rate:
    # paced: rate / 100 messages every 10 ms, sleeping in between (a wake-up a
    # millisecond would cost this trickle more CPU than the messages do)
    tick = max(1, rate // 100)
    start = clock()
    while clock() < end:
        for _ in range(tick):
            send(payload)
        n += tick
        delay = start + n / rate - clock()
        if delay > 0:
            time.sleep(delay)
else:
    while True:
        for _ in range(1000):
            send(payload)
        n += 1000
        if clock() >= end:
            break
print('sent %d' % n, flush=True)
mon.close(linger=0)
pub.close(linger=0)
ctx.term()
