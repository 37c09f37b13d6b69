#!/usr/bin/env python3
"""Checks reference_server.py (the Python BITS upload server kept for testing bitsd's upload
client) with the independent client bits_client.py: if both agree on the spec's behaviours,
the reference is fit to judge a third implementation. No C++ involved."""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bits_client import (BG_E_SESSION_NOT_FOUND, BG_E_TOO_LARGE, BitsConnection,  # noqa: E402
                         UploadError, download, upload)

HERE = os.path.dirname(os.path.abspath(__file__))


class ReferenceServerTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="reference-server-")
        self.root = os.path.join(self.dir, "root")
        self.log = os.path.join(self.dir, "log")
        os.mkdir(self.root)
        self.process = None

    def tearDown(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def start(self, reply=False, faults=None, port=0):
        argv = [sys.executable, os.path.join(HERE, "reference_server.py"), "--root", self.root,
                "--state", os.path.join(self.dir, "state"), "--log", self.log,
                "--port", str(port), "--faults", json.dumps(faults or {})]
        if reply:
            argv.append("--reply")
        self.process = subprocess.Popen(argv, stdout=subprocess.PIPE)
        line = self.process.stdout.readline().decode()
        self.assertTrue(line.startswith("listening on "), line)
        self.port = int(line.strip().rsplit(":", 1)[1])

    def stop(self):
        if self.process:
            self.process.kill()
            self.process.wait()
            self.process.stdout.close()
            self.process = None

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def control(self, faults):
        request = urllib.request.Request(self.url("/control"), json.dumps(faults).encode(),
                                         method="POST")
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        opener.open(request).read()

    def entries(self):
        with open(self.log) as f:
            return [json.loads(line) for line in f]

    def stored(self, name):
        with open(os.path.join(self.root, name), "rb") as f:
            return f.read()

    def test_upload_is_byte_identical(self):
        self.start()
        data = os.urandom(3 * 1024 * 1024 + 7)
        upload(self.url("/d/f.bin"), data, 1024 * 1024, content_name="../evil")
        self.assertEqual(self.stored("d/f.bin"), data)
        written = sum(e.get("written", 0) for e in self.entries())
        self.assertEqual(written, len(data))

    def test_overlap_and_gap(self):
        self.start()
        conn = BitsConnection(self.url("/g.bin"))
        sid = conn.create_session().session_id
        data = os.urandom(300)
        self.assertEqual(conn.fragment(sid, 0, data[:100], 300).received, 100)
        ack = conn.fragment(sid, 200, data[200:], 300)
        self.assertEqual((ack.status, ack.received), (416, 100))
        self.assertEqual(conn.fragment(sid, 50, b"X" * 50 + data[100:200], 300).received, 200)
        self.assertEqual(conn.fragment(sid, 200, data[200:], 300).received, 300)
        self.assertEqual(self.stored("g.bin"), data)

    def test_faults_413_shrink_too_large_and_lost_session(self):
        self.start(faults={"max_fragment": 65536})
        data = os.urandom(200000)
        result = upload(self.url("/s.bin"), data, 150000)
        self.assertEqual(result.fragment_sizes[:2], [150000, 75000])
        self.control({"max_upload": 1000})
        with self.assertRaises(UploadError) as caught:
            upload(self.url("/big.bin"), data, 60000)
        self.assertEqual(caught.exception.ack.error_code, BG_E_TOO_LARGE)
        self.control({"max_upload": None, "lose_sessions": 1})
        result = upload(self.url("/lost.bin"), data, 60000)
        self.assertEqual(len(result.session_ids), 2)
        self.assertEqual(result.acks[2].error_code, BG_E_SESSION_NOT_FOUND)  # ping, create, frag
        self.assertEqual(self.stored("lost.bin"), data)

    def test_restart_keeps_sessions(self):
        from socket import socket
        with socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.start(port=port)
        data = os.urandom(100000)
        conn = BitsConnection(self.url("/r.bin"))
        partial = upload(self.url("/r.bin"), data, 30000, conn=conn, stop_after=2)
        self.stop()
        conn.close()
        self.start(port=port)
        sid = partial.session_ids[0]
        self.assertEqual(conn.fragment(sid, 90000, data[90000:], len(data)).received, 60000)
        self.assertEqual(conn.fragment(sid, 60000, data[60000:], len(data)).status, 200)
        self.assertEqual(self.stored("r.bin"), data)

    def test_reply_and_error_header_spelling(self):
        self.start(reply=True, faults={"error_header": "BITS-Error"})
        data = os.urandom(5000)
        result = upload(self.url("/u.bin"), data, 2000, reply=True, close=False)
        status, _, body = download(result.reply_url)
        self.assertEqual(status, 200)
        self.assertTrue(body.startswith(b"REPLY "))
        ack = BitsConnection(self.url("/u.bin")).fragment(
            "{00000000-0000-4000-8000-000000000000}", 0, b"x", 1)
        self.assertIsNone(ack.header("BITS-Error-Code"))
        self.assertEqual(ack.error_code, BG_E_SESSION_NOT_FOUND)  # read from BITS-Error

    def test_injected_failures_and_auth(self):
        self.start(faults={"fail_packets": {"Fragment": [503, 1]}, "auth": "u:p"})
        conn = BitsConnection(self.url("/a.bin"))
        self.assertEqual(conn.ping().status, 401)
        auth = {"Authorization": "Basic dTpw"}  # u:p
        self.assertEqual(conn.send("Ping", auth).status, 200)
        created = conn.send("Create-Session", dict(
            auth, **{"BITS-Supported-Protocols": "{7df0354d-249b-430f-820d-3d2a9bef4931}"}))
        fragment = dict(auth, **{"BITS-Session-Id": created.session_id,
                                 "Content-Range": "bytes 0-2/3"})
        first = conn.send("Fragment", fragment, b"abc")
        self.assertEqual((first.status, first.error_code), (503, 0x80190000 + 503))
        self.assertEqual(conn.send("Fragment", fragment, b"abc").received, 3)
        conn.close()
        self.assertEqual(self.stored("a.bin"), b"abc")

    def test_rewind_and_stalled_acks(self):
        self.start(faults={"rewind": 100, "stall_acks": [416, 1]})
        conn = BitsConnection(self.url("/w.bin"))
        sid = conn.create_session().session_id
        data = os.urandom(300)
        ack = conn.fragment(sid, 0, data[:100], 300)  # stalled: nothing stored
        self.assertEqual((ack.status, ack.received), (416, 0))
        self.assertEqual(conn.fragment(sid, 0, data[:200], 300).received, 200)
        ack = conn.fragment(sid, 200, data[200:], 300)  # beyond 100: rewound to 100
        self.assertEqual((ack.status, ack.received), (416, 100))
        self.assertEqual(conn.fragment(sid, 100, data[100:], 300).received, 300)
        self.assertEqual(self.stored("w.bin"), data)

    def test_application_error_and_reply_faults(self):
        self.start(reply=True, faults={"app_error": [400, "0x8007000D"], "reply_hex": "00ff41",
                                       "fail_reply_gets": 1})
        conn = BitsConnection(self.url("/e.bin"))
        sid = conn.create_session().session_id
        self.assertEqual(conn.fragment(sid, 0, b"ab", 4).received, 2)
        ack = conn.fragment(sid, 2, b"cd", 4)
        self.assertEqual((ack.status, ack.error_code, ack.error_context), (400, 0x8007000D, 7))
        self.control({"app_error": None})
        ack = conn.fragment(sid, 2, b"cd", 4)
        self.assertEqual(ack.status, 200)
        self.assertEqual(download(ack.reply_url)[0], 503)
        self.assertEqual(download(ack.reply_url)[2], b"\x00\xffA")
        self.control({"reply_hex": None, "reply_size": 5000})
        result = upload(self.url("/big.bin"), b"xyz", 3, reply=True, close=False)
        body = download(result.reply_url)[2]
        header = b"REPLY " + hashlib.sha256(b"xyz").hexdigest().encode() + b" 3"
        self.assertEqual(body, header + (bytes(range(256)) * 20)[:5000 - len(header)])


if __name__ == "__main__":
    unittest.main(warnings="ignore")
