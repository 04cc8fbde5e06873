#!/usr/bin/env python3
"""Forward 127.0.0.1:PORT on the host to the API server inside the cluster's netns.

The test cluster's API server listens on 127.0.0.1:6443 inside network namespace
`k8s-harness`, which the host cannot reach. This process binds its listening socket on
the host first, then moves itself into the namespace, so every connection it accepts
arrives from the host and every connection it opens lands in the cluster: tests, the
benchmark and the CLI then use an ordinary kubeconfig. Stdlib only (ctypes for setns).
Usage: kube-bridge.py LISTEN_PORT /run/netns/NAME [TARGET_PORT]
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import socket
import sys
import threading

CLONE_NEWNET = 0x40000000


def enter_netns(path: str) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(path, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns {path}")
    finally:
        os.close(fd)


def pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while chunk := source.recv(65536):
            sink.sendall(chunk)
    except OSError:
        pass
    finally:
        for sock in (sink, source):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def serve(client: socket.socket, target_port: int) -> None:
    try:
        upstream = socket.create_connection(("127.0.0.1", target_port), timeout=10)
    except OSError:
        client.close()
        return
    upstream.settimeout(None)
    threading.Thread(target=pipe, args=(client, upstream), daemon=True).start()
    pipe(upstream, client)
    upstream.close()
    client.close()


def main() -> None:
    listen_port, netns = int(sys.argv[1]), sys.argv[2]
    target_port = int(sys.argv[3]) if len(sys.argv) > 3 else 6443
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", listen_port))
    listener.listen(64)
    enter_netns(netns)  # the listener stays on the host; new sockets open in the netns
    while True:
        client, _ = listener.accept()
        threading.Thread(target=serve, args=(client, target_port), daemon=True).start()


if __name__ == "__main__":
    main()
