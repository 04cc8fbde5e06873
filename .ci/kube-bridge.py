#!/usr/bin/env python3
"""Forward TCP between the host and the test cluster's network namespace.

The test cluster (shared/k8s) lives in network namespace `k8s-harness`, whose loopback
is not the host's. Two directions are needed:

- host -> cluster (default): the API server listens on 127.0.0.1:6443 inside the netns.
  This process binds 127.0.0.1:LISTEN_PORT on the host, then moves into the netns, so
  every connection it accepts arrives from the host and every connection it opens lands
  in the cluster: tests, the benchmark and the CLI use an ordinary kubeconfig.
- cluster -> host (`--reverse`): the node's containerd pulls `--registry 127.0.0.1:5001`
  images from its own loopback. This process binds 127.0.0.1:LISTEN_PORT inside the
  netns, then returns to the host's netns, so the registry the host's Docker pushes to
  is the one the cluster pulls from, under the same name.

A socket keeps the namespace it was created in, and threads inherit the creating
thread's, so one setns (or two) before the accept loop is all it takes. Stdlib only
(ctypes for setns). Usage: kube-bridge.py [--reverse] LISTEN_PORT /run/netns/NAME [TARGET_PORT]
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import socket
import threading

CLONE_NEWNET = 0x40000000


def enter_netns(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        setns(fd, path)
    finally:
        os.close(fd)


def setns(fd: int, what: str) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), f"setns {what}")


def listen(port: int) -> socket.socket:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(64)
    return listener


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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reverse", action="store_true", help="listen in the netns instead")
    parser.add_argument("listen_port", type=int)
    parser.add_argument("netns", help="e.g. /run/netns/k8s-harness")
    parser.add_argument("target_port", type=int, nargs="?")
    args = parser.parse_args()
    if args.reverse:
        host = os.open("/proc/self/ns/net", os.O_RDONLY)
        enter_netns(args.netns)
        listener = listen(args.listen_port)  # bound on the cluster's loopback
        setns(host, "back to the host's network namespace")
        os.close(host)
        target_port = args.target_port or args.listen_port
    else:
        listener = listen(args.listen_port)  # bound on the host's loopback
        enter_netns(args.netns)  # new sockets now open in the netns
        target_port = args.target_port or 6443
    print(f"listening on 127.0.0.1:{args.listen_port}, forwarding to {target_port}", flush=True)
    while True:
        client, _ = listener.accept()
        threading.Thread(target=serve, args=(client, target_port), daemon=True).start()


if __name__ == "__main__":
    main()
