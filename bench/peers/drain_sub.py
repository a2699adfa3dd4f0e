# The ceiling reference for the default-HWM benchmarks: the cheapest subscriber
# there can be. A plain TCP socket that does the ZMTP 3.1 NULL handshake as a
# SUB, subscribes to everything, then only reads into one buffer and counts
# bytes: no decoding, no message objects, next to no CPU. What it receives is
# what the publisher's libzmq puts on the wire; nobody can receive more.
# Messages are SIZE-byte single frames (a short frame: 2 header bytes each).
# usage: drain_sub.py PORT SIZE     prints "got N" after 1.5 s of silence
import socket
import sys

port, size = int(sys.argv[1]), int(sys.argv[2])
assert size <= 255, 'short frames only'
s = socket.create_connection(('127.0.0.1', port))
s.sendall(b'\xff' + b'\0' * 8 + b'\x7f' + bytes([3, 1]) + b'NULL'.ljust(20, b'\0') + b'\0' + b'\0' * 31)
# the peer's greeting (64 bytes) and READY, read before we send ours
got = b''
while len(got) < 66 or len(got) < 66 + got[65]:
    more = s.recv(4096)
    if not more:
        sys.exit('the publisher closed during the handshake')
    got += more
assert got[64] == 0x04, 'expected a short READY command'
extra = len(got) - (66 + got[65])
ready = b'\x05READY' + b'\x0bSocket-Type' + (3).to_bytes(4, 'big') + b'SUB'
s.sendall(bytes([0x04, len(ready)]) + ready + bytes([0x00, 0x01, 0x01]))
buf = memoryview(bytearray(4 << 20))
total = extra
s.settimeout(1.5)
try:
    while True:
        n = s.recv_into(buf)
        if not n:
            break
        total += n
except socket.timeout:
    pass
print('got', total // (size + 2), flush=True)
