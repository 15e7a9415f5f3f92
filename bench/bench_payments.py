"""Payment callbacks benchmark (issue #8): callbacks handled per second, end to
end, beside the trivial endpoint ``/healthz`` in the same run.

    .venv/bin/python bench/bench_payments.py [--runs 3] [--batch 8]

The app (the example definitions, a real time-stamp server and a real SMTP
server on loopback, as the tests use) is served by uvicorn on loopback.
Applications of the commercial registration are brought to "waiting for
payment" (their signed notice issued) beforehand.  Then each callback is an
HTTP POST signed as the bank signs it (HMAC-SHA256) to
``/payments/webhook/bank_bill_payment``, and its time covers everything the
platform does for it: check the signature and time stamp, refuse a replay,
record the payment, apply it, draw the receipt number, render + sign + store
the receipt PDF (PAdES B-T with a time stamp), take the ``system``
transition and mail the receipt.  Printed: the median rate over ``--runs``
batches of ``--batch`` callbacks (one at a time), and the rate of ``GET
/healthz`` over the same connection kind in the same run, with the ratio.
"""
from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import secrets
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from smtp_server import SmtpTestServer  # noqa: E402
from test_outputs_journey import World  # noqa: E402
from test_payments_journey import Served  # noqa: E402
from tsa_server import TsaServer  # noqa: E402

SECRET = "bench-secret"


def callback(url: str, notice: dict, now: float) -> dict:
    body = json.dumps({"event_id": f"ev-{secrets.token_hex(8)}", "transaction_id": f"TX{secrets.token_hex(6)}",
                       "ref1": notice["ref1"], "ref2": notice["ref2"], "amount": notice["amount"],
                       "paid_at": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(now)),
                       "channel": "promptpay"}).encode()
    stamp = f"{now:.0f}"
    signature = hmac.new(SECRET.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json", "X-Bank-Timestamp": stamp, "X-Bank-Signature": signature})
    with urllib.request.urlopen(request, timeout=120) as r:
        return json.loads(r.read())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, TsaServer() as tsa, SmtpTestServer() as smtp:
        world = World(Path(tmp) / "data", tsa, smtp, bank_webhook_secret=SECRET)
        served = Served(world.app)
        try:
            total = args.runs * args.batch + 1  # one warm-up
            t0 = time.perf_counter()
            waiting = []
            for _ in range(total):
                app_id = world.apply("commercial-registration")
                world.act("registry_clerk.chatuchak-district", app_id, "accept_and_bill")
                waiting.append(world.store.get_application(app_id)["payment_notice"])
            print(f"prepared {total} applications with signed notices in {time.perf_counter() - t0:.1f} s")
            hook = f"{served.url}/payments/webhook/bank_bill_payment"
            now = world.clock.now().timestamp()
            assert callback(hook, waiting.pop(), now)["status"] == "applied"  # warm-up
            rates, health = [], []
            for _ in range(args.runs):
                batch = [waiting.pop() for _ in range(args.batch)]
                t0 = time.perf_counter()
                for notice in batch:
                    result = callback(hook, notice, now)
                    assert result["status"] == "applied" and result["receipt"], result
                rates.append(args.batch / (time.perf_counter() - t0))
                t0 = time.perf_counter()
                for _ in range(args.batch * 10):
                    with urllib.request.urlopen(f"{served.url}/healthz", timeout=30) as r:
                        r.read()
                health.append(args.batch * 10 / (time.perf_counter() - t0))
            cb, hz = statistics.median(rates), statistics.median(health)
            print(f"{'payment callback (verify, record, receipt PDF signed, transition, mail)':<72} {cb:>8.2f} /s")
            print(f"{'GET /healthz (baseline, same server, same run)':<72} {hz:>8.2f} /s")
            print(f"{'callback cost in /healthz requests':<72} {hz / cb:>8.1f} x")
        finally:
            served.stop()


if __name__ == "__main__":
    main()
