#!/usr/bin/env python3
"""A campbus client in Python, using only the standard library.

It speaks the wire protocol of docs/PROTOCOL.md: HTTP/1.1 message syntax on
one long-lived TCP connection, JSON bodies. The server answers requests in
order with `HTTP/1.1 <status> <reason>` frames, and pushes events
(`EVENT /<type> HTTP/1.1`) at any moment between them. So one background
thread reads every frame: a response goes to the oldest request waiting for
one (first in, first out), an event goes on a queue.

As a library:

    c = Client.connect("127.0.0.1:2022")
    c.checkin("J004")                  # {'campId': 'J004', 'group': 1, ...}
    c.checkin("J004", token)           # a camp with a secret needs the camper's token
    c.mission(4)                       # {'day': 4, 'keywords': 'Heap, Stack'}
    event = c.next_event(timeout=5)    # {'type': 'join', ...} or None
    c.checkout()

A refused request raises CampbusError (status, code, message).

From the command line:

    python3 campbus_client.py --camp-id J004            # type commands
    python3 campbus_client.py --camp-id J004 --script   # the demo scenario
    CAMPBUS_TOKEN=eyJ... python3 campbus_client.py --camp-id J004   # or --token
    python3 campbus_client.py --camp-id J004 --tls --ca ca.pem   # over TLS

The demo prints one JSON object per line: each request with its response,
and each event it waited for.
"""

import argparse
import collections
import json
import os
import queue
import socket
import ssl
import sys
import threading

MAX_HEADER_BYTES = 4096  # start line + fields, as the server's default
MAX_BODY_BYTES = 4 << 20  # a history response can hold 1000 events


class CampbusError(Exception):
    """A response whose status is not 200: {"error": ..., "code": ...}."""

    def __init__(self, status, code, message):
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message


class ConnectionEnded(Exception):
    """The connection ended before the response came."""


class Client:
    """One connection to a campbus server. Requests may come from any thread."""

    def __init__(self, sock):
        self._sock = sock
        self._rfile = sock.makefile("rb")
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
        or the system's, for the host of addr."""
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
        """Sends POST /<command> and returns the 200 body as a dict."""
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
            self._sock.sendall(head.encode("ascii") + payload)
        try:
            status, body = slot.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError(f"{command}: no response in {timeout}s") from None
        if status is None:
            raise ConnectionEnded(f"{command}: {body}")
        if status != 200:
            raise CampbusError(status, body.get("code", ""), body.get("error", ""))
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
            slot.put((None, self._closed_reason))
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
        slot.put((status, body))

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
        return 1
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


def run_interactive(c, camp_id, token=None):
    """Reads commands such as `message hi` from stdin; prints events as they come."""

    def show_events():
        while True:
            event = c.next_event()
            if event is None:
                print("* connection closed", flush=True)
                return
            print("*", json.dumps(event, ensure_ascii=False), flush=True)

    threading.Thread(target=show_events, daemon=True).start()
    print(json.dumps(c.checkin(camp_id, token), ensure_ascii=False))
    print("commands: mission N | peersession N | complete | message TEXT |")
    print("          direct CAMPID TEXT | history [N] | checkout")
    for line in sys.stdin:
        command, _, rest = line.strip().partition(" ")
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
                print(json.dumps(c.checkout()))
                return 0
            else:
                print(f"unknown command {command!r}")
                continue
            print(json.dumps(result, ensure_ascii=False))
        except (CampbusError, ValueError) as e:
            print("error:", e)
    return 0


def main():
    p = argparse.ArgumentParser(description="A campbus client in plain Python.")
    p.add_argument("--addr", default="127.0.0.1:2022", help="host:port of the server")
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
        c = Client.connect(args.addr, tls=args.tls, ca=args.ca)
    except OSError as e:
        print(f"cannot connect to {args.addr}: {e}", file=sys.stderr)
        return 1
    try:
        if args.script:
            return run_script(c, args.camp_id, args.wait, args.token)
        return run_interactive(c, args.camp_id, args.token)
    except (CampbusError, ConnectionEnded, OSError) as e:  # OSError: TimeoutError too
        print(f"error: {e}", file=sys.stderr)
        return 1
    finally:
        c.close()


if __name__ == "__main__":
    sys.exit(main())
