#!/usr/bin/env python3
"""cost-breakdown.py: where a campbus message's CPU goes, stage by stage.

Usage: scripts/cost-breakdown.py RUNDIR...

Each RUNDIR holds one profiled run of `campbus serve` under `campbus bench`
(scripts/cost-breakdown.sh makes them):
  cpu.traces    go tool pprof -lines -traces campbus cpu.prof
  alloc.traces  go tool pprof -sample_index=alloc_space -lines -traces campbus heap.prof
  run.json      campbus bench --json --server-pid ...: the server's CPU per
                accepted message, measured from /proc

Every CPU sample is attributed to one stage of a message's way through the
server by the frames of its stack (classify below). The stages' shares of
the samples (those of checkin, checkout and startup left out) times the
measured CPU per accepted message give µs per message; bytes allocated are
attributed the same way. It prints a markdown table: the mean over the
runs, the lowest and highest, and the leading functions of each stage.

Two goroutines of the bus carry several kinds of message and cannot tell
them apart by stack: their samples are split among the stages by the
weights below, per accepted message. The republish's own work inside the
stream's processJetStreamMsg is told apart by source line (nats-server
v2.15.2, stream.go); check REPUBLISH_LINES after an upgrade.
"""
import collections
import json
import os
import re
import sys

STAGES = [
    ('read', 'frame read and parse, command checks'),
    ('bus', 'bus request to the handler and the reply back'),
    ('decide', 'decision: request body, group state, seat view'),
    ('encode', 'event encoding: JSON of the event and the group state, headers'),
    ('jetstream', 'JetStream append and ack'),
    ('republish', 'republish on group.<n> to the dispatcher (which feeds the seat view too)'),
    ('dispatch', 'dispatch: the events and the response into the campers\' queues'),
    ('write', 'writes to the sockets: the response and 3 events'),
    ('log', 'request log and metrics'),
    ('gc', 'garbage collection (background)'),
    ('sched', 'scheduler: goroutine hand-offs, exits'),
    ('other', 'other (NATS server housekeeping, ...)'),
]

# nats-server v2.15.2 stream.go, in processJetStreamMsgWithBatch: the
# republish subject and the subject's last sequence for its header
# (7314-7335), the header and the send (7460-7490).
REPUBLISH_LINES = [(7314, 7335), (7460, 7490)]

# Per accepted message:
#  the nats.go read loops (front-end and handler connections) receive the
#  request, the reply, the JetStream ack and the event (for the dispatcher,
#  which also feeds the handlers' seat view: one subscription to group.*
#  per node); header decoding is split by its measured cost per kind
#  (request 1.3 µs, reply 0.7 µs, event 1.7 µs; the ack has no headers).
CLIENT_READ = {'bus': 2, 'jetstream': 1, 'republish': 1}
CLIENT_HEADERS = {'bus': 1.3 + 0.7, 'republish': 1.7}
#  the nats.go flushers send the request, the reply, the JetStream publish;
CLIENT_WRITE = {'bus': 2, 'jetstream': 1}
#  the NATS server's read loops parse the same three (the hand-off of the
#  publish to the stream is told apart by its frames);
SERVER_READ = {'bus': 2, 'jetstream': 1}
#  the stream's loop routes the ack (one delivery) and the republished
#  event (one delivery);
STREAM_OUT = {'jetstream': 1, 'republish': 1}
#  the NATS server's write loops write four deliveries: request, reply, ack,
#  the event.
SERVER_WRITE = {'bus': 2, 'jetstream': 1, 'republish': 1}

SETUP = ('handlers.(*Service).checkin', 'handlers.(*Service).checkout', 'handlers.(*Service).peerSession',
         'handlers.(*Service).leave', 'handlers.(*Service).history', 'session.(*Session).checkin',
         'session.(*Session).checkout', 'session.(*Session).finish', 'session.(*Hub).Shutdown', 'node.Start',
         'node.(*Node).Shutdown', 'nats-server.(*Server).processJSAPIRoutedRequests')

# The functions named in the table, per stage: a sample counts for the
# first of these (leaf first) on its stack.
LEADS = {
    'read': ['tcpfront.(*transport).setReadDeadline', 'wire.(*Reader).ReadFrame', 'wire.(*Reader).Wait',
             'session.(*Session).handle'],
    'bus': ['context.WithDeadline', 'context.WithDeadlineCause.func3', 'nats.DecodeHeadersMsg',
            'nats.(*Msg).headerBytes', 'bus.ParseReply', 'bus.ParseRequest', 'handlers.(*Service).reply',
            'nats.(*Conn).RequestMsgWithContext', 'nats.(*Conn).respHandler', 'nats-server.(*client).readLoop',
            'nats-server.(*client).writeLoop', 'nats.(*Conn).readLoop', 'nats.(*Conn).flusher',
            'session.(*Session).sendPipelined', 'session.(*Session).await', 'handlers.(*Service).worker'],
    'decide': ['handlers.decodeBody', 'handlers.fields.text', 'handlers.(*groupState).clone',
               'handlers.(*Service).updateGroup'],
    'encode': ['bus.EventMeta.Header', 'encoding/json.Marshal'],
    'jetstream': ['encoding/json.Unmarshal', 'nats-server.(*msgBlock).flushPendingMsgsLocked',
                  'nats-server.(*fileStore).StoreMsg', 'nats-server.(*fileStore).LoadLastMsg',
                  'nats-server.(*stream).checkMsgId', 'jetstream.(*jetStream).PublishMsg',
                  'jetstream.(*jetStream).PublishMsgAsync', 'jetstream.(*jetStream).handleAsyncReply',
                  'nats-server.(*stream).processJetStreamMsgWithBatch', 'nats-server.(*client).readLoop',
                  'nats-server.(*stream).internalLoop', 'nats.(*Conn).respHandler', 'nats.(*Conn).readLoop',
                  'nats-server.(*client).writeLoop', 'nats.(*Conn).flusher'],
    'republish': ['nats.DecodeHeadersMsg', 'fmt.Appendf', 'nats-server.newJSPubMsg',
                  'nats-server.(*fileStore).LoadLastMsg', 'nats-server.(*stream).processJetStreamMsgWithBatch',
                  'nats-server.(*stream).internalLoop', 'nats.(*Conn).readLoop', 'nats-server.(*client).writeLoop'],
    'dispatch': ['session.(*Session).deliver', 'session.(*registry).groupEvent', 'session.(*frameCache).encode',
                 'tcpfront.codec.Response', 'bus.ParseEventMeta', 'session.(*Session).send',
                 'session.(*Session).queueOnly'],
    'write': ['net.(*conn).SetWriteDeadline', 'syscall.write', 'unix.writev', 'tcpfront.(*transport).TryWrite',
              'tcpfront.(*transport).Write'],
    'gc': ['runtime.gcBgMarkWorker', 'runtime.bgsweep', 'runtime.bgscavenge'],
    'sched': ['runtime.goexit0', 'runtime.park_m'],
}

SHORT = [('github.com/nats-io/nats-server/v2/server.', 'nats-server.'), ('github.com/nats-io/nats%2ego.', 'nats.'),
         ('github.com/nats-io/nats.go/jetstream.', 'jetstream.'), ('github.com/campbus/campbus/', ''),
         ('golang.org/x/sys/unix.', 'unix.')]


def load(path):
    """The samples of `go tool pprof -lines -traces`: (value, frames leaf first)."""
    units = {'': 1, 'us': 1e-3, 'ms': 1, 's': 1e3, 'B': 1, 'kB': 1e3, 'MB': 1e6, 'GB': 1e9}
    samples, frames, value = [], None, 0.0
    with open(path) as f:
        for line in f:
            if line.startswith('-----------+'):
                if frames:
                    samples.append((value, frames))
                frames = None
                continue
            m = re.match(r'\s+(\d+(?:\.\d+)?)(us|ms|s|B|kB|MB|GB|)\s+(.*)$', line)
            if m and frames is None:
                value, frames = float(m.group(1)) * units[m.group(2)], [frame(m.group(3))]
            elif frames is not None and line.strip():
                frames.append(frame(line.strip()))
    if frames:
        samples.append((value, frames))
    return samples


def frame(text):
    """(function, line) of one frame."""
    text = re.sub(r' \(inline\)$', '', text.strip())
    m = re.match(r'(.*) \S+\.(?:go|s):(\d+)$', text)
    fn, line = (m.group(1), int(m.group(2))) if m else (text, 0)
    for long, short in SHORT:
        fn = fn.replace(long, short)
    return fn, line


def share(weights):
    total = sum(weights.values())
    return {k: v / total for k, v in weights.items()}


def classify(frames):
    """{stage: fraction} for one sample (frames leaf first)."""
    fns = [fn for fn, _ in frames]
    on = set(fns)
    if any(f.startswith(SETUP) for f in fns):
        return {'setup': 1}
    # the campers' connections
    for fn, stage in (('session.(*Session).writeLoop', 'write'), ('tcpfront.(*transport).TryWrite', 'write'),
                      ('tcpfront.(*transport).Next', 'read'),
                      ('session.(*Session).request', 'bus'), ('session.(*Session).sendPipelined', 'bus'),
                      ('session.(*Session).await', 'bus'), ('session.(*replies).subscribe.func1', 'bus'),
                      ('session.(*Session).logRequest', 'log'), ('session.(*Session).logRequestSince', 'log'),
                      ('session.(*Session).send', 'dispatch'), ('session.(*Session).queueOnly', 'dispatch'),
                      ('tcpfront.codec.Response', 'dispatch'),
                      ('handlers.(*Service).WatchGroup', 'republish'),
                      ('session.(*Session).serve', 'read'), ('session.(*Hub).onGroupEvent', 'dispatch'),
                      ('jetstream.(*jetStream).PublishMsg', 'jetstream')):
        if fn in on:
            return {stage: 1}
    # the handlers
    if 'jetstream.(*jetStream).PublishMsgAsync' in on or 'jetstream.(*jetStream).handleAsyncReply' in on:
        return {'jetstream': 1}
    if 'handlers.(*Service).appendMessages' in on:
        if 'handlers.groupEventMsg' in on:
            return {'encode': 1}
        return {'bus' if 'handlers.(*Service).reply' in on else 'decide': 1}
    if 'handlers.(*Service).appendGroupEvent' in on:
        return {'encode' if on & {'encoding/json.Marshal', 'bus.EventMeta.Header'} else 'decide': 1}
    if 'handlers.(*Service).message' in on:
        return {'decide': 1}
    if 'handlers.(*Service).worker' in on or 'handlers.(*Service).enqueue' in on:
        return {'bus': 1}
    # nats.go, the app's two in-process connections
    if 'nats.(*Conn).respHandler' in on:
        return {'bus': 0.5, 'jetstream': 0.5}  # replies (front-end), acks (handlers)
    if 'nats.(*Conn).readLoop' in on:
        return share(CLIENT_HEADERS if 'nats.DecodeHeadersMsg' in on else CLIENT_READ)
    if 'nats.(*Conn).flusher' in on:
        return share(CLIENT_WRITE)
    if 'nats.(*Conn).waitForMsgs' in on:
        return share(CLIENT_READ)
    # the NATS server
    pj = 'nats-server.(*stream).processJetStreamMsgWithBatch'
    if pj in on:
        line = frames[fns.index(pj)][1]
        return {'republish' if any(a <= line <= b for a, b in REPUBLISH_LINES) else 'jetstream': 1}
    if 'nats-server.(*stream).processInboundJetStreamMsg' in on or 'nats-server.(*stream).queueInbound' in on:
        return {'jetstream': 1}
    if 'nats-server.(*stream).internalLoop' in on:
        return share(STREAM_OUT)
    if 'nats-server.(*client).readLoop' in on:
        return share(SERVER_READ)
    if 'nats-server.(*client).writeLoop' in on:
        return share(SERVER_WRITE)
    root = fns[-1]
    if root in ('runtime.gcBgMarkWorker', 'runtime.bgsweep', 'runtime.bgscavenge'):
        return {'gc': 1}
    if root.startswith('runtime.'):
        return {'sched': 1}
    return {'other': 1}


def attribute(samples):
    """Per stage: total value and value per leading function."""
    stage = collections.Counter()
    leads = collections.defaultdict(collections.Counter)
    for value, frames in samples:
        fns = [fn for fn, _ in frames]
        for st, w in classify(frames).items():
            stage[st] += value * w
            lead = next((fn for fn in fns if fn in LEADS.get(st, ())), 'rest')
            leads[st][lead] += value * w
    return stage, leads


def run(d):
    res = json.load(open(os.path.join(d, 'run.json')))
    per = res['send']['serverCpu']['perAcceptedMicros']
    accepted = res['send']['accepted']
    cpu, leads = attribute(load(os.path.join(d, 'cpu.traces')))
    alloc, _ = attribute(load(os.path.join(d, 'alloc.traces')))
    work = sum(cpu.values()) - cpu['setup']
    us = {k: cpu[k] / work * per for k in cpu if k != 'setup'}
    lead_us = {k: {f: v / work * per for f, v in c.items()} for k, c in leads.items() if k != 'setup'}
    kb = {k: alloc[k] / accepted / 1000 for k in alloc if k != 'setup'}
    return per, us, lead_us, kb


def main(dirs):
    runs = [run(d) for d in dirs]
    n = len(runs)
    per = sum(r[0] for r in runs) / n
    mean = lambda k: sum(r[1].get(k, 0) for r in runs) / n
    kb = lambda k: sum(r[3].get(k, 0) for r in runs) / n
    total_kb = sum(kb(k) for k, _ in STAGES)
    print(f'CPU per accepted message: {per:.1f} µs (runs: {", ".join(f"{r[0]:.1f}" for r in runs)}); '
          f'allocated: {total_kb:.1f} KB per message\n')
    print('| stage | µs per message | share | KB allocated | with GC by bytes, µs | leading functions (µs) |')
    print('|---|---:|---:|---:|---:|---|')
    for k, name in STAGES:
        vals = [r[1].get(k, 0) for r in runs]
        leads = collections.Counter()
        for r in runs:
            for f, v in r[2].get(k, {}).items():
                leads[f] += v / n
        named = ', '.join(f'{f} {v:.1f}' for f, v in leads.most_common(5) if v >= 0.25)
        gc = mean('gc') * kb(k) / total_kb if total_kb and k != 'gc' else 0
        rng = f' ({min(vals):.1f}–{max(vals):.1f})' if n > 1 else ''
        with_gc = f'{mean(k) + gc:.1f}' if k not in ('gc', 'sched', 'other', 'log') else ''
        kbs = f'{kb(k):.2f}' if kb(k) >= 0.005 else ''
        print(f'| {name} | {mean(k):.1f}{rng} | {mean(k) / per * 100:.1f}% | {kbs} | {with_gc} | {named} |')
    print(f'| total | {per:.1f} | 100% | {total_kb:.1f} | | |')


if __name__ == '__main__':
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
