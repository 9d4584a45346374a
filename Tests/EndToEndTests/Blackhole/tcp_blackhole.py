#!/usr/bin/env python3
"""A TCP proxy on loopback that can turn into a black hole, as a silent network partition does.

    tcp_blackhole.py UPSTREAM_HOST UPSTREAM_PORT SWITCHFILE

Prints its port, then forwards every connection to the upstream both ways — until SWITCHFILE
exists. From then on it drops every byte in both directions and closes nothing: no reset, no
FIN, connections (new ones too) stay open and silent, like a firewall that drops packets."""
import os
import socket
import sys
import threading

host, port, switch = sys.argv[1], int(sys.argv[2]), sys.argv[3]


def holed():
    return os.path.exists(switch)


def pump(source, target):
    try:
        while True:
            data = source.recv(65536)
            if not data:
                break
            if holed():
                continue
            target.sendall(data)
    except OSError:
        pass
    # Silence instead of a FIN once the hole is open; otherwise pass the close on.
    if not holed():
        for s in (source, target):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def serve(client):
    if holed():
        threading.Thread(target=pump, args=(client, client), daemon=True).start()
        return
    upstream = socket.create_connection((host, port))
    threading.Thread(target=pump, args=(client, upstream), daemon=True).start()
    threading.Thread(target=pump, args=(upstream, client), daemon=True).start()


listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", 0))
listener.listen(64)
print(listener.getsockname()[1], flush=True)
while True:
    connection, _ = listener.accept()
    serve(connection)
