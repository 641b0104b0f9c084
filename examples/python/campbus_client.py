#!/usr/bin/env python3
"""A campbus client in Python, using only the standard library.

It speaks the wire protocol of docs/PROTOCOL.md: HTTP/1.1 message syntax on
one long-lived TCP connection, JSON bodies. The server answers requests in
order with `HTTP/1.1 <status> <reason>` frames, and pushes events
(`EVENT /<type> HTTP/1.1`) at any moment between them. So one background
thread reads every frame: a response goes to the oldest request waiting for
one (first in, first out), an event goes on a queue.

As a library:

    c = Client.connect("127.0.0.1:2022")   # or a list: the first that answers
    c.checkin("J004")                  # {'campId': 'J004', 'group': 1, ...}
    c.checkin("J004", token)           # a camp with a secret needs the camper's token
    c.mission(4)                       # {'day': 4, 'keywords': 'Heap, Stack'}
    event = c.next_event(timeout=5)    # {'type': 'join', ...} or None
    c.checkout()

A refused request raises CampbusError (status, code, message). While the
camp elects a leader after losing a node (503 unavailable, PROTOCOL §11) a
request is sent again after the retryAfter the server asks for, for up to
30 s, and the client says so on stderr.

Camper stays checked in across the loss of a node: given the camp's
addresses (and learning the others from the checkin's "nodes"), it comes
back at the next one, as the same camper, and catches up with history
after the last offset it saw, in its epoch:

    camper = Camper(["10.0.0.1:2022", "10.0.0.2:2022"], "J004")
    camper.start()                     # the checkin's body
    camper.client.mission(4)
    missed = camper.come_back()        # after the connection ended

From the command line:

    python3 campbus_client.py --camp-id J004            # type commands
    python3 campbus_client.py --camp-id J004 --script   # the demo scenario
    CAMPBUS_TOKEN=eyJ... python3 campbus_client.py --camp-id J004   # or --token
    python3 campbus_client.py --camp-id J004 --tls --ca ca.pem   # over TLS
    python3 campbus_client.py --camp-id J004 --addr 10.0.0.1:2022,10.0.0.2:2022

Typing commands, the client comes back by itself when its node is lost, at
the next address. A checkin the server refuses ends it with exit status 3.

The demo prints one JSON object per line: each request with its response,
and each event it waited for.
"""

import argparse
import collections
import json
import os
import queue
import io
import random
import select
import socket
import ssl
import sys
import threading
import time

MAX_HEADER_BYTES = 4096  # start line + fields, as the server's default
MAX_BODY_BYTES = 4 << 20  # a history response can hold 1000 events
RETRY_BUDGET = 30  # seconds a request is sent again while the camp elects a leader
# The commands that do, sent twice, what they do sent once (PROTOCOL.md
# §11): only these are sent again after 503 unavailable. A message or a
# direct answered 503 may have been stored, and sent again would count twice.
REPEATABLE = {"checkin", "checkout", "mission", "history", "staff", "board", "mute", "kick", "redact", "revoke"}
EXIT_CHECKIN_REFUSED = 3  # the exit status when the server refuses the checkin


def say(text):
    """Tells the person what the client does by itself, on stderr."""
    print(text, file=sys.stderr, flush=True)


class CampbusError(Exception):
    """A response whose status is not 200: {"error": ..., "code": ...}."""

    def __init__(self, status, code, message):
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message


class ConnectionEnded(Exception):
    """The connection ended before the response came."""


class _Wire(io.RawIOBase):
    """The socket as the reader and the writers share it.

    An SSL socket must not be used by two threads at once (OpenSSL's SSL
    object is not thread-safe: a read and a write at the same moment may
    corrupt the stream or hang), and the reader blocks in a read while a
    writer sends. So the socket is non-blocking, every read and write holds
    _lock, and whoever finds no data or no room waits in select() without
    it. Plain TCP takes the same path."""

    def __init__(self, sock):
        super().__init__()
        self._sock = sock
        self._lock = threading.Lock()
        sock.setblocking(False)

    def readable(self):
        return True

    def readinto(self, b):
        while True:
            with self._lock:
                try:
                    return self._sock.recv_into(b)
                except (ssl.SSLWantReadError, BlockingIOError, InterruptedError):
                    wait_read = True
                except ssl.SSLWantWriteError:
                    wait_read = False
            if wait_read:
                select.select([self._sock], [], [])
            else:
                select.select([], [self._sock], [])

    def sendall(self, data):
        view = memoryview(data)
        while view:
            with self._lock:
                try:
                    view = view[self._sock.send(view):]
                    continue
                except (ssl.SSLWantWriteError, BlockingIOError, InterruptedError):
                    wait_read = False
                except ssl.SSLWantReadError:
                    wait_read = True
            if wait_read:
                select.select([self._sock], [], [])
            else:
                select.select([], [self._sock], [])


class Client:
    """One connection to a campbus server. Requests may come from any thread."""

    def __init__(self, sock, on_retry=None):
        # on_retry(command, seconds) is told each time a request is sent
        # again while the camp elects a leader; by default it says so.
        self.on_retry = on_retry or (lambda command, secs: say(
            f"the camp is electing a leader; trying {command} again in {secs:g} s"))
        self._sock = sock
        self._wire = _Wire(sock)
        self._rfile = io.BufferedReader(self._wire)
        # _write_lock keeps requests whole and in the order of _pending; the
        # reader takes only _pending_lock, so it never waits for a writer.
        self._write_lock = threading.Lock()
        self._pending_lock = threading.Lock()
        self._pending = collections.deque()  # (Request-Id, queue.Queue(1)), oldest first
        self._next_id = 0  # _write_lock must be held
        self._closed_reason = None  # _pending_lock must be held
        self.events = queue.Queue()  # event dicts, then None when the connection ends
        self._reader = threading.Thread(target=self._read_loop, daemon=True)
        self._reader.start()

    @classmethod
    def connect(cls, addr, timeout=10, tls=False, ca=None):
        """Connects to host:port; with tls, over TLS (docs/PROTOCOL.md §10),
        checking the server's certificate against the CAs in the PEM file ca,
        or the system's, for the host of addr. addr may be a list (or a
        comma-separated string) of the camp's nodes: the first that answers
        is taken, and its address is in .addr."""
        addrs = split_addrs(addr)
        for i, one in enumerate(addrs):
            try:
                c = cls._connect_one(one, timeout, tls, ca)
            except OSError:
                if i == len(addrs) - 1:
                    raise
                continue
            c.addr = one
            return c

    @classmethod
    def _connect_one(cls, addr, timeout, tls, ca):
        host, _, port = addr.rpartition(":")
        host = host.strip("[]")
        sock = socket.create_connection((host, int(port)), timeout=timeout)
        if tls:
            context = ssl.create_default_context(cafile=ca)
            context.minimum_version = ssl.TLSVersion.TLSv1_2
            try:
                sock = context.wrap_socket(sock, server_hostname=host)
            except OSError:
                sock.close()
                raise
        sock.settimeout(None)  # the reader blocks until a frame comes
        return cls(sock)

    # --- the commands (docs/PROTOCOL.md §2 and §5) ---

    def checkin(self, camp_id, token=None):
        """A camp whose server has a secret needs the camper's token (PROTOCOL §9)."""
        body = {"campId": camp_id}
        if token:
            body["token"] = token
        return self.request("checkin", body)

    def mission(self, day):
        return self.request("mission", {"day": day})

    def peersession(self, max_count):
        return self.request("peersession", {"maxCount": max_count})

    def complete(self):
        return self.request("complete", {})

    def message(self, text):
        return self.request("message", {"text": text})

    def direct(self, camp_id, text):
        return self.request("direct", {"campId": camp_id, "text": text})

    def history(self, limit=None):
        return self.request("history", {} if limit is None else {"limit": limit})

    def checkout(self):
        """Checks out; the server then closes the connection."""
        return self.request("checkout", {})

    # --- requests, responses and events ---

    def request(self, command, body, timeout=10):
        """Sends POST /<command> and returns the 200 body as a dict. While
        the camp elects a leader (503 unavailable) it waits the retryAfter
        the server asks for and sends it again, for up to RETRY_BUDGET s,
        when the command is REPEATABLE."""
        began = time.monotonic()
        while True:
            try:
                return self._request_once(command, body, timeout)
            except CampbusError as e:
                if not (e.status == 503 and e.code == "unavailable") or command not in REPEATABLE:
                    raise
                wait = max(1, e.retry_after or 1)
                if time.monotonic() - began + wait > RETRY_BUDGET:
                    raise
                self.on_retry(command, wait)
                time.sleep(wait)

    def _request_once(self, command, body, timeout):
        payload = json.dumps(body, ensure_ascii=False).encode("utf-8")  # Content-Length counts bytes
        slot = queue.Queue(1)
        with self._write_lock:
            self._next_id += 1
            request_id = str(self._next_id)
            with self._pending_lock:
                if self._closed_reason is not None:
                    raise ConnectionEnded(f"{command}: {self._closed_reason}")
                self._pending.append((request_id, slot))
            head = (
                f"POST /{command} HTTP/1.1\r\n"
                f"Request-Id: {request_id}\r\n"
                "Content-Type: application/json\r\n"
                f"Content-Length: {len(payload)}\r\n\r\n"
            )
            self._wire.sendall(head.encode("ascii") + payload)
        try:
            status, body, fields = slot.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError(f"{command}: no response in {timeout}s") from None
        if status is None:
            raise ConnectionEnded(f"{command}: {body}")
        if status != 200:
            e = CampbusError(status, body.get("code", ""), body.get("error", ""))
            e.body = body
            e.retry_after = retry_after(body, fields)
            raise e
        return body

    def next_event(self, timeout=None):
        """Returns the next event, or None on timeout or once the connection ended."""
        try:
            event = self.events.get(timeout=timeout)
        except queue.Empty:
            return None
        if event is None:
            self.events.put(None)  # keep telling later callers
        return event

    def close(self):
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # already gone
        self._sock.close()
        self._reader.join(timeout=5)

    def _read_loop(self):
        reason = "server closed the connection"
        try:
            while True:
                frame = self._read_frame()
                if frame is None:
                    break
                self._route(*frame)
        except (OSError, ValueError) as e:
            reason = f"read: {e}"
        with self._pending_lock:
            self._closed_reason = self._closed_reason or reason
            pending, self._pending = self._pending, collections.deque()
        for _, slot in pending:
            slot.put((None, self._closed_reason, {}))
        self.events.put(None)

    def _route(self, start, fields, body):
        kind, _, rest = start.partition(" ")
        if kind == "EVENT":
            event = dict(body)
            event["type"] = rest.split(" ")[0].lstrip("/")
            self.events.put(event)
            return
        if not kind.startswith("HTTP/"):
            raise ValueError(f"neither response nor event: {start!r}")
        status = int(rest.split(" ")[0])
        with self._pending_lock:
            if not self._pending:
                # The server's word on why it drops us (too-many-connections...).
                self._closed_reason = f"{status} {body.get('code')}: {body.get('error')}"
                raise ValueError(self._closed_reason)
            request_id, slot = self._pending.popleft()
        got = fields.get("request-id")
        # A response without Request-Id is accepted: the server cannot repeat
        # the id of a frame it could not parse.
        if got is not None and got != request_id:
            raise ValueError(f"response for Request-Id {got}, want {request_id}")
        slot.put((status, body, fields))

    def _read_frame(self):
        """Reads one frame: (start line, {lowercase field: value}, body dict).

        Returns None at EOF between frames. Reads are bounded: the start line
        and fields by MAX_HEADER_BYTES, the body by MAX_BODY_BYTES.
        """
        start = b"\r\n"
        while start in (b"\r\n", b"\n"):  # empty lines before a frame are skipped
            start = self._rfile.readline(MAX_HEADER_BYTES + 1)
            if not start:
                return None
        budget = MAX_HEADER_BYTES
        fields = {}
        line = start
        while True:
            budget -= len(line)
            if budget < 0 or not line.endswith(b"\n"):
                raise ValueError("frame header over the limit or cut short")
            if line is not start:
                if line in (b"\r\n", b"\n"):
                    break  # the blank line that ends the fields
                name, sep, value = line.decode("latin-1").partition(":")
                if not sep:
                    raise ValueError(f"bad header field {line!r}")
                fields[name.strip().lower()] = value.strip()
            line = self._rfile.readline(budget + 1)
        length = int(fields.get("content-length", "0"))
        if not 0 <= length <= MAX_BODY_BYTES:
            raise ValueError(f"Content-Length {length} out of bounds")
        raw = self._rfile.read(length)
        if len(raw) != length:
            raise ValueError("connection ended inside a body")
        try:
            body = json.loads(raw.decode("utf-8")) if raw else {}
        except ValueError:
            body = None
        if not isinstance(body, dict):  # the server's fault; keep the connection
            body = {"raw": raw.decode("utf-8", "replace")}
        return start.decode("latin-1").strip(), fields, body


def split_addrs(addr):
    """A list of host:port from a list or a comma-separated string."""
    parts = addr if isinstance(addr, (list, tuple)) else addr.split(",")
    addrs = []
    for a in parts:
        a = a.strip()
        if a and a not in addrs:
            addrs.append(a)
    if not addrs:
        raise ValueError(f"no address in {addr!r}")
    return addrs


def retry_after(body, fields):
    """The seconds a 503 asks to wait: the body's retryAfter, else Retry-After."""
    for value in (body.get("retryAfter"), fields.get("retry-after")):
        try:
            if value is not None and float(value) > 0:
                return float(value)
        except ValueError:
            pass
    return None


# Checkin refusals a camper coming back waits out; any other ends it.
RETRYABLE_CHECKIN = {"camp-id-in-use", "shutting-down", "too-many-connections",
                     "rate-limited", "storage-full", "internal", "unavailable"}


class Camper:
    """A camper that stays checked in across the loss of its node
    (docs/PROTOCOL.md §11).

    It knows the camp's addresses: those given, then those the checkin's
    "nodes" list. When the connection ends, come_back connects to the next
    one (round and round, waiting 0.5 s, then twice as long each time up to
    30 s), checks in again as the same camper, waiting while the camp still
    holds the campId for the lost node (409 camp-id-in-use), and catches up
    with history after the last offset it saw, in its epoch. client is the
    current connection.
    """

    def __init__(self, addrs, camp_id, token=None, tls=False, ca=None):
        self.given = split_addrs(addrs)
        self.learned, self.names = [], {}
        self.camp_id, self.token, self.tls, self.ca = camp_id, token, tls, ca
        self.client, self.addr = None, None
        self.group, self.offset, self.epoch = None, 0, None

    def addrs(self):
        return self.given + [a for a in self.learned if a not in self.given]

    def start(self):
        """Connects to the first address that answers and checks in; returns
        the checkin's body. A refusal raises CampbusError."""
        self.client = Client.connect(self.given, tls=self.tls, ca=self.ca)
        self.addr = self.client.addr
        body = self.client.checkin(self.camp_id, self.token)
        self._checked_in(body)
        return body

    def _checked_in(self, body):
        self.group, self.offset = body.get("group"), body.get("offset", 0)
        self.epoch = body.get("epoch")
        for n in body.get("nodes") or []:
            tcp = n.get("tcp")
            if tcp:
                self.names[tcp] = n.get("name", "")
        learned = [n["tcp"] for n in body.get("nodes") or [] if n.get("tcp")]
        if learned:
            self.learned = learned

    def saw(self, event):
        """Notes an event shown, to catch up from after it."""
        if event.get("group") == self.group and event.get("offset", 0) > self.offset:
            self.offset = event["offset"]
            self.epoch = event.get("epoch", self.epoch)

    def describe(self, addr):
        name = self.names.get(addr)
        return f"{name} ({addr})" if name else addr

    def come_back(self, backoff_first=0.5, backoff_max=30):
        """Connects again after the connection ended, and returns the events
        missed meanwhile. It says each step on stderr."""
        lost, began = self.addr, time.monotonic()
        before = (self.group, self.offset, self.epoch)
        if self.client is not None:
            self.client.close()
        addrs = self.addrs()
        at = addrs.index(lost) if lost in addrs else -1
        stay, told = False, False
        for attempt in range(1 << 30):
            pause = min(backoff_max, backoff_first * 2 ** min(attempt, 2 if stay else 16))
            time.sleep(pause / 2 + random.random() * pause / 2)
            if not stay:
                at = (at + 1) % len(addrs)
            addr = addrs[at]
            try:
                c = Client.connect(addr, tls=self.tls, ca=self.ca)
            except OSError as e:
                say(f"cannot reach {addr} ({e}); trying again")
                stay = False
                continue
            try:
                body = c.checkin(self.camp_id, self.token)
            except CampbusError as e:
                c.close()
                if e.code not in RETRYABLE_CHECKIN:
                    raise
                stay = e.code == "camp-id-in-use"
                if not stay or not told:
                    wait = f"; waiting for the camp to release {self.camp_id}" if stay else ""
                    say(f"checkin as {self.camp_id} at {addr} refused for now: {e.message}{wait}; trying again")
                told = told or stay
                continue
            except ConnectionEnded:
                c.close()
                continue
            self.client, self.addr = c, addr
            self._checked_in(body)
            missed, restarted = self._catch_up(before, body)
            where = "" if addr == lost else " to " + self.describe(addr)
            text = f"reconnected{where} after {time.monotonic() - began:.1f}s; {len(missed)} missed events"
            if restarted:
                text += "; the camp's log was started anew, so the events before it are gone"
            say(text)
            return missed
        return []

    def _catch_up(self, before, body):
        """The events missed since before (group, offset, epoch), and whether
        the camp's log was started anew meanwhile (409 epoch-changed)."""
        group, offset, epoch = before
        if body.get("group") != group or not offset:
            return [], False
        ask = {"after": offset, "limit": 1000}
        if epoch:
            ask["epoch"] = epoch
        restarted = False
        try:
            history = self.client.request("history", ask)
        except CampbusError as e:
            if e.code != "epoch-changed":
                raise
            restarted, offset = True, 0
            history = self.client.history()  # the latest events of the new log
        missed = []
        for event in history.get("events", []):
            if event.get("type") != "direct" and event.get("offset", 0) <= offset:
                continue
            if self._own(event):
                continue
            self.saw(event)
            missed.append(event)
        if history.get("epoch"):
            self.epoch = history["epoch"]
        return missed, restarted

    def _own(self, event):
        me, kind = self.camp_id, event.get("type")
        if kind in ("join", "checkout"):
            return event.get("campId") == me
        if kind in ("message", "direct"):
            return event.get("from") == me
        if kind == "peersession":
            return event.get("host") == me
        if kind == "complete":
            return event.get("host") == me and event.get("reason") == "complete"
        return False


# --- the demo scenario (--script) ---


def run_script(c, camp_id, wait, token=None):
    """Runs a fixed scenario; another camper must join the group meanwhile."""

    def emit(obj):
        print(json.dumps(obj), flush=True)  # ASCII-only: safe on any stdout encoding

    def step(name, call, *args):
        try:
            emit({"step": name, "status": 200, "body": call(*args)})
            return True
        except CampbusError as e:
            emit({"step": name, "status": e.status, "code": e.code, "error": e.message})
            return False

    def await_event(*types):
        """Prints events until one of types came; returns it (None on timeout)."""
        while True:
            event = c.next_event(timeout=wait)
            if event is None:
                emit({"step": "wait", "want": list(types), "error": "no such event in time"})
                return None
            emit({"event": event})
            if event["type"] in types:
                return event

    step("mission-before-checkin", c.mission, 4)  # 403 not-checked-in
    step("checkin-bad-id", c.checkin, "nobody")  # 400 bad-camp-id
    if not step("checkin", c.checkin, camp_id, token):
        return EXIT_CHECKIN_REFUSED
    step("mission", c.mission, 4)
    step("mission-bad-day", c.mission, 0)  # 400 bad-day
    print(f"waiting up to {wait}s for another camper to join...", file=sys.stderr)
    joined = await_event("join")
    if joined is None:
        return 1
    step("peersession", c.peersession, 2)
    step("message", c.message, "hello from Python 🐍")
    step("direct", c.direct, joined["campId"], "hi, this is Python")
    got = set()
    while got != {"message", "direct"}:  # the other camper's turn
        event = await_event("message", "direct")
        if event is None:
            return 1
        got.add(event["type"])
    step("message-over-limit", c.message, "one too many")  # 409 limit-reached
    step("history", c.history, 10)
    step("checkout", c.checkout)
    event = c.next_event(timeout=wait)
    while event is not None:  # the server closes the connection after checkout
        emit({"event": event})
        event = c.next_event(timeout=wait)
    emit({"step": "closed"})
    return 0


# --- interactive use ---


def run_interactive(camper):
    """Checks in, then reads commands such as `message hi` from stdin and
    prints events as they come. When the connection ends it comes back by
    itself at the next of the camp's nodes (see Camper)."""
    leaving = threading.Event()
    back = threading.Event()  # set while checked in on the current connection

    def show_events():
        while True:
            event = camper.client.next_event()
            if event is None:
                if leaving.is_set():
                    print("* connection closed", flush=True)
                    return
                back.clear()
                say(f"the connection to {camper.addr} ended; reconnecting")
                try:
                    missed = camper.come_back()
                except (CampbusError, ConnectionEnded, OSError) as e:
                    say(f"error: cannot check in again as {camper.camp_id}: {e}")
                    sys.stdout.flush()
                    os._exit(EXIT_CHECKIN_REFUSED if isinstance(e, CampbusError) else 1)
                for m in missed:
                    print("* (missed)", json.dumps(m, ensure_ascii=False), flush=True)
                back.set()
                continue
            camper.saw(event)
            print("*", json.dumps(event, ensure_ascii=False), flush=True)

    try:
        print(json.dumps(camper.start(), ensure_ascii=False))
    except OSError as e:
        say(f"cannot connect to {','.join(camper.given)}: {e}")
        return 1
    except CampbusError as e:
        say(f"error: {e} (the checkin as {camper.camp_id} was refused)")
        return EXIT_CHECKIN_REFUSED
    back.set()
    threading.Thread(target=show_events, daemon=True).start()
    print("commands: mission N | peersession N | complete | message TEXT |")
    print("          direct CAMPID TEXT | history [N] | checkout")
    for line in sys.stdin:
        command, _, rest = line.strip().partition(" ")
        back.wait()
        c = camper.client
        try:
            if command == "mission":
                result = c.mission(int(rest))
            elif command == "peersession":
                result = c.peersession(int(rest))
            elif command == "complete":
                result = c.complete()
            elif command == "message":
                result = c.message(rest)
            elif command == "direct":
                to, _, text = rest.partition(" ")
                result = c.direct(to, text)
            elif command == "history":
                result = c.history(int(rest) if rest else None)
            elif command == "checkout":
                leaving.set()
                print(json.dumps(c.checkout()))
                return 0
            else:
                print(f"unknown command {command!r}")
                continue
            print(json.dumps(result, ensure_ascii=False))
        except (CampbusError, ValueError) as e:
            print("error:", e)
        except ConnectionEnded as e:
            print(f"error: {e} (it may or may not have taken effect)")
    leaving.set()
    return 0


def main():
    p = argparse.ArgumentParser(description="A campbus client in plain Python.")
    p.add_argument("--addr", default="127.0.0.1:2022",
                   help="host:port of the server, or several, comma-separated: the nodes of one camp")
    p.add_argument("--camp-id", required=True, help="campId to check in with, e.g. J004")
    p.add_argument("--script", action="store_true", help="run the demo scenario, print JSON lines")
    p.add_argument("--wait", type=float, default=60, help="seconds to wait for each event in --script")
    p.add_argument("--token", default=os.environ.get("CAMPBUS_TOKEN"),
                   help="your token, for a camp that needs one (default: $CAMPBUS_TOKEN, which keeps it out of ps)")
    p.add_argument("--tls", action="store_true", help="connect over TLS, checking the server's certificate")
    p.add_argument("--ca", help="PEM file of the CA(s) that signed the server's certificate (with --tls)")
    args = p.parse_args()
    if args.ca and not args.tls:
        p.error("--ca checks a TLS server's certificate: add --tls")
    try:
        addrs = split_addrs(args.addr)
    except ValueError as e:
        p.error(f"--addr: {e}")
    if not args.script:
        camper = Camper(addrs, args.camp_id, args.token, tls=args.tls, ca=args.ca)
        try:
            return run_interactive(camper)
        except (CampbusError, ConnectionEnded, OSError) as e:  # OSError: TimeoutError too
            print(f"error: {e}", file=sys.stderr)
            return 1
        finally:
            if camper.client is not None:
                camper.client.close()
    try:
        c = Client.connect(addrs, tls=args.tls, ca=args.ca)
    except OSError as e:
        print(f"cannot connect to {args.addr}: {e}", file=sys.stderr)
        return 1
    try:
        return run_script(c, args.camp_id, args.wait, args.token)
    except (CampbusError, ConnectionEnded, OSError) as e:  # OSError: TimeoutError too
        print(f"error: {e}", file=sys.stderr)
        return 1
    finally:
        c.close()


if __name__ == "__main__":
    sys.exit(main())
