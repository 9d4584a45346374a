#!/usr/bin/env python3
"""A fault-injecting HTTP proxy on loopback, between pgseal and the S3 server.

    fault_proxy.py UPSTREAM RATE SEED [parts-only]

Prints its port, then forwards every request to UPSTREAM (Host header unchanged, so that
signatures still verify) — except that a RATE fraction of requests (or, with `parts-only` and
RATE 1, every UploadPart) gets a fault instead: a reset connection, a 503 SlowDown, a 500
InternalError, or a response cut off in the middle. Counts go to stderr when it stops.
With FAULT_PROXY_TLS=CERT:KEY in the environment it speaks HTTPS to pgseal."""
import os
import ssl
import http.client
import http.server
import random
import socket
import socketserver
import sys
import threading

upstream = sys.argv[1].replace("http://", "")
rate = float(sys.argv[2])
rng = random.Random(int(sys.argv[3]))
parts_only = len(sys.argv) > 4 and sys.argv[4] == "parts-only"
lock = threading.Lock()
counts = {"requests": 0, "faults": 0}

SLOWDOWN = b'<?xml version="1.0"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>'
INTERNAL = b'<?xml version="1.0"?><Error><Code>InternalError</Code><Message>We encountered an internal error.</Message></Error>'


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        is_part = "partNumber=" in self.path
        with lock:
            counts["requests"] += 1
            fault = (is_part or not parts_only) and rng.random() < rate
            kind = rng.choice(["reset", "slowdown", "internal", "truncate"]) if fault else None
            if fault:
                counts["faults"] += 1
        if kind == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            self.connection.close()
            self.close_connection = True
            return
        if kind in ("slowdown", "internal"):
            payload = SLOWDOWN if kind == "slowdown" else INTERNAL
            self.send_response(503 if kind == "slowdown" else 500)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        connection = http.client.HTTPConnection(upstream, timeout=120)
        headers = {k: v for k, v in self.headers.items()}
        connection.request(self.command, self.path, body=body if body or self.command in ("PUT", "POST") else None, headers=headers)
        response = connection.getresponse()
        data = response.read()
        if kind == "truncate" and not data:
            # Nothing to cut in an empty body: announce one and send half of it.
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 64\r\n\r\n" + b"x" * 32)
            self.close_connection = True
            return
        self.send_response(response.status)
        for key, value in response.getheaders():
            if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(key, value)
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
try:
    server.serve_forever()
finally:
    print(counts, file=sys.stderr)
