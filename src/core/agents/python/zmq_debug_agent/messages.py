"""The wrappers of Socket.send and Socket.recv: the hot path, one call per frame.

With the native agent preloaded (pyzmq on the shared libzmq), it records the messages of the
sockets this agent adopted, in C: the wrappers only call through (adopted_wrappers). Otherwise,
below the gate's rate every message is looked at. A whole single-frame message of
bytes (the common case) is queued as a batch entry: one pack, no copy (see
records.py). Anything else (multipart, a Frame or a buffer, a frame over FAST_MAX) is
built into an 'M' record here. With the gate shut, a frame is only counted (reported as dropped)."""
from . import records


def message_wrappers(agent, zmq, Socket, orig_send, orig_recv, orig_get, register, fail):
    """(send, recv): the wrappers to put in place of Socket.send and Socket.recv."""
    plain_send = compiled_send(Socket, orig_send)
    keep = frame_keeper(zmq, agent.MAX_FRAME)
    report = message_reporter(agent, keep)
    send = send_wrapper(agent, zmq, orig_send, plain_send, register, fail, keep, report)
    recv = recv_wrapper(agent, zmq, orig_recv, orig_get, register, fail, keep, report)
    if agent.native is None:
        return send, recv
    return adopted_wrappers(agent, orig_send, orig_recv, plain_send, send, recv, zmq.ZMQError, fail)


def compiled_send(Socket, orig_send):
    """pyzmq's Python-level send only handles the draft routing_id/group arguments and then calls
    the compiled send; without them, the wrapper calls the compiled one itself (the same call, one
    Python layer less: its cost pays for the wrapper's). Used only when that is all the
    Python-level send does, as in pyzmq 22 to 26; else the Python-level one."""
    try:
        base_send = Socket.__mro__[1].send
        names = set(orig_send.__code__.co_names)
        if names <= {"zmq", "Frame", "isinstance", "copy_threshold", "routing_id", "group", "super", "send"} and callable(base_send):
            return base_send
    except Exception:
        pass
    return orig_send


def frame_keeper(zmq, maxf):
    """keep(data): what to queue for one frame: the bytes, or (original length, first MAX_FRAME
    bytes); None for what is not a frame (a str: pyzmq refuses it)."""
    Frame = zmq.Frame

    def keep(data):
        if type(data) is bytes:
            b = data
        elif isinstance(data, Frame):
            b = data.bytes
        elif isinstance(data, str):
            return None
        else:
            try:
                b = memoryview(data).tobytes()
            except Exception:
                return None
        return b if len(b) <= maxf else (len(b), b[:maxf])

    return keep


def message_reporter(agent, keep):
    """report(st, direction, pending, last): one whole message of any shape, its 'M' record queued,
    or counted dropped when the queue is full."""
    _, now, enqueue, queued, maxb, gate = hot_state(agent)
    queue = agent.queue
    maxq = agent.MAX_QUEUE
    message_record = records.message_record

    def report(st, direction, pending, last):
        gate[0] -= 1
        if len(queue) >= maxq or queued[0] > maxb:
            agent.dropped += 1
            del pending[:]
            return
        f = keep(last)
        if pending:
            pending.append(f)
            frames = tuple(pending)
            del pending[:]
        else:
            frames = (f,)
        if None in frames:
            return
        record = message_record(direction, st["id"], now(), frames)
        queued[0] += len(record)
        gate[0] -= len(record) >> 12
        enqueue((record,))
        if agent.thread is None:
            agent.start()

    return report


def hot_state(agent):
    """What the wrappers touch per message, held in their closures (a local lookup, not an attribute's):
    the socket table, the clock, the queue's append, its byte count (a cell), its byte bound, the gate."""
    return agent.sockets, agent.time, agent.queue.append, agent.queued_bytes, agent.MAX_QUEUE_BYTES, agent.gate


def send_wrapper(agent, zmq, orig_send, plain_send, register, fail, keep, report):
    """Socket.send: a whole single frame of bytes queued as a batch entry, anything else through
    report; with the gate shut, only counted."""
    SNDMORE = int(zmq.SNDMORE)  # an enum.Flag: & on it costs more than the send
    ZMQError = zmq.ZMQError
    sockets, now, enqueue, queued, maxb, gate = hot_state(agent)
    fast_max = records.FAST_MAX
    entry = records.ENTRY.pack

    def send(self, data, flags=0, copy=True, track=False, routing_id=None, group=None):
        try:
            if routing_id is None and group is None:
                r = plain_send(self, data, flags, copy, track)
            else:
                r = orig_send(self, data, flags, copy, track, routing_id=routing_id, group=group)
        except ZMQError as e:
            fail(self, "send", e)
            raise
        # the gate is closed and no multipart send is under way: count, nothing else
        if gate[0] <= 0 and not gate[2] and not flags & SNDMORE:
            gate[1] += 1
            return r
        try:
            st = sockets.get(self.underlying) or register(self)
            pending = st["out"]
            if flags & SNDMORE:
                if not pending:
                    gate[2] += 1
                pending.append(keep(data))
            elif pending:
                gate[2] -= 1
                report(st, 0, pending, data)
            elif type(data) is bytes and len(data) <= fast_max and queued[0] <= maxb:
                # one whole frame of bytes: a batch entry (the gate keeps the queue's length bounded;
                # the reporter runs: the socket's report started it)
                gate[0] -= 1
                n = len(data)
                queued[0] += n + 16
                enqueue((entry(now(), st["out_key"], n), data))
            else:
                report(st, 0, pending, data)
        except Exception:
            pass
        return r

    return send


def recv_wrapper(agent, zmq, orig_recv, orig_get, register, fail, keep, report):
    """Socket.recv: as send; frames that went by unseen (the gate shut) make the rest of their message
    skipped and counted, never half a message recorded."""
    RCVMORE = int(zmq.RCVMORE)
    ZMQError = zmq.ZMQError
    sockets, now, enqueue, queued, maxb, gate = hot_state(agent)
    fast_max = records.FAST_MAX
    entry = records.ENTRY.pack

    def recv(self, flags=0, copy=True, track=False):
        try:
            r = orig_recv(self, flags, copy, track)
        except ZMQError as e:
            fail(self, "recv", e)
            raise
        if gate[0] <= 0:
            gate[1] += 1
            return r
        try:
            st = sockets.get(self.underlying) or register(self)
            more = orig_get(self, RCVMORE)
            if st["seen"] != gate[1]:
                # frames went by unseen since this socket's last one: this frame may be
                # the middle or end of a message; skip (and count) up to a message end
                if not more:
                    st["seen"] = gate[1]
                del st["in"][:]
                agent.dropped += 1
            elif more:
                st["in"].append(keep(r))
            elif not st["in"] and type(r) is bytes and len(r) <= fast_max and queued[0] <= maxb:
                gate[0] -= 1
                n = len(r)
                queued[0] += n + 16
                enqueue((entry(now(), st["in_key"], n), r))
            else:
                report(st, 1, st["in"], r)
        except Exception:
            pass
        return r

    return recv


def adopted_wrappers(agent, orig_send, orig_recv, plain_send, full_send, full_recv, ZMQError, fail):
    """With the native agent recording the messages of the sockets this agent adopted (native.py),
    the wrappers only call through and count failures; a socket it could not adopt has the full ones."""
    all_adopted = agent.all_adopted
    adopted = agent.adopted

    def send(self, data, flags=0, copy=True, track=False, routing_id=None, group=None):
        if not all_adopted[0] and self.underlying not in adopted:
            return full_send(self, data, flags, copy, track, routing_id, group)
        try:
            if routing_id is None and group is None:
                return plain_send(self, data, flags, copy, track)
            return orig_send(self, data, flags, copy, track, routing_id=routing_id, group=group)
        except ZMQError as e:
            fail(self, "send", e)
            raise

    def recv(self, flags=0, copy=True, track=False):
        if not all_adopted[0] and self.underlying not in adopted:
            return full_recv(self, flags, copy, track)
        try:
            return orig_recv(self, flags, copy, track)
        except ZMQError as e:
            fail(self, "recv", e)
            raise

    return send, recv
