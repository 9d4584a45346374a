#!/usr/bin/env python3
"""A fault-injecting HTTP proxy on loopback, between pgseal and the S3 server.

    fault_proxy.py UPSTREAM [--rate R] [--seed S] [--only all|parts|reads|object-reads] [--kinds K,…]
                   [--expiry-log LOG --refuse-after SECONDS] [--delay SECONDS]

Prints its port, then forwards every request to UPSTREAM (Host header unchanged, so that
signatures still verify), except that a fraction R of the requests --only selects gets a
fault. Whether a request is faulted depends only on the seed, the method, the request's shape
(its path without the bucket and with digits masked, its query without the upload id), the
Range and how often that request was seen — never on thread timing, the bucket's random name
or the archive's timestamp, so a seed replays a run; the kind rotates through the --kinds that
apply to the request:

  reset         the connection is reset before an answer
  slowdown      503 SlowDown
  internal      500 InternalError
  truncate      the answer is cut off in the middle of its body
  corrupt-body  one byte of a PUT's body is flipped before it goes upstream (the server must
                refuse it by its Content-MD5 / checksum)
  corrupt-etag  a PUT's answer carries another ETag than the server gave
  corrupt-read  one byte of a GET's body is flipped on the way back

With --expiry-log (the credential server's LOG), a request signed with credentials handed out
more than --refuse-after seconds ago is refused with 400 ExpiredToken: stricter than AWS, so
that a client that does not renew fails within seconds.

--delay holds every request that long before it goes upstream: a slower network.

GET /__proxy/counts answers the counts so far as JSON: requests, faults by kind, expired.
With FAULT_PROXY_TLS=CERT:KEY in the environment it speaks HTTPS to pgseal."""
import argparse
import collections
import http.client
import http.server
import json
import os
import random
import re
import socket
import socketserver
import ssl
import threading
import time
import urllib.parse

ALL_KINDS = ["reset", "slowdown", "internal", "truncate", "corrupt-body", "corrupt-etag", "corrupt-read"]
parser = argparse.ArgumentParser()
parser.add_argument("upstream")
parser.add_argument("--rate", type=float, default=0.0)
parser.add_argument("--seed", type=int, default=1)
parser.add_argument("--only", choices=["all", "parts", "reads", "object-reads"], default="all")
parser.add_argument("--kinds", default="reset,slowdown,internal,truncate")
parser.add_argument("--expiry-log")
parser.add_argument("--refuse-after", type=float, default=0.0)
parser.add_argument("--delay", type=float, default=0.0)
options = parser.parse_args()
upstream = options.upstream.replace("http://", "")
kinds = options.kinds.split(",")
assert all(k in ALL_KINDS for k in kinds), kinds

lock = threading.Lock()
counts = collections.Counter()
seen = collections.Counter()
rotation = [0]

MAX_FAULTS_PER_REQUEST = 3
SLOWDOWN = b'<?xml version="1.0"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>'
INTERNAL = b'<?xml version="1.0"?><Error><Code>InternalError</Code><Message>We encountered an internal error.</Message></Error>'
EXPIRED = b'<?xml version="1.0"?><Error><Code>ExpiredToken</Code><Message>The provided token has expired.</Message></Error>'


def applicable(method, has_body):
    usable = []
    for kind in kinds:
        if kind in ("corrupt-body", "corrupt-etag") and method != "PUT":
            continue
        if kind == "corrupt-body" and not has_body:
            continue
        if kind == "corrupt-read" and method != "GET":
            continue
        usable.append(kind)
    return usable


def selected(method, path, headers):
    if options.only == "parts":
        return "partNumber=" in path
    if options.only == "reads":
        return method == "GET" and "Range" in headers
    if options.only == "object-reads":
        sidecar = path.split("?")[0].endswith((".seal", ".sig", ".sha256"))
        return method == "GET" and "Range" in headers and not sidecar
    return True


def request_shape(path):
    """What a request is, without what differs from run to run: the bucket (random per test),
    digits (the archive's timestamp), the upload id. The same export meets the same faults."""
    path, _, query = path.partition("?")
    shape = re.sub(r"[0-9]", "#", "/".join(path.split("/")[2:]))
    keys = sorted(k + ("=" + v if k == "partNumber" else "") for k, v in urllib.parse.parse_qsl(query, keep_blank_values=True) if k != "uploadId")
    return shape + "?" + "&".join(keys)


def expired(headers):
    if not options.expiry_log:
        return False
    match = re.search(r"Credential=([^/]+)/", headers.get("Authorization", ""))
    if not match:
        return False
    with open(options.expiry_log) as f:
        for line in f:
            fields = line.split()
            if fields and fields[0] == match.group(1):
                return time.time() - float(fields[1]) > options.refuse_after
    return False


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, payload, content_type="application/xml"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.path == "/__proxy/counts":
            with lock:
                return self.reply(200, json.dumps(counts).encode(), "application/json")
        if expired(self.headers):
            with lock:
                counts["expired"] += 1
            return self.reply(400, EXPIRED)
        if options.delay:
            time.sleep(options.delay)
        identity = f"{options.seed}|{self.command}|{request_shape(self.path)}|{self.headers.get('Range', '')}"
        with lock:
            counts["requests"] += 1
            seen[identity] += 1
            decision = random.Random(f"{identity}|{seen[identity]}").random()
            usable = applicable(self.command, bool(body))
            kind = None
            # Below rate 1 a request is faulted at most its first MAX_FAULTS_PER_REQUEST times, so a
            # client that retries as AWS advises always gets through: the test proves the retrying,
            # not the luck of a seed (0.3 ** 6 per request is rare, not never).
            allowed = options.rate >= 1 or seen[identity] <= MAX_FAULTS_PER_REQUEST
            if usable and allowed and selected(self.command, self.path, self.headers) and decision < options.rate:
                kind = usable[rotation[0] % len(usable)]
                rotation[0] += 1
                counts[kind] += 1
                counts["faults"] += 1
        if kind == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            self.connection.close()
            self.close_connection = True
            return
        if kind in ("slowdown", "internal"):
            return self.reply(503 if kind == "slowdown" else 500, SLOWDOWN if kind == "slowdown" else INTERNAL)
        if kind == "corrupt-body":
            body = bytearray(body)
            body[len(body) // 2] ^= 0x01
            body = bytes(body)
        connection = http.client.HTTPConnection(upstream, timeout=120)
        headers = {k: v for k, v in self.headers.items()}
        connection.request(self.command, self.path, body=body if body or self.command in ("PUT", "POST") else None, headers=headers)
        response = connection.getresponse()
        data = response.read()
        if kind == "truncate" and self.command == "HEAD":
            # A HEAD answer has no body to cut: the connection drops before the answer instead.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            self.connection.close()
            self.close_connection = True
            return
        if kind == "truncate" and not data:
            # Nothing to cut in an empty body: the server's own status, a body announced and
            # half of it sent. (Never another status than the server's: a network cuts
            # answers, it does not turn a 404 into a 200.)
            self.wfile.write(f"HTTP/1.1 {response.status} {response.reason}\r\nContent-Length: 64\r\n\r\n".encode() + b"x" * 32)
            self.close_connection = True
            return
        if kind == "corrupt-read" and data:
            data = bytearray(data)
            data[len(data) // 2] ^= 0x01
            data = bytes(data)
        self.send_response(response.status)
        for key, value in response.getheaders():
            if key.lower() in ("transfer-encoding", "connection") or (key.lower() == "content-length" and self.command != "HEAD"):
                continue
            if key.lower() == "etag" and kind == "corrupt-etag":
                value = '"' + "0" * 32 + '"'
            self.send_header(key, value)
        if self.command != "HEAD":
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if kind == "truncate" and self.command != "HEAD":
            self.wfile.write(data[: len(data) // 2])
            self.close_connection = True
            return
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


server = Server(("127.0.0.1", 0), Handler)
if os.environ.get("FAULT_PROXY_TLS"):
    cert, key = os.environ["FAULT_PROXY_TLS"].split(":")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
print(server.server_address[1], flush=True)
server.serve_forever()
