"""The zmq-debug agent for Python programs that use pyzmq, imported by the
sitecustomize.py beside this package only when ZMQ_DEBUG_COLLECTOR and
ZMQ_DEBUG_TOKEN are set. Modules:

- reporter: the bounded queue and the thread that sends it to the collector;
- records: the wire records ('J' JSON reports, 'M' and 'B' message records);
- hook: the import hook that installs the wrappers when the program imports zmq;
- wrappers, messages, layers: the wrappers of zmq.Socket's methods (messages: send
  and recv, the hot path; layers: gevent and asyncio's retries of would-blocks);
- monitor: the reader of a socket's libzmq monitor (connection events);
- devices: zmq.proxy, zmq.device and monitored_queue run through wrapped sockets.
"""
import os
import sys


def main(address, token):
    from .reporter import Agent

    try:
        agent = Agent(address, token)
    except Exception:
        return
    import atexit

    atexit.register(agent.at_exit)
    # os._exit skips atexit (forked children, multiprocessing workers): flush first, then exit as asked
    real_exit = os._exit

    def _exit(status):
        try:
            agent.at_exit()
        except BaseException:
            pass
        real_exit(status)

    _exit.__doc__ = real_exit.__doc__
    os._exit = _exit
    if hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=agent.after_fork)
    if "zmq" in sys.modules:
        from .wrappers import install

        install(agent)
    else:
        from .hook import ZmqImportHook

        sys.meta_path.insert(0, ZmqImportHook(agent))
