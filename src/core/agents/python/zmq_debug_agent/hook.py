"""The import hook: the agent never imports zmq itself; when the program does, zmq
loads as usual and the wrappers are installed right after."""
import os


def _spec_then(fullname, path, after):
    """The spec Python would use for `fullname`, whose loader runs `after(module)` once the
    module is loaded (anything `after` raises stays the agent's); None to let Python look."""
    import importlib.machinery

    spec = importlib.machinery.PathFinder.find_spec(fullname, path)
    if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
        return None
    loader = spec.loader

    class Loader(object):
        def create_module(self, spec):
            return loader.create_module(spec)

        def exec_module(self, module):
            loader.exec_module(module)
            try:
                after(module)
            except Exception:
                pass

        def __getattr__(self, name):
            return getattr(loader, name)

    spec.loader = Loader()
    return spec


class ZmqImportHook(object):
    """A meta path finder that lets `zmq` load as usual, then installs the wrappers."""

    def __init__(self, agent):
        self.agent = agent
        self.done = False

    def find_spec(self, fullname, path=None, target=None):
        if fullname == "zmq.devices.monitoredqueue":
            return self.monitoredqueue_spec(fullname, path)
        if fullname != "zmq" or self.done:
            return None

        def installed(module):
            from .wrappers import install

            self.done = True
            install(self.agent)

        return _spec_then(fullname, path, installed)

    def monitoredqueue_spec(self, fullname, path):
        # the compiled monitored_queue loads as usual, then gives way to the agent's (before
        # zmq.devices and monitoredqueuedevice bind it by name, and any `from zmq.devices import`)
        keep_native = os.environ.get("ZMQ_DEBUG_AGENT_DEVICES", "") == "native"
        agent = self.agent

        def replaced(module):
            from .devices import pure_monitored_queue

            if keep_native:
                # libzmq's loop as asked: its sockets are said to be unseen
                mark = getattr(agent, "unseen_device", None)
                if mark is not None:
                    module.monitored_queue = mark("zmq.devices.monitored_queue", module.monitored_queue)
                return
            ours = pure_monitored_queue(module.monitored_queue, getattr(module, "__file__", None))
            if ours is not None:
                module.monitored_queue = ours

        return _spec_then(fullname, path, replaced)
