"""A real two-node Ray cluster on this machine, on loopback addresses only, for tests and bench.

    with TwoNodeCluster(ray_bin) as c:     # `ray start --head` and a second `ray start`
        c.address                          # "127.0.0.2:PORT"
        c.env                              # environment for drivers (HOME, RAY_* settings)

The head runs at 127.0.0.2 and the second node at 127.0.0.3, each with one CPU and a small
object store. Not 127.0.0.1: Ray rewrites 127.0.0.1 and "localhost" to the machine's routable
address (ray._private.services.resolve_ip_for_localhost), which would send the cluster's
traffic to the network interface; other 127.x addresses are taken as they are, and stay on
the loopback device.

Each node is `ray start --block` in a session of its own: stopping it (SIGTERM) stops the
processes it started (after a job, Ray's own graceful stop takes ~30 s, so it gets a few
seconds); whatever is left is killed by process group and, last, by finding the processes
that name this cluster's own temporary folder. Ray's files (its session logs and the
token of its token authentication, under HOME) go to that folder, removed at the end. Every
wait is bounded.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

HEAD_IP, NODE_IP = "127.0.0.2", "127.0.0.3"


def free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class TwoNodeCluster:
    def __init__(self, ray_bin: str, cpus_per_node: int = 1, start_timeout: float = 120,
                 stop_grace: float = 5) -> None:
        self.ray_bin, self.cpus, self.start_timeout = ray_bin, cpus_per_node, start_timeout
        self.stop_grace = stop_grace
        # short: Ray's Unix socket paths live under it and must stay under 108 bytes
        self.dir = tempfile.mkdtemp(prefix="fur", dir="/tmp")
        self.port = free_port(HEAD_IP)
        self.address = f"{HEAD_IP}:{self.port}"
        # drivers wait for a whole actor pool before they start, so that every node gets work
        self.env = dict(os.environ, HOME=self.dir, RAY_TMPDIR=self.dir,
                        RAY_USAGE_STATS_ENABLED="0", RAY_DATA_DEFAULT_WAIT_FOR_MIN_ACTORS_S="120")
        self.env.pop("RAY_ADDRESS", None)
        self.procs: list[subprocess.Popen] = []

    def _start(self, name: str, *args: str) -> None:
        log = open(os.path.join(self.dir, f"{name}.log"), "wb")
        self.procs.append(subprocess.Popen(
            [self.ray_bin, "start", "--block", "--disable-usage-stats",
             f"--num-cpus={self.cpus}", "--object-store-memory=100000000", *args],
            env=self.env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True))
        log.close()

    def log(self) -> str:
        out = []
        for name in ("head", "node"):
            try:
                with open(os.path.join(self.dir, f"{name}.log"), errors="replace") as f:
                    out.append(f"--- {name}\n" + f.read()[-3000:])
            except OSError:
                pass
        return "\n".join(out)

    def __enter__(self) -> TwoNodeCluster:
        try:
            self._start("head", "--head", f"--node-ip-address={HEAD_IP}", f"--port={self.port}",
                        "--include-dashboard=false", f"--temp-dir={self.dir}/ray")
            self._wait_port()
            self._start("node", f"--address={self.address}", f"--node-ip-address={NODE_IP}")
            self._wait_nodes(2)
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _wait_port(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.procs[0].poll() is not None:
                raise RuntimeError("ray start --head exited\n" + self.log())
            try:
                socket.create_connection((HEAD_IP, self.port), 0.5).close()
                return
            except OSError:
                time.sleep(0.2)
        raise TimeoutError("the Ray head did not listen in time\n" + self.log())

    def _wait_nodes(self, n: int) -> None:
        """Until `ray status` on the head lists n live nodes."""
        deadline = time.monotonic() + self.start_timeout
        out = ""
        while time.monotonic() < deadline:
            if any(p.poll() is not None for p in self.procs):
                raise RuntimeError("a ray start exited\n" + self.log())
            p = subprocess.run([self.ray_bin, "status", f"--address={self.address}"],
                               env=self.env, capture_output=True, text=True, timeout=60)
            out = p.stdout
            active = out.split("Active:", 1)[-1].split("Pending:", 1)[0]
            if p.returncode == 0 and active.count("node_") >= n:
                return
            time.sleep(1)
        raise TimeoutError(f"{n} Ray nodes did not come up in time\n{out}\n" + self.log())

    def own_pids(self) -> list[int]:
        """Processes that name this cluster's folder (ours, and only ours)."""
        pids = []
        for d in os.listdir("/proc"):
            if not d.isdigit() or int(d) == os.getpid():
                continue
            try:
                with open(f"/proc/{d}/cmdline", "rb") as f:
                    cmd = f.read()
                with open(f"/proc/{d}/environ", "rb") as f:
                    env = f.read()
            except OSError:
                continue
            if self.dir.encode() in cmd or f"HOME={self.dir}\0".encode() in env:
                pids.append(int(d))
        return pids

    def stop(self) -> list[int]:
        """Stop both nodes; returns the processes that had to be killed after the grace time."""
        for p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.stop_grace
        for p in self.procs:
            try:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for p in self.procs:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            p.wait(timeout=10)
        deadline, killed = time.monotonic() + 20, []
        while (left := self.own_pids()) and time.monotonic() < deadline:
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                except ProcessLookupError:
                    pass
            time.sleep(0.2)
        self.leftover = self.own_pids()
        shutil.rmtree(self.dir, ignore_errors=True)
        return killed
