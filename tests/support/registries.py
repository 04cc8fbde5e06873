"""Real registries and a second Docker engine for the pull and offline tests.

`Registry` runs Debian's docker-registry (distribution 2.8) on a free 127.0.0.1 port with
its own storage, optionally behind htpasswd. `SecondEngine` runs a private dockerd (own
data root, exec root, socket, pid file; no iptables, its own address pool) that has
never seen any image: the "new laptop" of the offline test. It gets its own bridge
interface (never `--bridge=none`, which deletes the host's docker0).
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import shutil
import signal
import subprocess
import tarfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import docker

from tests.support.docker_stacks import free_port

SHARED_REGISTRY = os.environ.get("PROVISIONER_TEST_REGISTRY", "127.0.0.1:5001")


class Registry:
    def __init__(self, root: Path, user: str | None = None, password: str | None = None):
        self.root = root
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.user, self.password = user, password
        self.process: subprocess.Popen[bytes] | None = None
        (root / "storage").mkdir(parents=True, exist_ok=True)
        auth = ""
        if user and password:
            # bcrypt is the only hash distribution accepts.
            subprocess.run(
                ["htpasswd", "-Bbc", str(root / "htpasswd"), user, password],
                check=True,
                capture_output=True,
            )
            auth = f"auth:\n  htpasswd:\n    realm: test\n    path: {root / 'htpasswd'}\n"
        (root / "config.yml").write_text(
            "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n"
            f"    rootdirectory: {root / 'storage'}\n  delete:\n    enabled: true\n"
            f"http:\n  addr: {self.host}\n{auth}"
        )

    def start(self) -> Registry:
        log = open(self.root / "registry.log", "ab")  # noqa: SIM115 - the process keeps it
        self.process = subprocess.Popen(
            ["docker-registry", "serve", str(self.root / "config.yml")],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 15
        while not self.answers():
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError(
                    f"registry did not start: {(self.root / 'registry.log').read_text()}"
                )
            time.sleep(0.05)
        return self

    def answers(self) -> bool:
        try:
            urllib.request.urlopen(f"http://{self.host}/v2/", timeout=1).read()
            return True
        except urllib.error.HTTPError as exc:
            return exc.code == 401  # up, wants a login
        except OSError:
            return False

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def auth_config(self) -> dict[str, str] | None:
        if not self.user:
            return None
        return {"username": self.user, "password": self.password or ""}


def push(client: docker.DockerClient, source: str, ref: str, auth: dict | None = None) -> str:
    """Tag `source` as `ref` (host/repo:tag), push it; returns the pushed digest."""
    repository, tag = ref.rsplit(":", 1)
    client.api.tag(source, repository, tag)
    digest = ""
    for event in client.api.push(repository, tag, stream=True, decode=True, auth_config=auth):
        if "error" in event:
            raise RuntimeError(f"push {ref}: {event['error']}")
        digest = (event.get("aux") or {}).get("Digest", digest)
    return digest


def unique_image(client: docker.DockerClient, base: str, size: int = 2_000_000) -> str:
    """A new image: `base` plus one layer of random bytes (so a pull really downloads)."""
    tag = f"provisioner-test/unique-{uuid.uuid4().hex[:10]}:latest"
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as archive:
        dockerfile = (
            f"FROM {base}\nCOPY blob /provisioner-test-blob\nLABEL org.provisioner.test=1\n"
        )
        for name, data in (("Dockerfile", dockerfile.encode()), ("blob", os.urandom(size))):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    context.seek(0)
    for event in client.api.build(
        fileobj=context, custom_context=True, tag=tag, decode=True, rm=True
    ):
        if "error" in event:
            raise RuntimeError(event["error"])
    return tag


def remove_image(client: docker.DockerClient, ref: str) -> None:
    with contextlib.suppress(docker.errors.NotFound):
        client.api.remove_image(ref, force=True)


def docker_config(directory: Path, registry: Registry) -> Path:
    """A Docker config dir with the registry's login, as `docker login` writes it."""
    directory.mkdir(parents=True, exist_ok=True)
    token = base64.b64encode(f"{registry.user}:{registry.password}".encode()).decode()
    (directory / "config.json").write_text(json.dumps({"auths": {registry.host: {"auth": token}}}))
    return directory


class SecondEngine:
    """A private dockerd; `host` is its DOCKER_HOST."""

    def __init__(self, root: Path):
        self.root = root
        self.socket = root / "docker.sock"
        self.host = f"unix://{self.socket}"
        self.process: subprocess.Popen[bytes] | None = None
        # Its own default bridge, made here: `--bridge=none` would make dockerd delete the
        # host's docker0 at start-up, taking the shared engine's default network with it.
        self.bridge = f"prv{uuid.uuid4().hex[:8]}"

    def start(self) -> SecondEngine:
        for name in ("data", "exec"):
            (self.root / name).mkdir(parents=True, exist_ok=True)
        octet = int(self.bridge[3:5], 16)  # a /24 in 10.214.0.0/16, unlikely to collide
        for command in (
            ["ip", "link", "add", self.bridge, "type", "bridge"],
            ["ip", "addr", "add", f"10.214.{octet}.1/24", "dev", self.bridge],
            ["ip", "link", "set", self.bridge, "up"],
        ):
            subprocess.run(command, check=True, capture_output=True)
        log = open(self.root / "dockerd.log", "ab")  # noqa: SIM115 - the process keeps it
        self.process = subprocess.Popen(
            [
                "dockerd",
                f"--data-root={self.root / 'data'}",
                f"--exec-root={self.root / 'exec'}",
                f"--pidfile={self.root / 'dockerd.pid'}",
                f"--host={self.host}",
                f"--bridge={self.bridge}",
                "--iptables=false",
                "--ip6tables=false",
                "--default-address-pool=base=10.213.0.0/16,size=24",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                client = docker.DockerClient(base_url=self.host)
                client.ping()
                client.close()
                return self
            except Exception:  # noqa: BLE001 - not up yet
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError(
                        "second dockerd did not start:\n"
                        + (self.root / "dockerd.log").read_text()[-3000:]
                    ) from None
                time.sleep(0.2)

    def client(self) -> docker.DockerClient:
        return docker.DockerClient(base_url=self.host, timeout=300)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        subprocess.run(["umount", "-R", str(self.root / "exec")], capture_output=True)
        subprocess.run(["ip", "link", "del", self.bridge], capture_output=True)
        shutil.rmtree(self.root, ignore_errors=True)
