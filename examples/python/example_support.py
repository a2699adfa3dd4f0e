"""What every Python example shares, kept out of the examples so that they read
like the seed programs: positional arguments and a clean stop.

A stop (SIGTERM, SIGINT, or end of stdin when ZMQ_EXAMPLE_WATCH_STDIN=1, which
the example runner sets so that no example outlives the editor) raises
SystemExit(0) in the main thread; the context is then destroyed with linger 0.
"""
import atexit
import os
import signal
import sys
import threading

import zmq


def arg(index, default):
    """The positional argument at `index` (0-based, after the script name), or `default`."""
    if len(sys.argv) > index + 1 and sys.argv[index + 1] != "":
        return sys.argv[index + 1]
    return default


def num_arg(index, default):
    """A numeric argument; exits with code 2 and a clear message when it is not a number."""
    raw = arg(index, str(default))
    try:
        value = float(raw)
    except ValueError:
        value = -1
    if value < 0:
        print("argument %d must be a non-negative number, got '%s'" % (index + 1, raw), file=sys.stderr)
        sys.exit(2)
    return value


def rest_args(index):
    return sys.argv[index + 1:]


def _stop(*_):
    raise SystemExit(0)


def _watch_stdin():
    # os.read on the raw descriptor: a daemon thread blocked in sys.stdin would
    # hold the buffer's lock and abort the interpreter at shutdown.
    try:
        while os.read(0, 4096):
            pass
    except OSError:
        pass
    os.kill(os.getpid(), signal.SIGTERM)


def context():
    """A zmq.Context destroyed with linger 0 at exit, with the stop signals installed."""
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    if os.environ.get("ZMQ_EXAMPLE_WATCH_STDIN") == "1":
        threading.Thread(target=_watch_stdin, daemon=True).start()
    ctx = zmq.Context()
    atexit.register(ctx.destroy, 0)
    return ctx


def show(frame):
    """Printable text of a frame: text when it is printable ASCII, else hex."""
    try:
        text = frame.decode("ascii")
        if all(32 <= ord(c) < 127 for c in text):
            return text
    except UnicodeDecodeError:
        pass
    return "0x" + frame.hex()
