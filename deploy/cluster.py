"""`make cluster`: N Streamlit processes and the JSON API on loopback ports behind HAProxy, plus one
`gridwise scheduler`.

    python -m deploy.cluster [--replicas 2] [--port 8443] [--http-port 8080]

HTTPS: HAProxy terminates TLS on ``--port`` with the certificate in GRIDWISE_TLS_PEM (a PEM file holding the
certificate chain and its private key: the path for a real certificate, deploy/README.md) or, without it, a
self-signed one made for 127.0.0.1/localhost at the first start (var/cluster/tls/, the ``cryptography``
package); plain HTTP on ``--http-port`` is redirected to HTTPS.

Runs on PostgreSQL only (GRIDWISE_DATABASE_URL): the processes share the sign-in sessions, quiz attempts and
everything else through it, and SQLite is one file that one process at a time may write. Every replica gets
the same ``server.cookieSecret`` (GRIDWISE_COOKIE_SECRET, or one generated once into var/cluster/), so a
browser moved to another replica keeps a valid XSRF token. HAProxy keeps each browser on one replica with its
own cookie (deploy/haproxy.cfg); when that replica dies, the browser reconnects to another and the session
cookie signs it in again there. The API (`gridwise api`, one process) answers under the same address: HAProxy
routes every path under /api/ to it, without stickiness. Ctrl-C stops everything. The browser test (tests/e2e/test_cluster.py)
starts the same processes through ``start``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import ipaddress
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "deploy" / "haproxy.cfg"


class ClusterError(RuntimeError):
    """The cluster cannot start; the message says why and what to do."""


def check_database(url: str) -> None:
    """Refuse anything but PostgreSQL, with the reason and the fix."""
    if not url.startswith("postgresql"):
        raise ClusterError(
            f"make cluster needs PostgreSQL, and GRIDWISE_DATABASE_URL is {url.split('://')[0]}://…: several "
            "processes share the database, and SQLite lets one process write at a time. Set e.g. "
            "GRIDWISE_DATABASE_URL=postgresql+psycopg://gridwise@127.0.0.1:5432/gridwise, then `gridwise migrate`, "
            "`gridwise create-admin NAME` (or GRIDWISE_DEMO=true for the demo district) and `make cluster` again."
        )


def haproxy_binary() -> str:
    exe = shutil.which("haproxy") or ("/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").exists() else None)
    if exe is None:
        raise ClusterError(
            "HAProxy is not installed: `make browser-deps` installs it (apt-get install haproxy)"
        )
    return exe


def haproxy_config(
    bind: str, replicas: list[tuple[str, int]], api: Sequence[tuple[str, int]] = (), redirect: str = ""
) -> str:
    """deploy/haproxy.cfg with its listen address, one `server` line per replica and one per API process."""
    servers = "\n".join(f"    server {name} 127.0.0.1:{port} cookie {name}" for name, port in replicas)
    api_servers = "\n".join(f"    server {name} 127.0.0.1:{port}" for name, port in api)
    return (
        TEMPLATE.read_text(encoding="utf-8")
        .replace("{bind}", bind)
        .replace("{servers}", servers)
        .replace("{api_servers}", api_servers)
        .replace("{redirect}", redirect)
    )


def self_signed_pem(work_dir: Path) -> Path:
    """A certificate for the local cluster (127.0.0.1, ::1, localhost; 1 year) and its key in one PEM file,
    as HAProxy's ``crt`` wants it; made once and kept in ``work_dir/tls``. Never for production."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    pem = work_dir / "tls" / "cluster.pem"
    if pem.exists():
        return pem
    pem.parent.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Gridwise local cluster (self-signed)")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                    x509.IPAddress(ipaddress.ip_address("::1")),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM) + key_pem)
    pem.chmod(0o600)
    return pem


def redirect_frontend(http_bind: str, https_port: int) -> str:
    """A frontend on plain HTTP that sends every request to the same host and path over HTTPS on
    ``https_port`` (in production, :80 → :443, ``redirect scheme https`` does the same)."""
    return (
        f"frontend gridwise_http\n    bind {http_bind}\n"
        f"    http-request redirect prefix https://%[req.hdr(host),field(1,:)]:{https_port} code 301\n"
    )


def cookie_secret(work_dir: Path) -> str:
    """GRIDWISE_COOKIE_SECRET, else one secret generated once and kept (0600) for every later start."""
    if value := os.environ.get("GRIDWISE_COOKIE_SECRET"):
        return value
    path = work_dir / "cookie_secret"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(
    url: str, process: subprocess.Popen, log: Path, timeout: float = 90, expect: str = "ok"
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            # The local cluster's own self-signed certificate: this is a liveness probe, not a trust decision.
            context = ssl._create_unverified_context() if url.startswith("https:") else None  # noqa: S323
            with urllib.request.urlopen(url, timeout=2, context=context) as r:
                if expect in r.read().decode().strip():
                    return
        except OSError:
            time.sleep(0.25)
    raise ClusterError(f"{url} did not answer:\n{log.read_text(errors='replace')[-3000:]}")


@dataclass
class Cluster:
    url: str
    replicas: dict[str, tuple[int, subprocess.Popen]]  # name → (port, process)
    proxy: subprocess.Popen
    scheduler: subprocess.Popen | None
    logs: Path
    database_url: str
    api: subprocess.Popen | None = None
    http_port: int | None = None  # plain HTTP that redirects to the HTTPS address (tls only)

    def kill_replica(self, name: str) -> None:
        """Stop one replica at once (SIGKILL: a crash, not a goodbye)."""
        _port, process = self.replicas[name]
        process.kill()
        process.wait(timeout=10)

    def processes(self) -> list[subprocess.Popen]:
        return (
            [p for _port, p in self.replicas.values()]
            + [self.proxy]
            + [p for p in (self.scheduler, self.api) if p is not None]
        )

    def stop(self) -> None:
        for process in self.processes():
            if process.poll() is None:
                process.terminate()
        for process in self.processes():
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def start(
    *,
    replicas: int = 2,
    port: int = 8080,
    database_url: str,
    work_dir: Path,
    scheduler: bool = True,
    python: str = sys.executable,
    extra_env: dict[str, str] | None = None,
    api: bool = True,
    tls: bool = False,
    http_port: int | None = None,
) -> Cluster:
    """Start the replicas, the API, the scheduler and HAProxy; return once HAProxy answers /_stcore/health
    (and /api/v1/health when the API runs)."""
    check_database(database_url)
    exe = haproxy_binary()
    work_dir.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        **(extra_env or {}),
        "GRIDWISE_DATABASE_URL": database_url,
        "GRIDWISE_SCHEDULER_ENABLED": "false",  # one scheduler process for the whole cluster, below
        "STREAMLIT_SERVER_COOKIE_SECRET": cookie_secret(work_dir),
    }
    started: dict[str, tuple[int, subprocess.Popen]] = {}
    for i in range(1, replicas + 1):
        name, replica_port = f"r{i}", free_port()
        log = work_dir / f"{name}.log"
        with open(log, "wb") as out:
            process = subprocess.Popen(
                [
                    python,
                    "-m",
                    "streamlit",
                    "run",
                    "ui/server.py",
                    "--server.headless",
                    "true",
                    "--server.address",
                    "127.0.0.1",
                    "--server.port",
                    str(replica_port),
                    "--server.fileWatcherType",
                    "none",
                    "--browser.gatherUsageStats",
                    "false",
                ],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        started[name] = (replica_port, process)
    sched = None
    if scheduler:
        with open(work_dir / "scheduler.log", "wb") as out:
            sched = subprocess.Popen(
                [python, "-m", "core.cli", "scheduler"],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
    api_process, api_port = None, free_port()
    if api:  # `gridwise api`: stateless per call, so HAProxy routes /api/ to it without a cookie
        with open(work_dir / "api.log", "wb") as out:
            api_process = subprocess.Popen(
                [python, "-m", "core.cli", "api", "--host", "127.0.0.1", "--port", str(api_port)],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
    for name, (replica_port, process) in started.items():
        _wait_for(f"http://127.0.0.1:{replica_port}/_stcore/health", process, work_dir / f"{name}.log")
    if api_process is not None:
        _wait_for(
            f"http://127.0.0.1:{api_port}/api/v1/health", api_process, work_dir / "api.log", expect='"ok"'
        )
    config = work_dir / "haproxy.cfg"
    bind, scheme = f"127.0.0.1:{port}", "http"
    if tls:  # HAProxy terminates TLS; the app hears X-Forwarded-Proto: https from it (a trusted proxy)
        pem = Path(os.environ["GRIDWISE_TLS_PEM"]) if os.environ.get("GRIDWISE_TLS_PEM") else None
        bind, scheme = f"{bind} ssl crt {pem or self_signed_pem(work_dir)}", "https"
    config.write_text(
        haproxy_config(
            bind,
            [(n, p) for n, (p, _) in started.items()],
            [("api1", api_port)] if api_process is not None else [],
            redirect_frontend(f"127.0.0.1:{http_port}", port) if tls and http_port else "",
        )
    )
    with open(work_dir / "haproxy.log", "wb") as out:
        proxy = subprocess.Popen([exe, "-db", "-f", str(config)], stdout=out, stderr=subprocess.STDOUT)
    cluster = Cluster(
        f"{scheme}://127.0.0.1:{port}",
        started,
        proxy,
        sched,
        work_dir,
        database_url,
        api_process,
        http_port if tls else None,
    )
    try:
        _wait_for(f"{cluster.url}/_stcore/health", proxy, work_dir / "haproxy.log", timeout=30)
        if api_process is not None:
            _wait_for(
                f"{cluster.url}/api/v1/health", proxy, work_dir / "haproxy.log", timeout=30, expect='"ok"'
            )
    except ClusterError:
        cluster.stop()
        raise
    return cluster


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make cluster", description=__doc__.split("\n\n")[0])
    parser.add_argument("--replicas", type=int, default=int(os.environ.get("REPLICAS", 2)))
    parser.add_argument("--port", type=int, default=int(os.environ.get("CLUSTER_PORT", 8443)))
    parser.add_argument("--http-port", type=int, default=int(os.environ.get("CLUSTER_HTTP_PORT", 8080)))
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from core.settings import VAR_DIR, get_settings

    url = get_settings().database_url
    try:
        check_database(url)
        # The demo district only when asked (GRIDWISE_DEMO=true); a production cluster starts from
        # `gridwise create-admin NAME` and refuses to start beside demo accounts (core.instance).
        steps = [["migrate"]] + ([["seed-demo", "--if-empty"]] if get_settings().demo else [])
        for step in steps:
            subprocess.run([sys.executable, "-m", "core.cli", *step], cwd=ROOT, check=True)
        from core.db import get_engine
        from core.instance import InstanceRefused, check_instance

        try:
            check_instance(get_engine(url))
        except InstanceRefused as exc:
            raise ClusterError(str(exc)) from None
        cluster = start(
            replicas=args.replicas,
            port=args.port,
            database_url=url,
            work_dir=VAR_DIR / "cluster",
            tls=True,
            http_port=args.http_port,
        )
    except ClusterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(
        f"Gridwise on {cluster.url} (http://127.0.0.1:{args.http_port} redirects there; {args.replicas} Streamlit processes and the API under /api/ behind "
        "HAProxy, one scheduler); "
        f"logs in {cluster.logs}. Ctrl-C stops everything.",
        flush=True,
    )
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        while all(p.poll() is None for p in cluster.processes()):
            time.sleep(1)
        print("a process of the cluster stopped; stopping the others (see the logs)", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        cluster.stop()


if __name__ == "__main__":
    sys.exit(main())
