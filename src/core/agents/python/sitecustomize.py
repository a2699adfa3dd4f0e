"""zmq-debug agent for Python programs that use pyzmq.

Loaded by Python itself at start-up (this folder is put first on PYTHONPATH,
and Python imports `sitecustomize` from it), so the program under debug is not
changed by a single line. What it does:

- chains to the `sitecustomize` this one hides (Debian ships one), so that the
  interpreter behaves as it would without us;
- does nothing more unless ZMQ_DEBUG_COLLECTOR and ZMQ_DEBUG_TOKEN are set;
  then it imports the agent, the `zmq_debug_agent` package beside this file;
- never imports zmq itself: when the program imports zmq, it wraps methods of
  `zmq.Socket` (bind, connect, unbind, disconnect, send, recv, set/setsockopt,
  close, __init__) in place. send_multipart/send_string/send_json/send_pyobj
  and their recv twins, zmq.asyncio, tornado's ZMQStream and the sockets of
  zmq.devices all go through these methods;
- reports process, sockets and every message to the collector over a plain TCP
  connection (not a zmq socket: nothing is added to the program's contexts, so
  `ctx.term()` and socket counts behave as before), from a daemon thread, via a
  bounded queue: a full queue drops reports (counted and reported), never
  blocks the program; no collector means no reports and no output.

Every wrapper calls the original first and lets its result or exception pass
unchanged; the agent's own work is inside `try/except` so it can never raise
into the program. Wire format: see zmq_debug_agent/records.py and
docs/agent-protocol.md.
"""
import os
import sys


def _chain_sitecustomize():
    # Import the sitecustomize we shadow, the way Python would have imported it.
    import importlib.machinery
    import importlib.util

    here = os.path.dirname(os.path.abspath(__file__))
    paths = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", paths)
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    saved = sys.modules.get("sitecustomize")
    sys.modules["sitecustomize"] = module
    try:
        spec.loader.exec_module(module)
    finally:
        if saved is not None:
            sys.modules["sitecustomize"] = saved


def _main():
    address = os.environ.get("ZMQ_DEBUG_COLLECTOR")
    token = os.environ.get("ZMQ_DEBUG_TOKEN")
    if not address or not token:
        return
    from zmq_debug_agent import main

    main(address, token)


try:
    _main()
except Exception:
    pass

del _main
_chain_sitecustomize()
