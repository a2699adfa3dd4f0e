"""The agent's paced benchmark program: `push ENDPOINT RATE SECONDS SIZE` connects a
PUSH and sends RATE messages a second for SECONDS seconds (a tick of RATE/1000
messages every millisecond, sleeping in between, the way a program that produces
at a given rate does), each SIZE bytes starting with its sequence number (8 bytes,
big-endian); then prints "SENT <count> CPU <seconds> WALL <seconds> MAIN <seconds>": the process's
CPU time (all its threads: the program's, libzmq's I/O thread, an agent's
reporter) from the first send until 0.2 s after the last, and the program's own
thread's (MAIN). `pull ENDPOINT COUNT`
binds a PULL, prints "bound", receives COUNT messages and prints "GOT <count>"."""
import struct
import sys
import time

import zmq

role, endpoint = sys.argv[1], sys.argv[2]
ctx = zmq.Context()
if role == "pull":
    s = ctx.socket(zmq.PULL)
    s.bind(endpoint)
    print("bound", flush=True)
    count = int(sys.argv[3])
    for _ in range(count):
        s.recv()
    print("GOT %d" % count, flush=True)
else:
    rate, seconds, size = int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
    s = ctx.socket(zmq.PUSH)
    s.setsockopt(zmq.SNDHWM, 0)  # never drop or block at the HWM: the pace is the program's
    s.connect(endpoint)
    time.sleep(0.2)  # the connection is up before the clock starts
    pad = b"x" * max(0, size - 8)
    pack = struct.Struct(">Q").pack
    send = s.send
    per_tick = max(1, rate // 1000)
    ticks = int(seconds * 1000)
    cpu0 = time.process_time()
    main0 = time.thread_time()
    wall0 = time.perf_counter()
    seq = 0
    for t in range(ticks):
        for _ in range(per_tick):
            send(pack(seq) + pad)
            seq += 1
        wait = wall0 + (t + 1) / 1000.0 - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
    wall = time.perf_counter() - wall0
    main = time.thread_time() - main0
    time.sleep(0.2)
    cpu = time.process_time() - cpu0
    print("SENT %d CPU %.4f WALL %.4f MAIN %.4f" % (seq, cpu, wall, main), flush=True)
s.close(linger=-1)
ctx.term()
