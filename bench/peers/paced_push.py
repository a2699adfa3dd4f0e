"""The agent's paced benchmark program: `push ENDPOINT RATE SECONDS SIZE` connects a
PUSH and sends RATE messages a second for SECONDS seconds (a tick of RATE/1000
messages every millisecond, sleeping in between, the way a program that produces
at a given rate does), each SIZE bytes starting with its sequence number (8 bytes,
big-endian); then prints "SENT <count> CPU <seconds> WALL <seconds> MAIN <seconds>": the process's
CPU time (all its threads: the program's, libzmq's I/O thread, an agent's
reporter) from the first send until 0.2 s after the last, and the program's own
thread's (MAIN); and "THREADS main=<s> io=<s> other=<s>": the same time by thread
(the kernel's run time of each, /proc/self/task/*/schedstat: libzmq's threads by their
names, "other" is every other thread, an agent's reporter). `pull ENDPOINT COUNT`
binds a PULL, prints "bound", receives COUNT messages and prints "GOT <count>"."""
import os
import struct
import sys
import time


def thread_times():
    """{tid: (name, run time in s)} of this process's threads (the kernel's count, in ns)."""
    out = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            with open("/proc/self/task/%s/comm" % tid) as f:
                name = f.read().strip()
            with open("/proc/self/task/%s/schedstat" % tid) as f:
                out[int(tid)] = (name, int(f.read().split()[0]) / 1e9)
        except (OSError, ValueError, IndexError):
            pass
    return out


def by_role(before, after):
    """Run time since `before` of the main thread, libzmq's threads and the rest."""
    roles = {"main": 0.0, "io": 0.0, "other": 0.0}
    for tid, (name, t) in after.items():
        role = "main" if tid == os.getpid() else "io" if name.startswith("ZMQbg") else "other"
        roles[role] += t - before.get(tid, (name, 0.0))[1]
    return roles

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
    threads0 = thread_times()
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
    roles = by_role(threads0, thread_times())
    print("SENT %d CPU %.4f WALL %.4f MAIN %.4f" % (seq, cpu, wall, main), flush=True)
    print("THREADS " + " ".join("%s=%.4f" % kv for kv in sorted(roles.items())), flush=True)
s.close(linger=-1)
ctx.term()
