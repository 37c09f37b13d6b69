#!/usr/bin/env python3
"""Resumes a job and waits for it to be TRANSFERRED without polling it.

Usage: smallfiles_wait.py SOCKET JOB_ID
Subscribes to the queue events of the caller's jobs (manager.subscribe: each event is the
job without its files, so waiting costs bitsd nothing per file), sends job.resume on the
same connection and prints the seconds from sending job.resume to the event that shows the
job TRANSFERRED. Exits 1 if the job reaches ERROR or TRANSIENT_ERROR first.
"""
import json
import socket
import sys
import time


def main():
    path, job = sys.argv[1], sys.argv[2]
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)
    reader = sock.makefile("r", encoding="utf-8")

    def call(rid, method, params):
        line = {"jsonrpc": "2.0", "id": rid, "method": method, "params": params}
        sock.sendall((json.dumps(line) + "\n").encode())

    call(1, "manager.subscribe", {"all_users": False})
    for line in reader:
        if json.loads(line).get("id") == 1:
            break
    start = time.monotonic()
    call(2, "job.resume", {"job_id": job})
    for line in reader:
        message = json.loads(line)
        if message.get("id") == 2 and "error" in message:
            sys.exit(f"bench: job.resume: {message['error']}")
        if message.get("method") != "manager.job_state_changed":
            continue
        params = message["params"]
        if params["job_id"] != job:
            continue
        state = params["job"]["state"]
        if state == "TRANSFERRED":
            print(f"{time.monotonic() - start:.6f}")
            return
        if state in ("ERROR", "TRANSIENT_ERROR"):
            sys.exit(f"bench: bitsd job in {state}")
    sys.exit("bench: bitsd closed the connection")


if __name__ == "__main__":
    main()
