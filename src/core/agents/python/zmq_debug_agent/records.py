"""The agent's wire records, built as bytes (see docs/agent-protocol.md).

Every frame to the collector is [u32 BE length][body]:
- 'J' + UTF-8 JSON: hello, process, socket, event, error, wait, drops, exit;
- 'M' + one message of any shape (multipart, cut frames), built by message_record;
- 'B' + a batch of whole single-frame messages: the common case at real rates.
  Each is one entry, [f64 LE ts (seconds)][u32 LE key (socket id << 1 |
  direction, 0 out 1 in)][u32 LE length][the frame's bytes]. The wrapper queues
  (ENTRY(...), the program's bytes): one pack, no copy (bytes are immutable); the
  reporter thread puts a head before a run of them and joins them (the one copy),
  and sendall() writes the batch with the GIL released.

The queue holds entries, 2-tuples, and whole records ('M', 'J') in 1-tuples: a run of
entries is told apart by its items' length alone.
"""
import json
import struct
from itertools import chain, groupby

# 'M', direction, socket id, ts, frame count; then per frame its original and kept lengths
_MHEAD = struct.Struct(">IcBIdI")
_FHEAD = struct.Struct(">II")
_BHEAD = struct.Struct(">Ic")
# a 'B' record's entry head: ts, key, length
ENTRY = struct.Struct("<dII")
# the reporter takes at most this many queued items at once, for one sendall: each time it
# takes the GIL back from the program costs the program a switch, so it takes it seldom
BATCH = 4096
# entries in one 'B' record (at most 512 × (16 + FAST_MAX) bytes, about 4 MiB)
_ENTRIES = 512
# single frames up to this size are queued as entries (larger ones go in an 'M' record)
FAST_MAX = 8192


def frame_json(obj):
    body = b"J" + json.dumps(obj, separators=(",", ":")).encode("utf-8", "replace")
    return struct.pack(">I", len(body)) + body


def message_record(direction, sid, ts, frames):
    """One 'M' record; each frame is bytes, or (original length, kept bytes) when cut."""
    parts = [None]
    size = 0
    for f in frames:
        if type(f) is tuple:
            ln, f = f
        else:
            ln = len(f)
        parts.append(_FHEAD.pack(ln, len(f)))
        parts.append(f)
        size += 8 + len(f)
    parts[0] = _MHEAD.pack(18 + size, b"M", direction, sid, ts, len(frames))
    return b"".join(parts)


def encode(items, out):
    """Appends the records of queued items to out, in their order: a 'B' record for each run
    of entries, the others as they are; returns the queued bytes they stood for."""
    size = 0
    for kind, run in groupby(items, len):
        if kind == 2:
            run = list(run)
            for i in range(0, len(run), _ENTRIES):
                parts = list(chain.from_iterable(run[i:i + _ENTRIES]))
                total = sum(map(len, parts))
                out.append(_BHEAD.pack(1 + total, b"B"))
                out.extend(parts)
                size += total
        else:
            for (record,) in run:
                out.append(record)
                size += len(record)
    return size
