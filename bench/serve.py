"""The servers a benchmark runs against, each on a free loopback port, each stopped on exit.

    nginx(root)            a folder served as static files, with ETag and Last-Modified
    aggregator(config)     the service itself, started as `python run.py --config CONFIG`

Both need nothing but 127.0.0.1; both wait until the port answers and give up after a
bounded time, so a benchmark never hangs on a server that did not start.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
START_SECONDS = 30.0
STOP_SECONDS = 10.0
NGINX_CONF = """daemon off; worker_processes 1; pid {dir}/nginx.pid; error_log {dir}/error.log;
events {{ worker_connections 1024; }}
http {{ access_log off; default_type application/xml; {formats}
  server {{ listen 127.0.0.1:{port}; root {root}; etag on; gzip_static on; {extra} }} }}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode} before serving")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not answer on port {port} within {START_SECONDS:.0f} s")


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL if it has not gone within STOP_SECONDS."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def nginx(root: Path, extra: str = "", log: Path | None = None) -> Iterator[str]:
    """Serve `root` with nginx (one worker) on a free loopback port, with `extra`
    directives in its server block; yield its base URL. With `log`, each request is
    logged there as "SECONDS.MILLISECONDS STATUS URI" (`$msec`: the time it was served)."""
    folder = Path(tempfile.mkdtemp(prefix="aggbench-nginx-"))
    port = free_port()
    conf = folder / "nginx.conf"
    formats = "log_format bench '$msec $status $request_uri';" if log else ""
    if log:
        extra += f" access_log {log} bench;"
    text = NGINX_CONF.format(dir=folder, port=port, root=root, extra=extra, formats=formats)
    conf.write_text(text)
    # nginx's workers run as another user: they must be able to read the files.
    temp = Path(tempfile.gettempdir())
    for path in (root, *root.parents):
        if temp not in path.parents:
            break
        os.chmod(path, os.stat(path).st_mode | 0o055)
    process = subprocess.Popen(["nginx", "-c", str(conf), "-p", str(folder)])
    try:
        wait_for_port(port, process, "nginx")
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(process)
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def aggregator(config: Path, port: int, log: Path) -> Iterator[str]:
    """Run the service as users run it (`run.py`, so uvicorn as service.py sets it up)
    with `config`, which must listen on `port`; its log goes to `log`."""
    command = [sys.executable, str(ROOT / "run.py"), "--config", str(config)]
    with log.open("wb") as sink:
        process = subprocess.Popen(command, cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT)
        try:
            try:
                wait_for_port(port, process, "aggregator")
            except RuntimeError as e:
                tail = log.read_text(errors="replace").splitlines()[-5:]
                raise RuntimeError("\n".join([str(e), *tail])) from e
            base = f"http://127.0.0.1:{port}"
            httpx.get(f"{base}/healthz", timeout=START_SECONDS).raise_for_status()
            yield base
        finally:
            stop(process)


def write_config(path: Path, port: int, database: Path, sources: list[dict[str, str]]) -> None:
    """A service config with one story, `bench`, and these [[sources]] (string values)."""
    lines = [
        "[service]",
        f'database_url = "sqlite:///{database}"',
        'host = "127.0.0.1"',
        f"port = {port}",
        'timezone = "UTC"',
        "",
        "[[stories]]",
        'id = "bench"',
        'title = "Bench"',
    ]
    for source in sources:
        lines += ["", "[[sources]]", 'story = "bench"']
        lines += [f'{key} = "{value}"' for key, value in source.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
