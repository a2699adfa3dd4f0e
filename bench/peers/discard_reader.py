"""A collector's stand-in for the bench's ceiling: listens on 127.0.0.1, prints its port, and
reads every connection into one buffer, dropping what it read, until it is killed or its stdin
closes. The agent's reports then cost what the agent spends on them and no more: nothing is
parsed, kept or counted, and the reader takes next to no CPU beside the program."""
import socket
import sys
import threading

srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(16)
print(srv.getsockname()[1], flush=True)


def drop(conn):
    buf = bytearray(1 << 20)
    try:
        while conn.recv_into(buf):
            pass
    except OSError:
        pass
    conn.close()


def accept():
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=drop, args=(conn,), daemon=True).start()


threading.Thread(target=accept, daemon=True).start()
sys.stdin.read()
