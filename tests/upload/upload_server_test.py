#!/usr/bin/env python3
"""Integration tests of bits-upload-server against the independent Python client.

Each test starts real server processes (and, for notification types 1 and 2, the back-end
app) on loopback ports, uploads through bits_client.py and checks bytes on disk, exact Acks,
statuses and BITS error codes. Run: upload_server_test.py --server PATH [unittest args].
"""

import gzip
import hashlib
import http.client
import json
import os
import random
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bits_client  # noqa: E402
from bits_client import (BG_E_SESSION_NOT_FOUND, BG_E_TOO_LARGE, E_INVALIDARG,  # noqa: E402
                         UPLOAD_PROTOCOL, BitsConnection, UploadError, download, upload)

SERVER = None  # set from --server
HERE = os.path.dirname(os.path.abspath(__file__))
E_ACCESSDENIED = 0x80070005
NOBODY = 65534


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def payload(size, seed):
    return random.Random(seed).randbytes(size)


def read_listen_line(process, what):
    line = process.stdout.readline().decode()
    if not line.startswith("listening on "):
        raise RuntimeError("%s did not start: %r" % (what, line))
    return int(line.strip().rsplit(":", 1)[1])


class Server:
    """A bits-upload-server child process on a loopback port."""

    def __init__(self, root, config=None, port=0, uid=None, tls=None):
        self.root = root
        self.config = config or {}
        self.port = port
        self.uid = uid
        self.tls = tls
        self.process = None

    def start(self):
        config_path = os.path.join(os.path.dirname(self.root), "config-%d.json" % id(self))
        with open(config_path, "w") as f:
            json.dump(self.config, f)
        os.chmod(config_path, 0o644)
        argv = [SERVER, "--listen", "127.0.0.1:%d" % self.port, "--root", self.root,
                "--config", config_path]
        if self.tls:
            argv += ["--tls-cert", self.tls[0], "--tls-key", self.tls[1]]
        if self.uid is not None:
            argv = ["setpriv", "--reuid=%d" % self.uid, "--regid=%d" % self.uid,
                    "--clear-groups"] + argv
        self.log = open(os.path.join(os.path.dirname(self.root), "server.log"), "ab")
        self.process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=self.log)
        self.port = read_listen_line(self.process, "bits-upload-server")
        return self

    def kill9(self):
        self.process.send_signal(signal.SIGKILL)
        self.killed = True
        self.stop()

    def stop(self):
        """Stops the server with SIGTERM; it must exit cleanly (status 0: no sanitizer or
        leak report) unless it was killed."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
        if self.process:
            code = self.process.wait()
            self.process.stdout.close()
            self.log.close()
            if code != 0 and not getattr(self, "killed", False):
                with open(self.log.name, errors="replace") as f:
                    raise AssertionError("bits-upload-server exited with %d:\n%s"
                                         % (code, f.read()[-4000:]))

    def url(self, path, scheme="http"):
        return "%s://127.0.0.1:%d%s" % (scheme, self.port, path)

    def sessions(self):
        return os.listdir(os.path.join(self.root, ".bits-upload-server", "sessions"))


class Backend:
    """backend_app.py as a child process."""

    def __init__(self, directory, notification_type):
        self.log = os.path.join(directory, "backend-%d.log" % notification_type)
        self.process = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "backend_app.py"), "--type",
             str(notification_type), "--log", self.log], stdout=subprocess.PIPE)
        self.port = read_listen_line(self.process, "backend_app")

    def posts(self):
        if not os.path.exists(self.log):
            return []
        with open(self.log) as f:
            return [json.loads(line) for line in f]

    def stop(self):
        self.process.terminate()
        self.process.wait()
        self.process.stdout.close()


class UploadServerTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="upload-test-")
        os.chmod(self.dir, 0o755)
        self.root = os.path.join(self.dir, "root")
        os.mkdir(self.root)
        self.children = []

    def tearDown(self):
        try:
            for child in self.children:
                child.stop()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def server(self, config=None, **kwargs):
        server = Server(self.root, config, **kwargs).start()
        self.children.append(server)
        return server

    def backend(self, notification_type):
        backend = Backend(self.dir, notification_type)
        self.children.append(backend)
        return backend

    def stored(self, path):
        with open(os.path.join(self.root, path), "rb") as f:
            return f.read()

    def open_session(self, conn):
        ack = conn.create_session()
        self.assertEqual(ack.status, 200, ack)
        return ack.session_id

    # --- transfers -------------------------------------------------------------------------

    def test_several_mib_binary_file_is_byte_identical(self):
        server = self.server()
        data = payload(6 * 1024 * 1024 + 123, 1)
        result = upload(server.url("/big.bin"), data, fragment_size=1024 * 1024)
        self.assertEqual(self.stored("big.bin"), data)
        self.assertEqual(len(result.session_ids), 1)
        self.assertEqual(server.sessions(), [])  # Close-Session released it

    def test_acks_carry_the_headers_of_section_6_3(self):
        server = self.server()
        conn = BitsConnection(server.url("/acks.bin"))
        ping = conn.ping()
        self.assertEqual((ping.status, ping.is_ack, ping.header("Content-Length")),
                         (200, True, "0"))
        created = conn.create_session(content_name="acks.bin")
        self.assertEqual(created.status, 200)
        self.assertTrue(created.is_ack)
        self.assertEqual(created.header("BITS-Protocol"), UPLOAD_PROTOCOL)
        self.assertEqual(created.header("Accept-Encoding"), "Identity")
        self.assertRegex(created.session_id, r"^\{[0-9A-F-]{36}\}$")
        self.assertIsNone(created.error_code)
        sid = created.session_id
        first = conn.fragment(sid, 0, b"0123456789", 20, content_name="../../etc/evil")
        self.assertEqual((first.status, first.session_id, first.received), (200, sid, 10))
        self.assertEqual(first.header("Content-Length"), "0")
        last = conn.fragment(sid.lower(), 10, b"abcdefghij", 20)  # ids compare ignoring case
        self.assertEqual((last.status, last.received, last.reply_url), (200, 20, None))
        closed = conn.close_session(sid)
        self.assertEqual((closed.status, closed.is_ack, closed.session_id), (200, True, sid))
        self.assertEqual(self.stored("acks.bin"), b"0123456789abcdefghij")
        self.assertFalse(os.path.exists(os.path.join(self.dir, "etc")))

    def test_host_id_is_announced_when_configured(self):
        server = self.server({"host_id": "node7.example.net", "host_id_fallback_timeout": 600})
        ack = BitsConnection(server.url("/h.bin")).create_session()
        self.assertEqual((ack.status, ack.header("BITS-Host-Id"),
                          ack.header("BITS-Host-Id-Fallback-Timeout")),
                         (200, "node7.example.net", "600"))
        plain = self.server()
        self.assertIsNone(BitsConnection(plain.url("/h.bin")).create_session().header(
            "BITS-Host-Id"))

    def test_fragment_with_expect_100_continue_from_curl(self):
        server = self.server()
        conn = BitsConnection(server.url("/curl.bin"))
        sid = self.open_session(conn)
        data = payload(3 * 1024 * 1024, 13)
        body = os.path.join(self.dir, "body")
        with open(body, "wb") as f:
            f.write(data)
        result = subprocess.run(
            ["curl", "--noproxy", "*", "-sS", "-i", "-X", "BITS_POST", "-H", "Expect: 100-continue",
             "-H", "BITS-Packet-Type: Fragment", "-H", "BITS-Session-Id: " + sid,
             "-H", "Content-Range: bytes 0-%d/%d" % (len(data) - 1, len(data)),
             "--data-binary", "@" + body, server.url("/curl.bin")],
            capture_output=True, check=True)
        self.assertIn(b"HTTP/1.1 100 Continue", result.stdout)
        self.assertIn(b"BITS-Received-Content-Range: %d" % len(data), result.stdout)
        self.assertEqual(self.stored("curl.bin"), data)

    def test_each_fragment_on_a_new_connection(self):
        server = self.server()
        data = payload(300000, 2)
        conn = BitsConnection(server.url("/sub/each.bin"))
        os.mkdir(os.path.join(self.root, "sub"))
        sid = self.open_session(conn)
        for offset in range(0, len(data), 65536):
            conn.close()  # a new TCP connection per packet
            ack = conn.fragment(sid, offset, data[offset:offset + 65536], len(data))
            self.assertEqual(ack.status, 200, ack)
        self.assertEqual(self.stored("sub/each.bin"), data)

    def test_sixty_concurrent_sessions(self):
        server = self.server({"sessions_per_client": 100})
        files = {"/c%02d.bin" % i: payload(200000 + i * 1000, 100 + i) for i in range(60)}
        barrier = threading.Barrier(60)
        errors = []

        def one(path, data):
            try:
                conn = BitsConnection(server.url(path))
                sid = self.open_session(conn)
                barrier.wait(timeout=60)  # all 60 sessions exist at once
                for offset in range(0, len(data), 32768):
                    ack = conn.fragment(sid, offset, data[offset:offset + 32768], len(data))
                    if ack.status != 200:
                        raise UploadError("fragment", ack)
                conn.close_session(sid)
                conn.close()
            except Exception as error:  # reported below
                errors.append(error)

        threads = [threading.Thread(target=one, args=item) for item in files.items()]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual(errors, [])
        for path, data in files.items():
            self.assertEqual(self.stored(path[1:]), data, path)
        self.assertEqual(server.sessions(), [])

    # --- fragments: overlap, gap, limits ----------------------------------------------------

    def test_overlapping_fragment_writes_only_new_bytes(self):
        server = self.server()
        conn = BitsConnection(server.url("/overlap.bin"))
        sid = self.open_session(conn)
        data = payload(200, 3)
        self.assertEqual(conn.fragment(sid, 0, data[:101], 200).received, 101)
        # 50-150: bytes 50-100 differ from what was sent; they must not overwrite.
        forged = b"X" * 51 + data[101:151]
        ack = conn.fragment(sid, 50, forged, 200)
        self.assertEqual((ack.status, ack.received), (200, 151))
        # A resend of everything already received: nothing new, same Ack.
        ack = conn.fragment(sid, 0, data[:151], 200)
        self.assertEqual((ack.status, ack.received), (200, 151))
        ack = conn.fragment(sid, 151, data[151:], 200)
        self.assertEqual((ack.status, ack.received), (200, 200))
        self.assertEqual(self.stored("overlap.bin"), data)

    def test_gap_gets_416_with_next_expected_offset(self):
        server = self.server()
        conn = BitsConnection(server.url("/gap.bin"))
        sid = self.open_session(conn)
        data = payload(2500, 4)
        self.assertEqual(conn.fragment(sid, 0, data[:1024], 2500).received, 1024)
        ack = conn.fragment(sid, 2048, data[2048:], 2500)
        self.assertEqual((ack.status, ack.is_ack, ack.session_id, ack.received),
                         (416, True, sid, 1024))
        self.assertEqual(conn.fragment(sid, 1024, data[1024:2048], 2500).received, 2048)
        self.assertEqual(conn.fragment(sid, 2048, data[2048:], 2500).received, 2500)
        self.assertEqual(self.stored("gap.bin"), data)

    def test_invalid_content_range_is_400_invalidarg(self):
        server = self.server()
        conn = BitsConnection(server.url("/bad.bin"))
        sid = self.open_session(conn)
        for header in ("bytes 0-9/5", "bytes 5-1/10", "items 0-4/10", "bytes 0-4"):
            ack = conn.send("Fragment", {"BITS-Session-Id": sid, "Content-Range": header},
                            b"12345")
            self.assertEqual((ack.status, ack.error_code, ack.error_context),
                             (400, E_INVALIDARG, 5), header)
        # Content-Length that disagrees with the range.
        ack = conn.send("Fragment", {"BITS-Session-Id": sid, "Content-Range": "bytes 0-9/10"},
                        b"12345")
        self.assertEqual((ack.status, ack.error_code), (400, E_INVALIDARG))
        # The total may not change within a session.
        self.assertEqual(conn.fragment(sid, 0, b"12345", 10).status, 200)
        ack = conn.fragment(sid, 5, b"67890", 11)
        self.assertEqual((ack.status, ack.error_code, ack.received), (400, E_INVALIDARG, 5))

    def test_create_session_in_a_missing_directory_is_404(self):
        server = self.server()
        ack = BitsConnection(server.url("/no-such-dir/f.bin")).create_session()
        self.assertEqual((ack.status, ack.is_ack, ack.error_code, ack.error_context),
                         (404, True, 0x80190000 + 404, 5))
        self.assertIsNone(ack.session_id)
        self.assertEqual(server.sessions(), [])
        self.assertFalse(os.path.exists(os.path.join(self.root, "no-such-dir")))

    def test_gzip_encoded_fragment_is_400_and_stores_nothing(self):
        server = self.server()
        conn = BitsConnection(server.url("/gz.bin"))
        sid = self.open_session(conn)
        data = payload(1000, 40)
        packed = gzip.compress(data)
        ack = conn.send("Fragment", {"BITS-Session-Id": sid, "Content-Encoding": "gzip",
                                     "Content-Range": "bytes 0-%d/%d" % (len(packed) - 1,
                                                                         len(packed))}, packed)
        self.assertEqual((ack.status, ack.error_code, ack.error_context), (400, E_INVALIDARG, 5))
        self.assertEqual(conn.fragment(sid, 0, data[:10], len(data)).received, 10)  # nothing kept
        self.assertEqual(conn.fragment(sid, 10, data[10:], len(data)).received, len(data))
        self.assertEqual(self.stored("gz.bin"), data)

    def test_oversized_fragment_gets_413_and_client_shrinks(self):
        server = self.server({"max_fragment_size": 65536})
        data = payload(300000, 5)
        conn = BitsConnection(server.url("/shrink.bin"))
        sid = self.open_session(conn)
        ack = conn.fragment(sid, 0, data[:100000], len(data))
        self.assertEqual((ack.status, ack.error_code, ack.error_context, ack.received),
                         (413, 0x80190000 + 413, 5, 0))
        conn.cancel_session(sid)
        result = upload(server.url("/shrink.bin"), data, fragment_size=200000)
        self.assertEqual(result.fragment_sizes[:3], [200000, 100000, 50000])
        self.assertEqual(self.stored("shrink.bin"), data)

    def test_upload_over_maximum_size_is_bg_e_too_large_before_any_byte(self):
        server = self.server({"max_upload_size": 1000000})
        data = payload(1000001, 6)
        conn = BitsConnection(server.url("/huge.bin"))
        sid = self.open_session(conn)
        ack = conn.fragment(sid, 0, data[:65536], len(data))
        self.assertEqual((ack.status, ack.error_code, ack.error_context, ack.received),
                         (413, BG_E_TOO_LARGE, 5, 0))
        session_dir = os.path.join(self.root, ".bits-upload-server", "sessions", sid[1:-1])
        self.assertEqual(os.path.getsize(os.path.join(session_dir, "data")), 0)
        with self.assertRaises(UploadError) as caught:
            upload(server.url("/huge.bin"), data, fragment_size=65536)
        self.assertEqual(caught.exception.ack.error_code, BG_E_TOO_LARGE)
        self.assertFalse(os.path.exists(os.path.join(self.root, "huge.bin")))
        # Exactly at the limit is fine.
        upload(server.url("/max.bin"), data[:1000000], fragment_size=500000)
        self.assertEqual(self.stored("max.bin"), data[:1000000])

    # --- sessions ----------------------------------------------------------------------------

    def test_unknown_session_is_bg_e_session_not_found(self):
        server = self.server()
        conn = BitsConnection(server.url("/lost.bin"))
        bogus = "{00000000-1111-4222-8333-444444444444}"
        for ack in (conn.fragment(bogus, 0, b"abc", 3), conn.close_session(bogus),
                    conn.cancel_session(bogus), conn.fragment("../../x", 0, b"abc", 3)):
            self.assertEqual((ack.status, ack.error_code, ack.error_context),
                             (500, BG_E_SESSION_NOT_FOUND, 5))
        # A session belongs to its URL.
        sid = self.open_session(conn)
        other = BitsConnection(server.url("/other.bin"))
        self.assertEqual(other.fragment(sid, 0, b"abc", 3).error_code, BG_E_SESSION_NOT_FOUND)

    def test_session_answers_only_the_client_that_created_it(self):
        # Issue 18 item 7: a leaked session id is refused from another address (400,
        # BG_E_SESSION_NOT_FOUND, context 0x5, nothing stored), also after a restart of the
        # server; the owner's upload still completes byte-identical.
        port = free_port()
        server = self.server(port=port)
        data = payload(300000, 11)
        owner = BitsConnection(server.url("/bound.bin"))  # from 127.0.0.1
        sid = self.open_session(owner)
        self.assertEqual(owner.fragment(sid, 0, data[:100000], len(data)).received, 100000)
        intruder = BitsConnection(server.url("/bound.bin"), source_address="127.0.0.2")
        self.assertEqual(intruder.ping().status, 200)  # the server answers that address
        stored = os.path.join(self.root, ".bits-upload-server", "sessions", sid[1:-1], "data")

        def refused():
            for ack in (intruder.fragment(sid, 100000, b"X" * 5000, len(data)),
                        intruder.fragment(sid.lower(), 100000, b"Y" * 200000, len(data)),
                        intruder.cancel_session(sid), intruder.close_session(sid)):
                self.assertEqual((ack.status, ack.error_code, ack.error_context),
                                 (400, BG_E_SESSION_NOT_FOUND, 5), ack)
            with open(stored, "rb") as f:
                self.assertEqual(f.read(), data[:100000])

        refused()
        server.kill9()
        owner.close()
        intruder.close()
        server = self.server(port=port)  # the binding is part of the persisted session
        refused()
        ack = owner.fragment(sid, 100000, data[100000:], len(data))
        self.assertEqual((ack.status, ack.received), (200, len(data)))
        self.assertEqual(owner.close_session(sid).status, 200)
        self.assertEqual(self.stored("bound.bin"), data)
        self.assertEqual(server.sessions(), [])

    def test_client_starts_over_when_the_server_lost_the_session(self):
        server = self.server()
        data = payload(400000, 7)
        conn = BitsConnection(server.url("/again.bin"))
        partial = upload(server.url("/again.bin"), data, 100000, conn=conn, stop_after=2)
        # The server loses the session (here: someone cancels it out of band).
        BitsConnection(server.url("/again.bin")).cancel_session(partial.session_ids[0])
        ack = conn.fragment(partial.session_ids[0], 200000, data[200000:300000], len(data))
        self.assertEqual(ack.error_code, BG_E_SESSION_NOT_FOUND)
        result = upload(server.url("/again.bin"), data, 100000, conn=conn)
        self.assertEqual(self.stored("again.bin"), data)
        self.assertEqual(len(result.session_ids), 1)

    def test_upload_continues_after_server_kill9_and_restart(self):
        port = free_port()
        server = self.server(port=port)
        data = payload(3 * 1024 * 1024, 8)
        conn = BitsConnection(server.url("/restart.bin"))
        sid = self.open_session(conn)
        for offset in range(0, 2 * 1024 * 1024, 512 * 1024):
            self.assertEqual(conn.fragment(sid, offset, data[offset:offset + 512 * 1024],
                                           len(data)).status, 200)
        server.kill9()
        conn.close()
        self.server(port=port)
        # The restarted server remembers the session and exactly what it acknowledged.
        ack = conn.fragment(sid, 3 * 1024 * 1024 - 10, data[-10:], len(data))
        self.assertEqual((ack.status, ack.received), (416, 2 * 1024 * 1024))
        ack = conn.fragment(sid, 2 * 1024 * 1024, data[2 * 1024 * 1024:], len(data))
        self.assertEqual((ack.status, ack.received), (200, len(data)))
        self.assertEqual(self.stored("restart.bin"), data)

    def test_broken_connection_mid_fragment_keeps_what_arrived(self):
        server = self.server()
        conn = BitsConnection(server.url("/cut.bin"))
        sid = self.open_session(conn)
        data = payload(200000, 9)
        raw = socket.create_connection(("127.0.0.1", server.port))
        raw.sendall(("BITS_POST /cut.bin HTTP/1.1\r\nHost: x\r\nBITS-Packet-Type: Fragment\r\n"
                     "BITS-Session-Id: %s\r\nContent-Range: bytes 0-199999/200000\r\n"
                     "Content-Length: 200000\r\n\r\n" % sid).encode() + data[:120000])
        raw.shutdown(socket.SHUT_WR)
        raw.recv(1)  # the server closes its side once it saw the short body
        raw.close()
        ack = conn.fragment(sid, 190000, data[190000:], len(data))
        self.assertEqual(ack.status, 416)
        self.assertEqual(ack.received, 120000)
        ack = conn.fragment(sid, 0, data, len(data))  # resend all: only new bytes written
        self.assertEqual((ack.status, ack.received), (200, 200000))
        self.assertEqual(self.stored("cut.bin"), data)

    def test_cancel_before_last_fragment_discards_the_upload(self):
        server = self.server()
        conn = BitsConnection(server.url("/cancel.bin"))
        sid = self.open_session(conn)
        self.assertEqual(conn.fragment(sid, 0, b"x" * 100, 200).status, 200)
        ack = conn.cancel_session(sid)
        self.assertEqual((ack.status, ack.is_ack, ack.session_id), (200, True, sid))
        self.assertFalse(os.path.exists(os.path.join(self.root, "cancel.bin")))
        self.assertEqual(server.sessions(), [])
        self.assertEqual(conn.fragment(sid, 100, b"y" * 100, 200).error_code,
                         BG_E_SESSION_NOT_FOUND)

    def test_cancel_after_last_fragment_keeps_the_committed_file(self):
        server = self.server()
        data = payload(5000, 10)
        result = upload(server.url("/kept.bin"), data, 2048, close=False)
        ack = BitsConnection(server.url("/kept.bin")).cancel_session(result.session_ids[0])
        self.assertEqual(ack.status, 200)
        self.assertEqual(self.stored("kept.bin"), data)
        self.assertEqual(server.sessions(), [])

    def test_close_before_completion_discards_the_upload(self):
        server = self.server()
        conn = BitsConnection(server.url("/early.bin"))
        sid = self.open_session(conn)
        self.assertEqual(conn.fragment(sid, 0, b"x" * 100, 200).status, 200)
        self.assertEqual(conn.close_session(sid).status, 200)
        self.assertFalse(os.path.exists(os.path.join(self.root, "early.bin")))
        self.assertEqual(server.sessions(), [])

    def test_sessions_per_client_limit(self):
        server = self.server({"sessions_per_client": 2})
        conn = BitsConnection(server.url("/limit.bin"))
        first = self.open_session(conn)
        self.open_session(conn)
        ack = conn.create_session()
        self.assertEqual((ack.status, ack.error_code, ack.error_context),
                         (503, 0x80190000 + 503, 5))
        conn.cancel_session(first)
        self.assertEqual(conn.create_session().status, 200)

    def test_idle_session_expires_and_is_cleaned_up(self):
        server = self.server({"session_timeout": 1, "cleanup_interval": 1})
        conn = BitsConnection(server.url("/idle.bin"))
        sid = self.open_session(conn)
        conn.fragment(sid, 0, b"abc", 10)
        deadline = time.monotonic() + 30
        while server.sessions() and time.monotonic() < deadline:
            time.sleep(0.2)
        self.assertEqual(server.sessions(), [])
        self.assertEqual(conn.fragment(sid, 3, b"defghij", 10).error_code,
                         BG_E_SESSION_NOT_FOUND)

    def test_protocol_negotiation(self):
        server = self.server()
        conn = BitsConnection(server.url("/proto.bin"))
        for protocols in ([], ["{00000000-0000-0000-0000-000000000000}"]):
            ack = conn.create_session(protocols)
            self.assertEqual((ack.status, ack.error_code, ack.error_context),
                             (400, E_INVALIDARG, 5))
            self.assertIsNone(ack.header("BITS-Protocol"))
            self.assertIsNone(ack.session_id)
        ack = conn.create_session(["{11111111-2222-3333-4444-555555555555}",
                                   UPLOAD_PROTOCOL.upper()], separator=",")
        self.assertEqual((ack.status, ack.header("BITS-Protocol")), (200, UPLOAD_PROTOCOL))
        # Packet types compare case-insensitively ([MC-BUP] spelling).
        self.assertEqual(conn.send("PING").status, 200)
        ack = conn.send("FRAGMENT", {"BITS-Session-Id": ack.session_id,
                                     "Content-Range": "bytes 0-2/3"}, b"abc")
        self.assertEqual((ack.status, ack.received), (200, 3))
        self.assertEqual(conn.send("Bogus-Packet").error_code, E_INVALIDARG)
        self.assertEqual(self.stored("proto.bin"), b"abc")

    def test_existing_file_is_not_overwritten_unless_allowed(self):
        with open(os.path.join(self.root, "exists.bin"), "wb") as f:
            f.write(b"old")
        server = self.server()
        ack = BitsConnection(server.url("/exists.bin")).create_session()
        self.assertEqual((ack.status, ack.error_code), (409, E_ACCESSDENIED))
        # A file that appears during the upload is not replaced at commit either.
        conn = BitsConnection(server.url("/late.bin"))
        sid = self.open_session(conn)
        with open(os.path.join(self.root, "late.bin"), "wb") as f:
            f.write(b"first")
        ack = conn.fragment(sid, 0, b"second", 6)
        self.assertEqual((ack.status, ack.error_code), (409, E_ACCESSDENIED))
        self.assertEqual(self.stored("late.bin"), b"first")
        server.stop()
        self.children.remove(server)
        server = self.server({"allow_overwrites": True})
        upload(server.url("/exists.bin"), b"new contents", 4)
        self.assertEqual(self.stored("exists.bin"), b"new contents")

    def test_uploads_disabled_is_501(self):
        server = self.server({"uploads_enabled": False})
        ack = BitsConnection(server.url("/off.bin")).create_session()
        self.assertEqual((ack.status, ack.error_code), (501, E_ACCESSDENIED))

    # --- path safety -------------------------------------------------------------------------

    def test_path_escapes_are_rejected(self):
        outside = os.path.join(self.dir, "outside")
        os.mkdir(outside)
        os.mkdir(os.path.join(self.root, "a"))
        os.symlink(outside, os.path.join(self.root, "link"))
        os.symlink(os.path.join(outside, "target"), os.path.join(self.root, "file-link"))
        server = self.server({"allow_overwrites": True})
        conn = BitsConnection(server.url("/x"))
        bad_urls = ["/../escape.bin", "/a/../../escape.bin", "/%2e%2e/escape.bin",
                    "/a/%2E%2E/%2e%2e/escape.bin", "/a%2f..%2f..%2fescape.bin",
                    "/.bits-upload-server/sessions/x", "/x%00y", "/a/", "/%zz",
                    "http://127.0.0.1/../escape.bin", "/a\\..\\..\\escape.bin"]
        for target in bad_urls:
            ack = conn.send("Create-Session", {"BITS-Supported-Protocols": UPLOAD_PROTOCOL},
                            target=target)
            self.assertEqual((ack.status, ack.error_code), (400, E_INVALIDARG), target)
        for target in ("/link/escape.bin", "/file-link"):
            ack = conn.send("Create-Session", {"BITS-Supported-Protocols": UPLOAD_PROTOCOL},
                            target=target)
            self.assertEqual((ack.status, ack.error_code), (403, E_ACCESSDENIED), target)
        # A symlink planted after Create-Session is not followed at commit.
        os.mkdir(os.path.join(self.root, "later"))
        conn = BitsConnection(server.url("/later/f.bin"))
        sid = self.open_session(conn)
        os.rmdir(os.path.join(self.root, "later"))
        os.symlink(outside, os.path.join(self.root, "later"))
        ack = conn.fragment(sid, 0, b"data", 4)
        self.assertEqual((ack.status, ack.error_code), (403, E_ACCESSDENIED))
        self.assertEqual(os.listdir(outside), [])
        self.assertFalse(os.path.exists(os.path.join(self.dir, "escape.bin")))
        self.assertEqual(sorted(os.listdir(self.root)),
                         [".bits-upload-server", "a", "file-link", "later", "link"])

    def test_runs_as_an_unprivileged_user(self):
        os.chown(self.root, NOBODY, NOBODY)
        os.mkdir(os.path.join(self.root, "locked"), 0o755)  # root's: not writable
        server = self.server(uid=NOBODY)
        data = payload(1024 * 1024, 11)
        upload(server.url("/mine.bin"), data, 300000)
        self.assertEqual(self.stored("mine.bin"), data)
        self.assertEqual(os.stat(os.path.join(self.root, "mine.bin")).st_uid, NOBODY)
        state = os.stat(os.path.join(self.root, ".bits-upload-server"))
        self.assertEqual((state.st_uid, state.st_mode & 0o777), (NOBODY, 0o700))
        with open("/proc/%d/status" % server.process.pid) as f:
            uids = [line for line in f if line.startswith("Uid:")][0].split()[1:]
        self.assertEqual(set(uids), {str(NOBODY)})
        conn = BitsConnection(server.url("/locked/f.bin"))
        sid = self.open_session(conn)
        ack = conn.fragment(sid, 0, b"data", 4)
        self.assertEqual((ack.status, ack.error_code), (403, E_ACCESSDENIED))
        self.assertEqual(os.listdir(os.path.join(self.root, "locked")), [])

    def test_https_upload(self):
        cert = os.path.join(self.dir, "cert.pem")
        key = os.path.join(self.dir, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days",
                        "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", key, "-out", cert], check=True, capture_output=True)
        server = self.server(tls=(cert, key))
        context = ssl.create_default_context(cafile=cert)
        data = payload(2 * 1024 * 1024, 12)
        upload(server.url("/tls.bin", "https"), data, 512 * 1024, ssl_context=context)
        self.assertEqual(self.stored("tls.bin"), data)

    # --- back-end hand-off -------------------------------------------------------------------

    def reply_server(self, notification_type, **extra):
        backend = self.backend(notification_type)
        config = {"notification_type": notification_type,
                  "notification_url": "http://127.0.0.1:%d/notify" % backend.port}
        config.update(extra)
        os.mkdir(os.path.join(self.root, "inbox"))
        return self.server(config), backend

    def check_reply_round_trip(self, notification_type):
        server, backend = self.reply_server(notification_type)
        data = payload(3 * 1024 * 1024 + 5, 20 + notification_type)
        url = server.url("/inbox/report.bin?tx=42")
        result = upload(url, data, 1024 * 1024, reply=True, close=False)
        expected = bits_client_reply(data)
        sid = result.session_ids[0]
        self.assertEqual(result.reply_url,
                         server.url("/.bits-replies/" + sid[1:-1]))
        self.assertEqual(result.acks[-1].received, len(data))
        status, headers, body = download(result.reply_url)
        self.assertEqual((status, body), (200, expected))
        status, headers, body = download(result.reply_url, byte_range="bytes=6-13")
        self.assertEqual((status, body, headers["Content-Range"]),
                         (206, expected[6:14], "bytes 6-13/%d" % len(expected)))
        head = http.client.HTTPConnection("127.0.0.1", server.port)
        head.request("HEAD", result.reply_url)
        response = head.getresponse()
        self.assertEqual((response.status, response.headers["Content-Length"], response.read()),
                         (200, str(len(expected)), b""))
        head.close()
        posts = backend.posts()
        self.assertEqual(len(posts), 1)
        self.assertEqual(posts[0]["path"], "/notify?tx=42")
        self.assertEqual(posts[0]["size"], len(data))
        self.assertEqual(posts[0]["headers"]["BITS-Original-Request-URL"], url)
        # Not stored at the job URL without BITS-Copy-File-To-Destination.
        self.assertEqual(os.listdir(os.path.join(self.root, "inbox")), [])
        # The last fragment again (a client unsure of the Ack): same reply, no second post.
        ack = BitsConnection(url).fragment(sid, len(data) - 5, data[-5:], len(data))
        self.assertEqual((ack.status, ack.reply_url), (200, result.reply_url))
        self.assertEqual(len(backend.posts()), 1)
        self.assertEqual(BitsConnection(url).close_session(sid).status, 200)
        self.assertEqual(download(result.reply_url)[0], 404)
        self.assertEqual(server.sessions(), [])
        return posts[0]

    def test_backend_type1_by_reference_reply(self):
        post = self.check_reply_round_trip(1)
        self.assertTrue(post["headers"]["BITS-Request-DataFile-Name"].startswith(
            os.path.join(self.root, ".bits-upload-server", "sessions")))
        self.assertTrue(post["headers"]["BITS-Response-DataFile-Name"].endswith("/reply"))

    def test_backend_type2_by_value_reply(self):
        post = self.check_reply_round_trip(2)
        self.assertNotIn("BITS-Request-DataFile-Name", post["headers"])

    def check_copy_and_static_reply_url(self, notification_type):
        server, backend = self.reply_server(notification_type)
        data = payload(100000, 30)
        result = upload(server.url("/inbox/copy.bin?copy=1"), data, 40000, reply=True,
                        close=False)
        self.assertEqual(self.stored("inbox/copy.bin"), data)
        status, _, body = download(result.reply_url)  # a reply as well
        self.assertEqual((status, body), (200, bits_client_reply(data)))
        result = upload(server.url("/inbox/static.bin?static=http://example.invalid/r"), data,
                        40000, reply=True, close=False)
        self.assertEqual(result.reply_url, "http://example.invalid/r")
        self.assertFalse(os.path.exists(os.path.join(self.root, "inbox", "static.bin")))
        session = self.session_dir(result.session_ids[0])
        self.assertEqual(sorted(os.listdir(session)), ["state.json"])  # no data, no reply
        self.assertEqual(len(backend.posts()), 2)

    def test_backend_type1_copy_file_to_destination_and_static_reply_url(self):
        self.check_copy_and_static_reply_url(1)

    def test_backend_type2_copy_file_to_destination_and_static_reply_url(self):
        self.check_copy_and_static_reply_url(2)

    def session_dir(self, session_id):
        return os.path.join(self.root, ".bits-upload-server", "sessions", session_id[1:-1])

    def check_data_deleted_after_the_backend_answered(self, notification_type):
        server, backend = self.reply_server(notification_type)
        data = payload(70000, 32)
        conn = BitsConnection(server.url("/inbox/d.bin"))
        sid = self.open_session(conn)
        self.assertEqual(conn.fragment(sid, 0, data[:50000], len(data)).status, 200)
        session = self.session_dir(sid)
        self.assertIn("data", os.listdir(session))  # the upload so far
        ack = conn.fragment(sid, 50000, data[50000:], len(data))
        self.assertEqual(ack.status, 200)
        self.assertEqual(sorted(os.listdir(session)), ["reply", "state.json"])
        self.assertEqual(os.listdir(os.path.join(self.root, "inbox")), [])
        if notification_type == 1:
            request_file = backend.posts()[0]["headers"]["BITS-Request-DataFile-Name"]
            self.assertEqual(request_file, os.path.join(session, "data"))
        self.assertEqual(download(ack.reply_url)[2], bits_client_reply(data))
        self.assertEqual(conn.close_session(sid).status, 200)
        self.assertFalse(os.path.exists(session))

    def test_backend_type1_data_file_is_deleted_once_the_backend_answered(self):
        self.check_data_deleted_after_the_backend_answered(1)

    def test_backend_type2_data_file_is_deleted_once_the_backend_answered(self):
        self.check_data_deleted_after_the_backend_answered(2)

    def test_backend_timeout_is_504_with_application_context(self):
        server, backend = self.reply_server(1, notification_timeout=1)
        conn = BitsConnection(server.url("/inbox/slow.bin?delay=4"))
        sid = self.open_session(conn)
        ack = conn.fragment(sid, 0, b"payload", 7)
        self.assertEqual((ack.status, ack.error_code, ack.error_context, ack.reply_url),
                         (504, 0x80190000 + 504, 7, None))
        self.assertEqual(len(backend.posts()), 1)
        self.assertIn("data", os.listdir(self.session_dir(sid)))  # kept for the retry
        self.assertEqual(download(server.url("/.bits-replies/" + sid[1:-1]))[0], 404)

    def test_backend_failure_returns_its_status_with_application_context(self):
        server, backend = self.reply_server(1)
        conn = BitsConnection(server.url("/inbox/fail.bin?status=500"))
        sid = self.open_session(conn)
        ack = conn.fragment(sid, 0, b"payload", 7)
        self.assertEqual((ack.status, ack.error_code, ack.error_context, ack.reply_url),
                         (500, 0x80190000 + 500, 7, None))
        # Retrying the last fragment posts again (apps must tolerate duplicates).
        conn.fragment(sid, 0, b"payload", 7)
        self.assertEqual(len(backend.posts()), 2)
        self.assertEqual(conn.cancel_session(sid).status, 200)
        backend.stop()
        self.children.remove(backend)
        conn = BitsConnection(server.url("/inbox/down.bin"))
        sid = self.open_session(conn)
        ack = conn.fragment(sid, 0, b"payload", 7)
        self.assertEqual((ack.status, ack.error_context), (502, 7))

    def test_cancel_after_last_fragment_releases_the_reply(self):
        server, backend = self.reply_server(2)
        data = payload(10000, 31)
        result = upload(server.url("/inbox/r.bin"), data, 4096, reply=True, close=False)
        self.assertEqual(download(result.reply_url)[0], 200)
        ack = BitsConnection(server.url("/inbox/r.bin")).cancel_session(result.session_ids[0])
        self.assertEqual(ack.status, 200)
        self.assertEqual(download(result.reply_url)[0], 404)

    def test_get_serves_only_reply_urls(self):
        server = self.server()
        upload(server.url("/public.bin"), b"abc", 3)
        for path in ("/public.bin", "/.bits-replies/../public.bin", "/.bits-upload-server/",
                     "/.bits-replies/00000000-1111-4222-8333-444444444444"):
            self.assertEqual(download(server.url(path))[0], 404, path)


def bits_client_reply(data):
    return b"REPLY " + hashlib.sha256(data).hexdigest().encode() + b" " + str(
        len(data)).encode()


if __name__ == "__main__":
    if "--server" in sys.argv:
        index = sys.argv.index("--server")
        SERVER = sys.argv[index + 1]
        del sys.argv[index:index + 2]
    else:
        SERVER = os.path.join(HERE, "..", "..", "build", "bin", "bits-upload-server")
    unittest.main(warnings="ignore")  # unclosed client sockets left to the GC are fine
