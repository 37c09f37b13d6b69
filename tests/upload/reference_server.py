#!/usr/bin/env python3
"""An independent BITS upload server (bits-spec.md section 6), standard library only.

A second reading of the protocol for testing BITS upload *clients* (bitsd): it shares no code
with bits-upload-server. http.server dispatches the BITS_POST method to do_BITS_POST.

* Packets: Ping, Create-Session (protocol negotiation), Fragment (Content-Range, overlap
  writes only new bytes, gap -> 416 with BITS-Received-Content-Range), Close-Session,
  Cancel-Session; unknown sessions -> 500 + BG_E_SESSION_NOT_FOUND.
* Files are stored under --root at the URL's path when complete (never using Content-Name);
  sessions are kept in --state (one JSON file each) so the server can be killed and restarted.
* --reply: upload-reply mode. The reply to an upload is b"REPLY <sha256 hex> <length>",
  served at /replies/<session>; the last fragment's Ack carries BITS-Reply-URL.
* Faults for client tests, set at start (--faults JSON) or at run time by POSTing a JSON
  object to /control (merged into the current faults):
    max_fragment     fragments larger than this get 413 (client must shrink)
    max_upload       totals larger than this get 413 + BG_E_TOO_LARGE
    lose_sessions    N: the next N Fragments answer BG_E_SESSION_NOT_FOUND (session dropped)
    fail_packets     {"Fragment": [503, 2]}: answer that packet type with the status, N times
    error_header     "BITS-Error" to use [MC-BUP]'s header name instead of BITS-Error-Code
    error_body       text (each character one byte, U+0000..U+00FF) as the body of the
                     fail_packets answers
    auth             "user:password": require HTTP Basic auth (401 with a challenge)
    host_id          BITS-Host-Id (and BITS-Host-Id-Fallback-Timeout from host_id_timeout);
                     host_id_once: only in the first Create-Session's Ack
    drop_after       N: after N more Fragment bytes are read, close the connection unanswered
                     (with drop_at: only in the Fragment that starts at that offset)
    no_reply_url     true: upload-reply Acks lack BITS-Reply-URL
    rewind           N: the next Fragment that starts beyond byte N finds the session rewound
                     to N bytes received (as if the server lost the rest): it gets 416
    stall_acks       [status, N]: the next N Fragments are answered with that status (200 or
                     416) and BITS-Received-Content-Range = the fragment's first byte, storing
                     nothing (a server that never advances)
    app_error        [status, "0x8007000D"]: the Fragment that would complete the upload gets
                     that status and HRESULT with BITS-Error-Context 0x7 (the server
                     application failed), storing nothing
    reply_hex        upload-reply: the reply is exactly these bytes (hex)
    reply_size       upload-reply: the reply is padded with a byte pattern to N bytes
    fail_reply_gets  N: the next N GETs of a reply URL are answered 503
* Every request is logged as one JSON line to --log: packet, session, range, bytes written,
  and the Host header it was sent with.

Usage: reference_server.py --root DIR --state DIR --log FILE [--reply] [--faults JSON]
       (prints "listening on 127.0.0.1:PORT")
"""

import argparse
import base64
import hashlib
import http.server
import json
import os
import re
import sys
import threading
import urllib.parse
import uuid

PROTOCOL = "{7df0354d-249b-430f-820d-3d2a9bef4931}"
E_INVALIDARG = 0x80070057
BG_E_SESSION_NOT_FOUND = 0x8020001F
BG_E_TOO_LARGE = 0x80200020
RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+)$")


class State:
    lock = threading.Lock()
    root = None
    state_dir = None
    log_path = None
    host_id_announced = False
    reply = False
    faults = {}

    @classmethod
    def session_path(cls, sid):
        return os.path.join(cls.state_dir, sid.strip("{}") + ".json")

    @classmethod
    def load(cls, sid):
        if not re.fullmatch(r"\{[0-9a-fA-F-]{36}\}", sid or ""):
            return None
        try:
            with open(cls.session_path(sid)) as f:
                return json.load(f)
        except FileNotFoundError:
            return None

    @classmethod
    def save(cls, session):
        path = cls.session_path(session["id"])
        with open(path + ".tmp", "w") as f:
            json.dump(session, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(path + ".tmp", path)

    @classmethod
    def drop(cls, session):
        for path in (cls.session_path(session["id"]), session["data"], session["data"] + ".reply"):
            if os.path.exists(path):
                os.unlink(path)

    @classmethod
    def take_fault(cls, name):
        """Decrements a counted fault; True while it lasts."""
        count = cls.faults.get(name, 0)
        if count:
            cls.faults[name] = count - 1
            return True
        return False


def safe_path(url_path):
    parts = [urllib.parse.unquote(p) for p in url_path.split("/") if p]
    if not parts or any(p in (".", "..") or p.startswith(".") or "/" in p or "\0" in p
                        for p in parts):
        return None
    return os.path.join(State.root, *parts)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def record(self, **entry):
        entry["host"] = self.headers.get("Host", "")
        with State.lock, open(State.log_path, "a") as log:
            log.write(json.dumps(entry) + "\n")

    def ack(self, status, headers=None, error=None, context=0x5, body=b""):
        self.send_response(status)
        self.send_header("BITS-Packet-Type", "Ack")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if error is not None:
            self.send_header(State.faults.get("error_header", "BITS-Error-Code"),
                             "0x%08X" % error)
            self.send_header("BITS-Error-Context", "0x%X" % context)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def read_body(self):
        length = int(self.headers.get("Content-Length", "0"))
        return self.rfile.read(length) if length else b""

    def authorized(self):
        expected = State.faults.get("auth")
        if not expected:
            return True
        given = self.headers.get("Authorization", "")
        if given == "Basic " + base64.b64encode(expected.encode()).decode():
            return True
        self.read_body()
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="bits"')
        self.send_header("Content-Length", "0")
        self.end_headers()
        return False

    def do_POST(self):
        if self.path != "/control":
            self.send_error(405)
            return
        update = json.loads(self.read_body() or b"{}")
        with State.lock:
            State.faults.update(update)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self):
        with State.lock:
            refused = State.take_fault("fail_reply_gets")
        if refused:
            self.send_error(503)
            return
        match = re.fullmatch(r"/replies/(\{[0-9a-fA-F-]{36}\})", urllib.parse.unquote(self.path))
        session = State.load(match.group(1)) if match else None
        reply_path = session["data"] + ".reply" if session else None
        if not reply_path or not os.path.exists(reply_path):
            self.send_error(404)
            return
        with open(reply_path, "rb") as f:
            data = f.read()
        status, first, last = 200, 0, len(data) - 1
        requested = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
        if requested:
            first = int(requested.group(1))
            last = min(int(requested.group(2) or len(data) - 1), len(data) - 1)
            if first >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", "bytes */%d" % len(data))
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            status = 206
        self.send_response(status)
        if status == 206:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (first, last, len(data)))
        self.send_header("Content-Length", str(last - first + 1))
        self.send_header("ETag", '"%s"' % hashlib.sha256(data).hexdigest()[:16])
        self.end_headers()
        self.wfile.write(data[first:last + 1])

    def do_BITS_POST(self):
        if not self.authorized():
            return
        packet = (self.headers.get("BITS-Packet-Type") or "").lower()
        sid = self.headers.get("BITS-Session-Id")
        failures = State.faults.get("fail_packets", {})
        for name, (status, count) in list(failures.items()):
            if name.lower() == packet and count > 0:
                failures[name] = [status, count - 1]
                self.read_body()
                self.record(packet=packet, session=sid, injected=status)
                self.ack(status, {"BITS-Session-Id": sid} if sid else None,
                         0x80190000 + status,
                         body=State.faults.get("error_body", "").encode("latin-1"))
                return
        handler = {"ping": self.ping, "create-session": self.create_session,
                   "fragment": self.fragment, "close-session": self.end_session,
                   "cancel-session": self.end_session}.get(packet)
        if handler is None:
            self.read_body()
            self.ack(400, error=E_INVALIDARG)
            return
        handler(packet, sid)

    def ping(self, packet, sid):
        self.read_body()
        self.record(packet=packet)
        self.ack(200)

    def create_session(self, packet, sid):
        self.read_body()
        offered = re.split(r"[\s,]+", self.headers.get("BITS-Supported-Protocols", "").strip())
        target = safe_path(urllib.parse.urlsplit(self.path).path)
        if PROTOCOL not in [p.lower() for p in offered] or target is None:
            self.record(packet=packet, refused=True)
            self.ack(400, error=E_INVALIDARG)
            return
        session = {"id": "{%s}" % uuid.uuid4(), "path": urllib.parse.urlsplit(self.path).path,
                   "target": target, "received": 0, "total": None, "done": False,
                   "data": os.path.join(State.state_dir, "%s.data" % uuid.uuid4().hex)}
        open(session["data"], "wb").close()
        with State.lock:
            State.save(session)
        headers = {"BITS-Protocol": PROTOCOL, "BITS-Session-Id": session["id"],
                   "Accept-Encoding": "Identity"}
        if State.faults.get("host_id") and not (State.faults.get("host_id_once") and
                                                State.host_id_announced):
            State.host_id_announced = True
            headers["BITS-Host-Id"] = State.faults["host_id"]
            if State.faults.get("host_id_timeout") is not None:
                headers["BITS-Host-Id-Fallback-Timeout"] = str(State.faults["host_id_timeout"])
        self.record(packet=packet, session=session["id"], content_name=self.headers.get(
            "Content-Name"))
        self.ack(200, headers)

    def fragment(self, packet, sid):
        length = int(self.headers.get("Content-Length", "0"))
        with State.lock:
            session = State.load(sid)
            lost = session is not None and State.take_fault("lose_sessions")
            if lost:
                State.drop(session)
        if session is None or lost or session["path"] != urllib.parse.urlsplit(self.path).path:
            self.rfile.read(length)
            self.record(packet=packet, session=sid, not_found=True)
            self.ack(500, error=BG_E_SESSION_NOT_FOUND)
            return
        headers = {"BITS-Session-Id": sid}
        match = RANGE.match(self.headers.get("Content-Range", ""))
        first, last, total = (int(g) for g in match.groups()) if match else (0, -1, 0)
        if (not match or last < first or last >= total or length != last - first + 1
                or (session["total"] is not None and session["total"] != total)):
            self.rfile.read(length)
            headers["BITS-Received-Content-Range"] = str(session["received"])
            self.ack(400, headers, E_INVALIDARG)
            return
        headers["BITS-Received-Content-Range"] = str(session["received"])
        if State.faults.get("max_upload") is not None and total > State.faults["max_upload"]:
            self.rfile.read(length)
            self.record(packet=packet, session=sid, too_large=True)
            self.ack(413, headers, BG_E_TOO_LARGE)
            return
        if State.faults.get("max_fragment") is not None and length > State.faults["max_fragment"]:
            self.rfile.read(length)
            self.record(packet=packet, session=sid, range=[first, last], fragment_too_large=True)
            self.ack(413, headers, 0x80190000 + 413)
            return
        stall = State.faults.get("stall_acks")
        if stall and stall[1] > 0:
            stall[1] -= 1
            self.rfile.read(length)
            self.record(packet=packet, session=sid, range=[first, last], stalled=stall[0])
            headers["BITS-Received-Content-Range"] = str(first)
            self.ack(stall[0], headers)
            return
        if State.faults.get("rewind") is not None and first > State.faults["rewind"]:
            with State.lock:
                session = self.rewind(State.load(sid) or session, State.faults.pop("rewind"))
            headers["BITS-Received-Content-Range"] = str(session["received"])
        if State.faults.get("app_error") and last + 1 == total and first <= session["received"]:
            status, code = State.faults["app_error"]
            self.rfile.read(length)
            self.record(packet=packet, session=sid, range=[first, last], app_error=status)
            self.ack(status, headers, int(code, 16), context=0x7)
            return
        if first > session["received"]:
            self.rfile.read(length)
            self.record(packet=packet, session=sid, range=[first, last], gap=True)
            self.ack(416, headers)
            return
        drop_after = State.faults.get("drop_after")
        if drop_after is not None and State.faults.get("drop_at", first) == first:
            State.faults.pop("drop_after")
            self.rfile.read(min(drop_after, length))
            self.record(packet=packet, session=sid, range=[first, last], dropped=True)
            self.close_connection = True
            self.connection.shutdown(2)
            return
        body = self.rfile.read(length)
        if len(body) != length:
            # The client went away mid-body: nothing of this fragment counts (its bytes would
            # be acknowledged without being on disk, leaving a hole in the file).
            self.record(packet=packet, session=sid, range=[first, last], truncated=len(body))
            self.close_connection = True
            return
        with State.lock:
            session = State.load(sid) or session
            new_from = session["received"]
            written = 0
            if last + 1 > new_from:
                with open(session["data"], "r+b") as f:
                    f.seek(new_from)
                    f.write(body[new_from - first:])
                    f.flush()
                    os.fsync(f.fileno())
                written = last + 1 - new_from
                session["received"] = last + 1
            session["total"] = total
            complete = session["received"] == total
            if complete and not session["done"]:
                self.commit(session)
            State.save(session)
        self.record(packet=packet, session=sid, range=[first, last], written=written)
        headers["BITS-Received-Content-Range"] = str(session["received"])
        if complete and State.reply and not State.faults.get("no_reply_url"):
            host = self.headers.get("Host", "127.0.0.1")
            headers["BITS-Reply-URL"] = "http://%s/replies/%s" % (host, sid)
        self.ack(200, headers)

    @staticmethod
    def rewind(session, received):
        """Forgets what the session received past `received` (the rewind fault)."""
        session["received"] = min(session["received"], received)
        with open(session["data"], "r+b") as f:
            f.truncate(session["received"])
        State.save(session)
        return session

    @staticmethod
    def reply_for(data):
        if State.faults.get("reply_hex") is not None:
            return bytes.fromhex(State.faults["reply_hex"])
        reply = (b"REPLY " + hashlib.sha256(data).hexdigest().encode() + b" "
                 + str(len(data)).encode())
        size = State.faults.get("reply_size")
        if size is not None:
            pattern = bytes(range(256))
            filler = pattern * ((size - len(reply)) // len(pattern) + 1)
            reply = (reply + filler)[:size]
        return reply

    def commit(self, session):
        with open(session["data"], "rb") as f:
            data = f.read()
        if State.reply:
            with open(session["data"] + ".reply", "wb") as f:
                f.write(self.reply_for(data))
        os.makedirs(os.path.dirname(session["target"]), exist_ok=True)
        with open(session["target"] + ".part", "wb") as f:
            f.write(data)
        os.replace(session["target"] + ".part", session["target"])
        session["done"] = True

    def end_session(self, packet, sid):
        self.read_body()
        with State.lock:
            session = State.load(sid)
            if session is not None:
                State.drop(session)
        self.record(packet=packet, session=sid, found=session is not None)
        if session is None:
            self.ack(500, error=BG_E_SESSION_NOT_FOUND)
        else:
            self.ack(200, {"BITS-Session-Id": sid})


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", required=True)
    parser.add_argument("--state", required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--reply", action="store_true")
    parser.add_argument("--faults", default="{}")
    args = parser.parse_args()
    State.root = os.path.abspath(args.root)
    State.state_dir = os.path.abspath(args.state)
    os.makedirs(State.state_dir, exist_ok=True)
    State.log_path = args.log
    State.reply = args.reply
    State.faults = json.loads(args.faults)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print("listening on 127.0.0.1:%d" % server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
