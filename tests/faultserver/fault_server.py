#!/usr/bin/env python3
"""A scriptable HTTP origin that misbehaves on purpose, for openbits' integration tests.

Files are served from --root. The first path segment names the scenario (free text, so that
counters of different tests never mix); query parameters choose the faults, and they combine:

  status=C&times=N&retry_after=S  the first N requests (HEAD and GET) to this URL answer
                                  status C (with Retry-After: S when given)
  drop=B[&times=N]                each GET (the first N GETs only, if given) sends at most B bytes of
                                  its body, then closes the connection
  stall=S&after=B                 the first GET sends B bytes, then sends nothing for S seconds
  norange=1                       ignores Range: always 200 with the whole file
  nosize=1                        no Content-Length (HEAD and GET; the body ends at close)
  badrange=1[&times=N]            answers Range requests (the first N GETs only, if given)
                                  with 206 and a Content-Range whose start is off by one
  shift=B[&times=N]               answers every GET (the first N only, if given) with 206 and
                                  the bytes from B on, labelled so, whether or not Range
                                  asked for them (HEAD stays honest)
  loop=1                          302 to itself, forever
  change=B                        after B body bytes were sent for this URL, the file is
                                  <file>.v2 (new size, ETag and Last-Modified)
  changing=1[&times=N]            every request (the first N only, if given) gets a new ETag:
                                  a file that keeps changing
  midswap=B                       the first GET switches to <file>.v2's bytes after B bytes,
                                  keeping v1's headers (a file overwritten in place while
                                  served); later requests get <file>.v2
  rate=R                          sends at most R bytes per second

Every request is logged to --log as one JSON line:
  {"t": <unix time>, "method", "path", "range", "status", "sent"}
Standard library only, so that it shares nothing with the C++ under test.
"""
import argparse
import email.utils
import json
import os
import re
import socket
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
COUNTS = {}  # url -> requests seen
GETS = {}  # url -> GET requests seen
SENT = {}  # url -> body bytes sent
STALLED = set()  # urls whose stall already happened
SWAPPED = set()  # urls whose mid-body swap already happened


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "faultserver/1"

    def log_message(self, fmt, *args):  # quiet: the JSON log is the record
        pass

    def record(self, status, sent):
        line = {
            "t": time.time(),
            "method": self.command,
            "path": self.path,
            "range": self.headers.get("Range", ""),
            "status": status,
            "sent": sent,
        }
        with LOCK:
            with open(self.server.log_path, "a", encoding="utf-8") as log:
                log.write(json.dumps(line) + "\n")

    def version_of(self, url, params, name, fresh=None):
        """The file path and validators currently served for this URL; with `fresh`, an
        ETag of its own."""
        path = os.path.join(self.server.root, name)
        change = params.get("change")
        with LOCK:
            sent = SENT.get(url, 0)
            swapped = url in SWAPPED
        if (change is not None and sent >= int(change)) or swapped:
            path += ".v2"
        st = os.stat(path)
        etag = '"%x-%x"' % (int(st.st_mtime), st.st_size)
        if fresh is not None:
            etag = '"%x-%x-%d"' % (int(st.st_mtime), st.st_size, fresh)
        modified = email.utils.formatdate(st.st_mtime, usegmt=True)
        return path, st.st_size, etag, modified

    def send_plain(self, status, extra=(), body=b""):
        self.send_response(status)
        for key, value in extra:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.record(status, 0 if self.command == "HEAD" else len(body))

    def do_HEAD(self):
        self.serve()

    def do_GET(self):
        self.serve()

    def serve(self):
        parts = urllib.parse.urlsplit(self.path)
        params = dict(urllib.parse.parse_qsl(parts.query))
        segments = [s for s in parts.path.split("/") if s]
        if len(segments) != 2 or ".." in segments:
            self.send_plain(404)
            return
        name = segments[1]
        url = self.path
        with LOCK:
            count = COUNTS.get(url, 0) + 1
            COUNTS[url] = count
            gets = GETS.get(url, 0) + (1 if self.command == "GET" else 0)
            GETS[url] = gets
        times = int(params["times"]) if "times" in params else None
        within_times = times is None or count <= times
        get_within_times = times is None or gets <= times

        if "loop" in params:
            self.send_plain(302, [("Location", self.path)])
            return
        if "status" in params and within_times:
            extra = []
            if "retry_after" in params:
                extra.append(("Retry-After", params["retry_after"]))
            self.send_plain(int(params["status"]), extra, b"fault\n")
            return
        try:
            fresh = count if "changing" in params and within_times else None
            path, size, etag, modified = self.version_of(url, params, name, fresh)
        except OSError:
            self.send_plain(404)
            return

        start, end = 0, size - 1
        status = 200
        wanted = self.headers.get("Range")
        if wanted and "norange" not in params:
            match = re.fullmatch(r"bytes=(\d+)-(\d*)", wanted.strip())
            if not match or int(match.group(1)) >= size:
                self.send_plain(416, [("Content-Range", "bytes */%d" % size)])
                return
            start = int(match.group(1))
            if match.group(2):
                end = min(end, int(match.group(2)))
            status = 206
        if "shift" in params and self.command == "GET" and get_within_times:
            start, end, status = min(int(params["shift"]), size - 1), size - 1, 206
        length = end - start + 1

        self.send_response(status)
        self.send_header("ETag", etag)
        self.send_header("Last-Modified", modified)
        self.send_header("Accept-Ranges", "bytes")
        if status == 206:
            shown = start + 1 if "badrange" in params and get_within_times else start
            self.send_header("Content-Range", "bytes %d-%d/%d" % (shown, shown + length - 1, size))
        if "nosize" in params:
            self.send_header("Connection", "close")
            self.close_connection = True
        else:
            self.send_header("Content-Length", str(length))
        self.end_headers()
        if self.command == "HEAD":
            self.record(status, 0)
            return
        self.send_body(url, params, path, start, length, status, get_within_times)

    def send_body(self, url, params, path, start, length, status, drop_now):
        limit = length
        if "drop" in params and drop_now:
            limit = min(length, int(params["drop"]))
        stall_after = None
        with LOCK:
            if "stall" in params and url not in STALLED:
                STALLED.add(url)
                stall_after = int(params.get("after", "0"))
            swap_after = None
            if "midswap" in params and url not in SWAPPED:
                SWAPPED.add(url)
                swap_after = int(params["midswap"])
        rate = float(params["rate"]) if "rate" in params else None
        began = time.monotonic()
        sent = 0
        source = open(path, "rb")
        try:
            source.seek(start)
            while sent < limit:
                if stall_after is not None and sent >= stall_after:
                    time.sleep(float(params["stall"]))
                    stall_after = None
                    self.close_connection = True
                    break
                if swap_after is not None and start + sent >= swap_after:
                    source.close()
                    source = open(path + ".v2", "rb")
                    source.seek(start + sent)
                    swap_after = None
                step = 64 * 1024
                if rate is not None:
                    step = 16 * 1024
                    ahead = sent / rate - (time.monotonic() - began)
                    if ahead > 0:
                        time.sleep(ahead)
                if stall_after is not None:
                    step = min(step, max(1, stall_after - sent))
                if swap_after is not None:
                    step = min(step, max(1, swap_after - start - sent))
                chunk = source.read(min(step, limit - sent))
                if not chunk:
                    break
                try:
                    self.wfile.write(chunk)
                except OSError:
                    break
                sent += len(chunk)
                with LOCK:
                    SENT[url] = SENT.get(url, 0) + len(chunk)
        finally:
            source.close()
        if sent < length:
            self.close_connection = True
            try:
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.record(status, sent)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: any free port")
    parser.add_argument("--port-file", help="written with the port once listening")
    parser.add_argument("--root", required=True)
    parser.add_argument("--log", required=True)
    args = parser.parse_args()
    server = ThreadingHTTPServer((args.listen, args.port), Handler)
    server.daemon_threads = True
    server.root = os.path.abspath(args.root)
    server.log_path = args.log
    if args.port_file:
        with open(args.port_file + ".tmp", "w", encoding="utf-8") as f:
            f.write(str(server.server_address[1]))
        os.rename(args.port_file + ".tmp", args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
