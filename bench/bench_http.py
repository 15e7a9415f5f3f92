"""Throughput of the real HTTP server, beside a trivial endpoint measured in the same run.

    .venv/bin/python bench/bench_http.py [--workers 1,2] [--duration 5] [--connections 16]

For each worker count the script starts the real server (uvicorn with the app
factory ``eservice.web.app:create_app``, as ``eservice serve`` does, but without
the per-request access log) on 127.0.0.1 with a temporary data folder and the
example services, waits until ``/healthz`` answers, and measures for
``--duration`` seconds each:

* ``/healthz``                          requests/s of a trivial JSON endpoint (the baseline);
* ``/``                                 page renders/s of the landing page;
* ``/services/food-shop-permit``        page renders/s of a service page;
* API submissions/s                     create a draft, PUT its answers, submit
                                        (``licence-information-request``: no files), each
                                        a separate HTTP request over keep-alive, from
                                        ``--submitters`` Python threads with their own
                                        bearer token's account.

Every figure is printed beside the baseline's requests/s from the same run, with
the ratio, so machines can be compared.  GET measurements use ``wrk``
(``apt-get install wrk``); without it a small Python client is used instead, and
that client saturates before the server does (its numbers are a floor, not the
server's capacity).  The server is stopped at the end, whatever happens; the
data folder is deleted.  Loopback only.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
PASSWORD = "bench password 2566"
SUBMIT_SERVICE = "licence-information-request"
ANSWERS = {"licence_kind": "food_licence", "licence_number": "สอ.0123/2568", "purpose": "before_contract",
           "requester_name": "สมชาย ใจดี", "email": "bench@example.com", "accept_use": True}


# --------------------------------------------------------------------------- server
def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def seed_accounts(data: Path, count: int) -> list[str]:
    """Verified accounts for the submitters, written before the server starts."""
    from eservice.auth import Accounts
    from eservice.store import open_store

    store = open_store(data / "store")
    accounts = Accounts(store)
    emails = []
    for i in range(count):
        email = f"bench{i}@example.com"
        _user, token = accounts.register(email, PASSWORD, {"first_name": "สมชาย", "last_name": "ใจดี"})
        accounts.verify_email(token)
        emails.append(email)
    store.close()
    return emails


class Server:
    def __init__(self, data: Path, definitions: Path, workers: int):
        self.port = free_port()
        env = dict(os.environ, ESERVICE_DATA=str(data), ESERVICE_DEFINITIONS=str(definitions),
                   ESERVICE_BASE_URL=f"http://{HOST}:{self.port}")  # the app does not start without one
        env.pop("ESERVICE_DEBUG", None)
        self.log = open(data / "server.log", "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "eservice.web.app:create_app", "--factory",
             "--host", HOST, "--port", str(self.port), "--workers", str(workers),
             "--log-level", "warning", "--no-access-log"],
            env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server stopped (exit {self.proc.returncode}); see {self.log.name}")
            try:
                conn = http.client.HTTPConnection(HOST, self.port, timeout=2)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    conn.close()
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError("the server did not answer /healthz in time")

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)  # the server we started and its workers
                self.proc.wait(timeout=15)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(timeout=5)
        self.log.close()

    def url(self, path: str) -> str:
        return f"http://{HOST}:{self.port}{path}"


# --------------------------------------------------------------------------- clients
@dataclass
class Result:
    rate: float
    errors: int = 0
    note: str = ""
    extra: dict = field(default_factory=dict)


def run_wrk(url: str, duration: int, connections: int, threads: int) -> Result:
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency", url],
                         capture_output=True, text=True, timeout=duration + 30).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = (int(bad.group(1)) if bad else 0) + (sum(map(int, sock.groups())) if sock else 0)
    p50 = re.search(r"50%\s+([\d.]+\w+)", out)
    p99 = re.search(r"99%\s+([\d.]+\w+)", out)
    return Result(rate, errors, extra={"p50": p50.group(1) if p50 else "?", "p99": p99.group(1) if p99 else "?"})


def run_python_get(port: int, path: str, duration: float, connections: int) -> Result:
    """Keep-alive GETs from ``connections`` threads (the client saturates first)."""
    counts = [0] * connections
    errors = [0] * connections
    stop = time.monotonic() + duration

    def worker(i: int) -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=10)
        while time.monotonic() < stop:
            try:
                conn.request("GET", path)
                response = conn.getresponse()
                response.read()
                if response.status == 200:
                    counts[i] += 1
                else:
                    errors[i] += 1
            except OSError:
                errors[i] += 1
                conn.close()
                conn = http.client.HTTPConnection(HOST, port, timeout=10)
        conn.close()

    started = time.monotonic()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return Result(sum(counts) / (time.monotonic() - started), sum(errors), note="python client")


def _call(conn: http.client.HTTPConnection, method: str, path: str, body: dict | None,
          headers: dict[str, str]) -> tuple[int, dict]:
    data = json.dumps(body).encode("utf-8") if body is not None else None
    conn.request(method, path, body=data, headers={"Content-Type": "application/json", **headers})
    response = conn.getresponse()
    raw = response.read()
    return response.status, (json.loads(raw) if raw else {})


def get_token(port: int, email: str) -> str:
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    status, body = _call(conn, "POST", "/api/tokens", {"email": email, "password": PASSWORD}, {})
    conn.close()
    if status != 201:
        raise RuntimeError(f"no token for {email}: {status} {body}")
    return body["token"]


def run_submissions(port: int, tokens: list[str], duration: float) -> Result:
    """create → PUT answers → submit, in a loop per thread, over keep-alive."""
    done = [0] * len(tokens)
    requests = [0] * len(tokens)
    failures: list[str] = []
    stop = time.monotonic() + duration

    def worker(i: int) -> None:
        headers = {"Authorization": f"Bearer {tokens[i]}"}
        conn = http.client.HTTPConnection(HOST, port, timeout=30)
        while time.monotonic() < stop:
            try:
                status, draft = _call(conn, "POST", "/api/applications", {"service": SUBMIT_SERVICE}, headers)
                requests[i] += 1
                if status != 201:
                    failures.append(f"create {status}")
                    continue
                status, draft = _call(conn, "PUT", f"/api/applications/{draft['id']}/answers",
                                      {"answers": ANSWERS, "version": draft["version"]}, headers)
                requests[i] += 1
                if status != 200:
                    failures.append(f"answers {status}")
                    continue
                status, body = _call(conn, "POST", f"/api/applications/{draft['id']}/submit",
                                     {"declaration": draft["declaration"], "intent": True}, headers)
                requests[i] += 1
                if status != 201:
                    failures.append(f"submit {status}: {body.get('error', {}).get('code')}")
                    continue
                done[i] += 1
            except OSError as exc:
                failures.append(type(exc).__name__)
                conn.close()
                conn = http.client.HTTPConnection(HOST, port, timeout=30)
        conn.close()

    started = time.monotonic()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(tokens))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    kinds = sorted(set(failures))
    return Result(sum(done) / elapsed, len(failures), note=", ".join(kinds[:3]),
                  extra={"requests_per_s": sum(requests) / elapsed, "submitted": sum(done)})


# --------------------------------------------------------------------------- main
def measure(workers: int, args: argparse.Namespace, use_wrk: bool) -> list[tuple[str, Result]]:
    data = Path(tempfile.mkdtemp(prefix="eservice-bench-"))
    server = None
    try:
        emails = seed_accounts(data, args.submitters)
        server = Server(data, args.definitions.resolve(), workers)
        server.wait_ready()

        def get(path: str) -> Result:
            if use_wrk:
                return run_wrk(server.url(path), args.duration, args.connections, args.threads)
            return run_python_get(server.port, path, args.duration, args.connections)

        for path in ("/healthz", "/", "/services/food-shop-permit"):  # warm up every worker's caches
            get_quick = http.client.HTTPConnection(HOST, server.port, timeout=30)
            for _ in range(workers * 4):
                get_quick.request("GET", path)
                get_quick.getresponse().read()
            get_quick.close()
        results = [("GET /healthz (baseline)", get("/healthz")),
                   ("GET / (landing page)", get("/")),
                   ("GET /services/food-shop-permit", get("/services/food-shop-permit"))]
        tokens = [get_token(server.port, email) for email in emails]
        results.append((f"API submissions ({args.submitters} threads)", run_submissions(server.port, tokens,
                                                                                       args.duration)))
        return results
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(data, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", default="1,2", help="worker counts to measure, e.g. 1,2")
    parser.add_argument("--duration", type=int, default=5, help="seconds per measurement")
    parser.add_argument("--connections", type=int, default=16, help="open connections (wrk -c)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--submitters", type=int, default=8, help="threads submitting through the API")
    parser.add_argument("--definitions", type=Path, default=ROOT / "service_definitions")
    args = parser.parse_args(argv)
    use_wrk = shutil.which("wrk") is not None
    if not use_wrk:
        print("wrk is not installed (Debian/Ubuntu: sudo apt-get install wrk); using a small Python client "
              "instead, which saturates before the server: GET figures below are a floor.\n", file=sys.stderr)
    print(f"eservice HTTP benchmark: {os.cpu_count()} CPU(s), {args.duration} s per measurement, "
          f"{args.connections} connections, client: {'wrk' if use_wrk else 'python'}; the client runs on the "
          "same machine and takes CPU from the server.")
    for workers in [int(w) for w in args.workers.split(",") if w.strip()]:
        results = measure(workers, args, use_wrk)
        baseline = results[0][1].rate
        print(f"\n--workers {workers}")
        print(f"  {'measurement':<40} {'per second':>12} {'vs /healthz':>12}  notes")
        for name, result in results:
            ratio = result.rate / baseline if baseline else 0.0
            notes = []
            if "p50" in result.extra:
                notes.append(f"p50 {result.extra['p50']}, p99 {result.extra['p99']}")
            if "requests_per_s" in result.extra:
                notes.append(f"{result.extra['requests_per_s']:.1f} HTTP requests/s, "
                             f"{result.extra['submitted']} submitted")
            if result.errors:
                notes.append(f"{result.errors} errors ({result.note})" if result.note else f"{result.errors} errors")
            elif result.note:
                notes.append(result.note)
            print(f"  {name:<40} {result.rate:>12.1f} {ratio:>11.3f}x  {'; '.join(notes)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
