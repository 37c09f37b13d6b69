#!/usr/bin/env python3
"""The RPC side of bench/jobs_bench.sh: speaks bitsd's socket protocol (one JSON-RPC 2.0
message per line, docs/rpc-spec.md) the way libopenbits does, one request at a time.

  jobs_client.py SOCKET create N PREFIX  -> "<seconds> <created>"
  jobs_client.py SOCKET enum             -> "<seconds> <jobs> <pages> <distinct ids>"

Python rather than a C++ program: nothing to build or link, and each request waits for its
reply exactly as libopenbits's Connection::call does, so the figures are the daemon's. The
enum time stops when the last reply line has arrived; checking the ids comes after.
"""
import json
import socket
import sys
import time


class Rpc:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.buffer = b""
        self.next_id = 1

    def send(self, method, params):
        request = {"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params}
        self.next_id += 1
        self.sock.sendall(json.dumps(request).encode() + b"\n")

    def read_line(self):
        while True:
            newline = self.buffer.find(b"\n")
            if newline >= 0:
                line, self.buffer = self.buffer[:newline], self.buffer[newline + 1:]
                return line
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise SystemExit("bitsd closed the connection")
            self.buffer += chunk

    def call(self, method, params):
        self.send(method, params)
        return json.loads(self.read_line())


def create(rpc, count, prefix):
    start = time.monotonic()
    created = 0
    for i in range(count):
        reply = rpc.call("manager.create_job", {"display_name": f"{prefix}{i}", "type": "download"})
        if "result" not in reply:
            raise SystemExit(f"create {i} failed: {reply}")
        created += 1
    print(f"{time.monotonic() - start:.4f} {created}")


def enum(rpc):
    # Pages while bitsd returns a cursor ("next"); an older bitsd answers all in one reply.
    start = time.monotonic()
    lines = []
    cursor = ""  # an older bitsd ignores it and answers all jobs at once
    while True:
        params = {"all_users": False, "cursor": cursor}
        rpc.send("manager.enum_jobs", params)
        line = rpc.read_line()
        lines.append(line)
        # Only the cursor is needed to go on: found without parsing the whole page.
        tail = line[-200:]
        at = tail.rfind(b'"next":"')
        if at < 0:
            break
        cursor = tail[at + 8:tail.index(b'"', at + 8)].decode()
    seconds = time.monotonic() - start
    ids = []
    for line in lines:
        reply = json.loads(line)
        if "result" not in reply:
            raise SystemExit(f"enum failed: {str(reply)[:300]}")
        ids.extend(job["id"] for job in reply["result"]["jobs"])
    print(f"{seconds:.4f} {len(ids)} {len(lines)} {len(set(ids))}")


def main():
    rpc = Rpc(sys.argv[1])
    if sys.argv[2] == "create":
        create(rpc, int(sys.argv[3]), sys.argv[4])
    else:
        enum(rpc)


if __name__ == "__main__":
    main()
