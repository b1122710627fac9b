"""Real Ray nodes on this machine for the cluster tests, and the means to stop every one.

Everything a test starts lives under one private folder (``root``): each node's
``--temp-dir`` (or, with ``shared_temp_dir``, Ray's default temp folder that every node
shares, moved under ``root`` by ``RAY_TMPDIR``), the token, the sshd state. Stopping means: end each ``ray start --block``
process group we spawned, then end any process left whose command line names ``root``
(Ray's workers, agents and the GCS all carry their session folder there). Nothing else on
the machine is touched: no plain ``ray stop``, no kill by process name.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import ExitStack
from pathlib import Path
from typing import Callable, Iterable

__all__ = [
    "REPO",
    "RAY_CLI",
    "LocalRayCluster",
    "free_ports",
    "http_status",
    "kill_processes",
    "pids_matching",
    "pids_of_user",
    "ray_auth_env",
    "wait_for",
    "write_token",
]

REPO = Path(__file__).resolve().parents[1]
RAY_CLI = Path(sys.executable).with_name("ray")


def free_ports(count: int) -> list[int]:
    """``count`` distinct TCP ports free on 127.0.0.1 right now."""
    with ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(count)]
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]


def write_token(path: Path) -> str:
    """A fresh cluster token in ``path`` (mode 600, its folder 700), as `make cluster-up` makes it."""
    import secrets

    path.parent.mkdir(parents=True, exist_ok=True)
    path.parent.chmod(0o700)
    token = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token)
    return token


def ray_auth_env(token_path: Path, base: dict[str, str] | None = None) -> dict[str, str]:
    """An environment for Ray processes and clients: token auth on, this token, no telemetry."""
    env = dict(os.environ if base is None else base)
    for key in ("RAY_AUTH_TOKEN", "RAY_ADDRESS", "RAY_API_SERVER_ADDRESS"):
        env.pop(key, None)
    env.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN_PATH=str(token_path), RAY_USAGE_STATS_ENABLED="0")
    return env


def http_status(url: str, token: str | None = None, method: str = "GET", timeout: float = 10.0) -> int:
    """The HTTP status of one request, with ``Authorization: Bearer <token>`` if given."""
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    request = urllib.request.Request(url, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as err:
        return err.code


def wait_for(predicate: Callable[[], object], timeout: float, what: str, interval: float = 0.5) -> object:
    """Poll ``predicate`` until it is truthy; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Exception as err:  # noqa: BLE001 - keep polling, report the last one
            last_error = err
        time.sleep(interval)
    raise TimeoutError(f"gave up after {timeout:.0f}s waiting for {what} (last error: {last_error!r})")


def _proc_entries() -> Iterable[tuple[int, str, int]]:
    """(pid, command line, uid) of every process this user may read."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            uid = entry.stat().st_uid
        except OSError:
            continue
        yield int(entry.name), cmdline, uid


def _session_of(pid: int) -> int | None:
    try:
        return os.getsid(pid)
    except OSError:
        return None


def pids_matching(marker: str) -> list[int]:
    """Processes whose command line contains ``marker`` (this process excluded)."""
    me = os.getpid()
    return [pid for pid, cmd, _ in _proc_entries() if marker in cmd and pid != me]


def pids_of_user(uid: int) -> list[int]:
    """Processes owned by ``uid``."""
    return [pid for pid, _, owner in _proc_entries() if owner == uid]


def kill_processes(pids: Iterable[int], grace: float = 10.0) -> None:
    """SIGTERM these processes, SIGKILL whichever is still there after ``grace`` seconds."""
    pids = list(pids)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + grace
    alive = pids
    while alive and time.monotonic() < deadline:
        time.sleep(0.2)
        alive = [pid for pid in alive if Path(f"/proc/{pid}").exists() and not _is_zombie(pid)]
    for pid in alive:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _is_zombie(pid: int) -> bool:
    try:
        return (Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]) == "Z"
    except (OSError, IndexError):
        return True


class LocalRayCluster:
    """A head and workers started with ``ray start --block`` on 127.0.0.1, token auth on.

    Each node has its own ``--temp-dir`` under ``root`` and its own ports, so it coexists
    with any other Ray on the machine. With ``shared_temp_dir`` the nodes are started as a
    user starts them on one machine: no ``--temp-dir``, so all share Ray's default temp
    folder (``$RAY_TMPDIR/ray``, with ``RAY_TMPDIR`` = ``root``: the machine's /tmp/ray stays
    out of it) and one session folder. ``stop()`` ends exactly what this object started.
    """

    def __init__(self, root: Path, token_path: Path, shared_temp_dir: bool = False) -> None:
        self.root = root
        self.token_path = token_path
        self.token = token_path.read_text().strip()
        self.env = ray_auth_env(token_path)
        self.shared_temp_dir = shared_temp_dir
        if shared_temp_dir:
            self.env["RAY_TMPDIR"] = str(root)
        self.procs: list[subprocess.Popen] = []
        self.starts: list[tuple[str, list[str]]] = []  # (name, args) of each proc, to start it again
        self.start_env: list[dict[str, str | None] | None] = []  # each proc's own environment variables
        self.joined: set[int] = set()  # procs whose node was seen ALIVE: never started again
        self.sessions: set[int] = set()  # each `ray start` leads one: its node's processes, workers included
        self.gcs_port, self.dashboard_port, self.client_port = free_ports(3)
        self.nodes = 0

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.gcs_port}"

    @property
    def dashboard_url(self) -> str:
        return f"http://127.0.0.1:{self.dashboard_port}"

    def _start(self, name: str, args: list[str], slot: int | None = None,
               env: dict[str, str | None] | None = None) -> None:
        """Start node ``name``; with ``slot``, in place of the proc there (same args, fresh ports and folder).

        ``env``: variables for this node only (None removes one).
        """
        agent, agent_grpc, metrics, runtime_env = free_ports(4)
        temp_dir = self.root / name
        temp_dir.mkdir(parents=True, exist_ok=True)
        command = [
            str(RAY_CLI), "start", "--block",
            "--node-ip-address=127.0.0.1",
            *([] if self.shared_temp_dir else [f"--temp-dir={temp_dir}"]),
            f"--dashboard-agent-listen-port={agent}",
            f"--dashboard-agent-grpc-port={agent_grpc}",
            f"--metrics-export-port={metrics}",
            f"--runtime-env-agent-port={runtime_env}",
            "--object-store-memory=150000000",
            "--disable-usage-stats",
            *args,
        ]
        log = open(self.root / f"{name}.log", "wb")  # noqa: SIM115 - lives as long as the node
        proc = subprocess.Popen(
            command, env={k: v for k, v in {**self.env, **(env or {})}.items() if v is not None},
            stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )
        self.sessions.add(proc.pid)
        if slot is None:
            self.procs.append(proc)
            self.starts.append((name, args))
            self.start_env.append(env)
            self.nodes += 1
        else:
            self.procs[slot] = proc
            self.starts[slot] = (name, args)

    def _log_tail(self, name: str, lines: int = 8) -> str:
        try:
            return " | ".join((self.root / f"{name}.log").read_text(errors="replace").splitlines()[-lines:])
        except OSError as err:
            return f"(no log: {err})"

    def _restart_workers_that_never_joined(self) -> None:
        """A worker whose ``ray start`` exited before its node was ever ALIVE is started once more.

        On a loaded 2-core machine a node now and then fails to come up (a port another process took
        between :func:`free_ports` and Ray binding it); that is the harness's hiccup, not the test's.
        A node that was ALIVE once is never brought back: tests kill nodes on purpose.
        """
        for slot, proc in enumerate(self.procs):
            name, args = self.starts[slot]
            if slot in self.joined or name == "head" or proc.poll() is None:
                continue
            if name.endswith("-retry"):
                continue  # this one already had its second chance
            print(f"cluster harness: {name} exited ({proc.returncode}) before joining; starting it again. "
                  f"Its log: {self._log_tail(name)}", file=sys.stderr)
            kill_processes(pids_matching(str(self.root / name) + os.sep))
            self._start(f"{name}-retry", args, slot=slot, env=self.start_env[slot])

    def start_head(self, num_cpus: int = 0, resources: dict | None = None) -> None:
        self._start("head", [
            "--head",
            f"--port={self.gcs_port}",
            "--dashboard-host=127.0.0.1",
            f"--dashboard-port={self.dashboard_port}",
            f"--ray-client-server-port={self.client_port}",
            "--include-dashboard=true",
            f"--num-cpus={num_cpus}",
            "--num-gpus=0",
            f"--resources={json.dumps(resources or {})}",
        ])
        wait_for(lambda: http_status(self.dashboard_url + "/api/version", self.token) == 200,
                 90, f"the head's job API at {self.dashboard_url} ({self.root / 'head.log'})")

    def add_worker(self, num_cpus: int = 1, resources: dict | None = None, num_gpus: int = 0) -> None:
        """A worker node; ``num_gpus`` > 0 advertises GPUs this machine need not have.

        Ray refuses to advertise more GPUs than ``CUDA_VISIBLE_DEVICES`` lists, so that node starts without it.

        With a shared temp folder it starts once every node before it has joined, as a user's
        ``ray start`` commands run one after another: nodes started at the same instant in one
        session folder pick the same next free name for their raylet's socket and logs (Ray's
        ``_make_inc_temp`` checks which ``raylet.N`` exists), so one raylet dies on
        "bind: Address already in use" and its ``ray start`` times out after 30 s.
        """
        if self.shared_temp_dir and self.nodes >= 1:
            self.wait_for_nodes(self.nodes)
        self._start(f"worker{self.nodes}", [
            f"--address={self.address}",
            f"--num-cpus={num_cpus}",
            f"--num-gpus={num_gpus}",
            f"--resources={json.dumps(resources or {})}",
        ], env={"CUDA_VISIBLE_DEVICES": None} if num_gpus else None)

    def power_off(self, name: str) -> list[int]:
        """SIGKILL every process of node ``name`` at once, as when its machine loses power; the pids killed.

        That is the session its ``ray start`` leads (started with ``start_new_session``): the raylet,
        the agents and the workers. Matching command lines is not enough: Ray rewrites a worker's to
        ``ray::ImplicitFunc.train``, and a worker missed that way trained on for 3-4 s after its raylet
        died, finishing its trial and starting the next one on the lost node.
        """
        slot = next(slot for slot, (started, _) in enumerate(self.starts) if started in (name, f"{name}-retry"))
        victims = self._in_sessions({self.procs[slot].pid})
        for pid in victims:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return victims

    @staticmethod
    def _in_sessions(sessions: set[int]) -> list[int]:
        return [pid for pid, _, _ in _proc_entries() if _session_of(pid) in sessions and not _is_zombie(pid)]

    def leftovers(self) -> list[int]:
        """Live processes of this cluster: named by its folder, or in a session one of its ``ray start`` led.

        The folder alone misses Ray's workers (``ray::...`` command lines) when the nodes share Ray's
        default temp folder.
        """
        return sorted({*pids_matching(str(self.root)), *self._in_sessions(self.sessions)})

    def alive_nodes(self) -> list[dict]:
        """The nodes the state API reports ALIVE (through the job API, with the token)."""
        request = urllib.request.Request(
            self.dashboard_url + "/api/v0/nodes?limit=100",
            headers={"Authorization": f"Bearer {self.token}"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            payload = json.load(response)
        nodes = payload["data"]["result"]["result"]
        return [n for n in nodes if n.get("state") == "ALIVE"]

    def wait_for_nodes(self, count: int, timeout: float = 180) -> list[dict]:
        """The ALIVE nodes once there are ``count``; a worker that died before joining gets one restart."""
        def enough() -> list[dict] | None:
            self._restart_workers_that_never_joined()
            nodes = self.alive_nodes()
            return nodes if len(nodes) >= count else None

        try:
            nodes = wait_for(enough, timeout, f"{count} ALIVE nodes")
        except TimeoutError as err:
            states = "; ".join(
                f"{name}: running" if proc.poll() is None
                else f"{name}: exited {proc.returncode}, log: {self._log_tail(name, 3)}"
                for proc, (name, _) in zip(self.procs, self.starts))
            raise TimeoutError(f"{err}; nodes started: {states}") from None
        self.joined.update(slot for slot, proc in enumerate(self.procs) if proc.poll() is None)
        return nodes

    def stop(self) -> None:
        """End every process this cluster started; safe to call twice.

        SIGTERM goes to each ``ray start --block`` alone (workers first, then the head), which
        drains its node and ends its raylet and workers in order: a few seconds. Signalling
        the whole group instead kills the GCS under the head's drain and costs ~30 s.
        """
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(timeout=10)
        kill_processes(self.leftovers())
        self.procs.clear()
