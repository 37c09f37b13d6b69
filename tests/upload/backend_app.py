#!/usr/bin/env python3
"""A small back-end application for bits-upload-server's notification types 1 and 2
(bits-spec.md section 6.4), standard library only.

Every POST is answered from the upload it names: the reply is b"REPLY " + the SHA-256 (hex)
of the uploaded bytes + b" " + their length. Type 1 (by reference) reads
BITS-Request-DataFile-Name and writes the reply to BITS-Response-DataFile-Name; type 2 (by
value) reads the request body and answers with the reply as its body. The job URL's query
string, which the server appends to the notification URL, steers the answer:
  status=N   answer HTTP N (no reply)
  static=URL answer with BITS-Static-Response-URL: URL
  copy=1     answer with BITS-Copy-File-To-Destination
  delay=S    wait S seconds before answering (a slow application)
Each POST is logged as one JSON line to --log (headers, the size seen and, for a 200 answer,
the reply written or sent, in hex).

Usage: backend_app.py --type 1|2 --log FILE   (prints "listening on 127.0.0.1:PORT")
"""

import argparse
import hashlib
import http.server
import json
import sys
import threading
import time
import urllib.parse


def make_reply(data):
    return b"REPLY " + hashlib.sha256(data).hexdigest().encode() + b" " + str(len(data)).encode()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    notification_type = 1
    log_path = None
    lock = threading.Lock()

    def log_message(self, *args):
        pass

    def do_POST(self):
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        if self.notification_type == 1:
            with open(self.headers["BITS-Request-DataFile-Name"], "rb") as f:
                data = f.read()
        else:
            data = body
        entry = {"path": self.path, "headers": dict(self.headers.items()), "size": len(data)}
        status = int(query["status"][0]) if "status" in query else 200
        reply = make_reply(data) if status == 200 else b"back-end refused"
        if status == 200:
            entry["reply"] = reply.hex()
        self.log(entry)
        if "delay" in query:
            time.sleep(float(query["delay"][0]))
        headers = {}
        if "static" in query:
            headers["BITS-Static-Response-URL"] = query["static"][0]
        if "copy" in query:
            headers["BITS-Copy-File-To-Destination"] = "1"
        if self.notification_type == 1 and status == 200:
            with open(self.headers["BITS-Response-DataFile-Name"], "wb") as f:
                f.write(reply)
            reply = b""
        try:
            self.answer(status, headers if status == 200 else {}, reply)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server stopped waiting (its notification timeout)

    def log(self, entry):
        with self.lock, open(self.log_path, "a") as log:
            log.write(json.dumps(entry) + "\n")

    def answer(self, status, headers, body):
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--type", type=int, choices=(1, 2), required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    Handler.notification_type = args.type
    Handler.log_path = args.log
    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print("listening on 127.0.0.1:%d" % server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
