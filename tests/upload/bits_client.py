#!/usr/bin/env python3
"""An independent BITS upload client (bits-spec.md section 6), standard library only.

Written from the protocol text, sharing nothing with the C++ server, so the server is tested
against a second reading of the spec. Two layers:

* BitsConnection: one HTTP/1.1 connection (http.client) that sends single packets
  (ping, create_session, fragment, close_session, cancel_session) and returns an Ack.
* upload(): the client state machine of section 6.4 -- continue from
  BITS-Received-Content-Range after 200 or 416, shrink fragments on 413 (unless the error is
  BG_E_TOO_LARGE), start a new session on BG_E_SESSION_NOT_FOUND, fail on an upload-reply
  without BITS-Reply-URL.

Command line: bits_client.py URL FILE [--fragment-size N] [--reply FILE] [--insecure]
"""

import argparse
import http.client
import os
import ssl
import sys
import urllib.parse

UPLOAD_PROTOCOL = "{7df0354d-249b-430f-820d-3d2a9bef4931}"
E_INVALIDARG = 0x80070057
BG_E_SESSION_NOT_FOUND = 0x8020001F
BG_E_TOO_LARGE = 0x80200020


class Ack:
    """A server response: HTTP status, headers (case-insensitive), body."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # http.client.HTTPMessage: case-insensitive get()
        self.body = body

    def header(self, name):
        return self.headers.get(name)

    @property
    def is_ack(self):
        value = self.header("BITS-Packet-Type")
        return value is not None and value.lower() == "ack"

    @property
    def session_id(self):
        return self.header("BITS-Session-Id")

    @property
    def received(self):
        value = self.header("BITS-Received-Content-Range")
        return None if value is None else int(value)

    @property
    def error_code(self):
        # Servers send BITS-Error-Code; [MC-BUP] names it BITS-Error. Accept both.
        value = self.header("BITS-Error-Code") or self.header("BITS-Error")
        return None if value is None else int(value, 16)

    @property
    def error_context(self):
        value = self.header("BITS-Error-Context")
        return None if value is None else int(value, 16)

    @property
    def reply_url(self):
        return self.header("BITS-Reply-URL")

    def __repr__(self):
        return "Ack(%d, %s)" % (self.status, dict(self.headers.items()))


class UploadError(Exception):
    def __init__(self, message, ack=None):
        super().__init__(message)
        self.ack = ack


class BitsConnection:
    """One keep-alive connection to the URL's host; reconnects when the server closed it.
    source_address: the local address to connect from (e.g. "127.0.0.2"), else any."""

    def __init__(self, url, ssl_context=None, timeout=60, source_address=None):
        self.url = url
        parts = urllib.parse.urlsplit(url)
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = parts.port
        self.target = parts.path + ("?" + parts.query if parts.query else "")
        self.ssl_context = ssl_context
        self.timeout = timeout
        self.source = (source_address, 0) if source_address else None
        self.conn = None

    def _connect(self):
        if self.scheme == "https":
            context = self.ssl_context or ssl.create_default_context()
            self.conn = http.client.HTTPSConnection(
                self.host, self.port, timeout=self.timeout, source_address=self.source,
                context=context)
        else:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout,
                                                   source_address=self.source)

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def send(self, packet_type, headers=None, body=b"", target=None):
        """Sends one BITS_POST packet and returns its Ack (any HTTP response)."""
        all_headers = {"BITS-Packet-Type": packet_type, "Content-Length": str(len(body))}
        all_headers.update(headers or {})
        for attempt in range(2):
            if self.conn is None:
                self._connect()
            try:
                self.conn.request("BITS_POST", target or self.target, body=body,
                                  headers=all_headers)
                response = self.conn.getresponse()
                data = response.read()
                if response.will_close:
                    self.close()
                return Ack(response.status, response.headers, data)
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # A kept-alive connection the server closed meanwhile: one fresh attempt.
                self.close()
                if attempt == 1:
                    raise
        raise AssertionError("unreachable")

    def ping(self):
        return self.send("Ping")

    def create_session(self, protocols=(UPLOAD_PROTOCOL,), content_name=None, separator=" "):
        headers = {"BITS-Supported-Protocols": separator.join(protocols)}
        if content_name is not None:
            headers["Content-Name"] = content_name
        return self.send("Create-Session", headers)

    def fragment(self, session_id, first, data, total, content_name=None):
        last = first + len(data) - 1
        headers = {"BITS-Session-Id": session_id,
                   "Content-Range": "bytes %d-%d/%d" % (first, last, total)}
        if content_name is not None:
            headers["Content-Name"] = content_name
        return self.send("Fragment", headers, data)

    def close_session(self, session_id):
        return self.send("Close-Session", {"BITS-Session-Id": session_id})

    def cancel_session(self, session_id):
        return self.send("Cancel-Session", {"BITS-Session-Id": session_id})


def _end_session(conn, kind, session_id, attempts=3):
    """Close/Cancel: resend on 5xx unless BG_E_SESSION_NOT_FOUND; never on 1xx-4xx."""
    ack = None
    for _ in range(attempts):
        ack = conn.send(kind, {"BITS-Session-Id": session_id})
        if ack.status < 500 or ack.error_code == BG_E_SESSION_NOT_FOUND:
            break
    return ack


def download(url, ssl_context=None, byte_range=None):
    """GET a reply URL (optionally 'bytes=a-b'); returns (status, headers, body)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "https":
        conn = http.client.HTTPSConnection(parts.hostname, parts.port, timeout=60,
                                           context=ssl_context or ssl.create_default_context())
    else:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        headers = {"Range": byte_range} if byte_range else {}
        conn.request("GET", parts.path + ("?" + parts.query if parts.query else ""),
                     headers=headers)
        response = conn.getresponse()
        return response.status, response.headers, response.read()
    finally:
        conn.close()


class UploadResult:
    def __init__(self):
        self.session_ids = []  # every session the upload used, in order
        self.acks = []         # every Ack received, in order
        self.reply_url = None
        self.fragment_sizes = []


def upload(url, data, fragment_size=1 << 20, reply=False, ssl_context=None, close=True,
           conn=None, content_name=None, max_sessions=3, stop_after=None):
    """Uploads `data` (bytes) to `url` following the client rules of section 6.4.

    reply: the job is upload-reply; the final Ack must carry BITS-Reply-URL.
    close: send Close-Session at the end (for upload-reply only after the reply was fetched,
    which the caller does: pass close=False and call close_session later).
    stop_after: stop (return) after this many Fragment packets, leaving the session open.
    """
    own = conn is None
    conn = conn or BitsConnection(url, ssl_context)
    result = UploadResult()
    total = len(data)
    try:
        ack = conn.ping()
        result.acks.append(ack)
        if ack.status != 200:
            raise UploadError("ping failed", ack)
        for _ in range(max_sessions):
            ack = conn.create_session(content_name=content_name)
            result.acks.append(ack)
            if ack.status not in (200, 201) or not ack.session_id:
                raise UploadError("Create-Session failed: %r" % ack, ack)
            if (ack.header("BITS-Protocol") or "").lower() != UPLOAD_PROTOCOL:
                raise UploadError("server chose an unknown protocol", ack)
            session_id = ack.session_id
            result.session_ids.append(session_id)
            outcome = _send_fragments(conn, session_id, data, total, fragment_size, result,
                                      content_name, stop_after)
            if outcome == "restart":
                continue
            if outcome == "stopped":
                return result
            break
        else:
            raise UploadError("the server lost the session too often")
        if reply and not result.reply_url:
            raise UploadError("upload-reply: final Ack without BITS-Reply-URL", result.acks[-1])
        if close:
            ack = _end_session(conn, "Close-Session", result.session_ids[-1])
            result.acks.append(ack)
            if ack.status != 200:
                raise UploadError("Close-Session failed: %r" % ack, ack)
        return result
    finally:
        if own:
            conn.close()


def _send_fragments(conn, session_id, data, total, fragment_size, result, content_name,
                    stop_after):
    offset = 0
    sent = 0
    first_fragment = True
    while True:
        if stop_after is not None and sent >= stop_after:
            return "stopped"
        chunk = data[offset:offset + fragment_size]
        ack = conn.fragment(session_id, offset, chunk, total,
                            content_name if first_fragment else None)
        sent += 1
        first_fragment = False
        result.acks.append(ack)
        result.fragment_sizes.append(len(chunk))
        if ack.error_code == BG_E_SESSION_NOT_FOUND:
            return "restart"
        if ack.status in (200, 416):
            if ack.received is None:
                raise UploadError("Ack without BITS-Received-Content-Range", ack)
            offset = ack.received
            if ack.status == 200 and offset >= total:
                result.reply_url = ack.reply_url
                return "done"
            continue
        if ack.status == 413 and ack.error_code != BG_E_TOO_LARGE and fragment_size > 1:
            fragment_size = max(1, fragment_size // 2)
            continue
        raise UploadError("Fragment failed: %r" % ack, ack)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("file")
    parser.add_argument("--fragment-size", type=int, default=1 << 20)
    parser.add_argument("--reply", help="upload-reply: write the reply here")
    parser.add_argument("--insecure", action="store_true", help="HTTPS without verification")
    args = parser.parse_args()
    context = None
    if args.insecure:
        context = ssl._create_unverified_context()  # test servers with self-signed certs
    with open(args.file, "rb") as f:
        data = f.read()
    try:
        result = upload(args.url, data, args.fragment_size, reply=bool(args.reply),
                        ssl_context=context, close=not args.reply,
                        content_name=os.path.basename(args.file))
        if args.reply:
            status, _, body = download(result.reply_url, context)
            if status != 200:
                raise UploadError("reply download: HTTP %d" % status)
            with open(args.reply, "wb") as f:
                f.write(body)
            conn = BitsConnection(args.url, context)
            _end_session(conn, "Close-Session", result.session_ids[-1])
            conn.close()
    except UploadError as error:
        print("bits_client: %s" % error, file=sys.stderr)
        return 1
    print("uploaded %d bytes in session %s" % (len(data), result.session_ids[-1]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
