"""A small bank for tests (issue #8): a separate process on loopback that
"pays" a Thai QR and calls the platform's payment webhook, as the agency's
bank would.

    python tests/bank_simulator.py --webhook URL --secret S [--port 0]

prints ``READY <port>`` when it listens.  It reads QR payloads itself (its own
TLV reader and CRC check, not the platform's) and signs callbacks with the
shared secret (HMAC-SHA256 of ``<timestamp>.<body>``, headers
``X-Bank-Timestamp`` / ``X-Bank-Signature``).

* ``GET /pay?payload=…``  the payment page: what the QR asks (amount, refs).
* ``POST /pay`` (JSON) ``{"payload", "mode", "timestamp", "paid_at",
  "transaction_id", "event_id"}`` pays and calls the webhook.  ``mode``:
  ``normal`` (one callback), ``duplicate`` (the same transaction twice, each a
  new event, as a bank retrying), ``replay`` (the very same signed request
  twice), ``wrong_amount`` (one baht less than the QR), ``forged`` (signed
  with another key).  A late payment is ``paid_at`` after the due date.
  Answers ``{"sent": [{"status": <HTTP>, "body": <JSON>}, …], "callback": {...}}``.
* ``GET /healthz``.
"""
from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import hmac
import html
import json
import secrets
import sys
import time
import urllib.error
import urllib.request
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


def crc16(data: bytes) -> str:
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return f"{crc:04X}"


def tlv(text: str) -> dict[str, str]:
    out, i = {}, 0
    while i < len(text):
        tag, size = text[i:i + 2], int(text[i + 2:i + 4])
        out[tag] = text[i + 4:i + 4 + size]
        i += 4 + size
    return out


def read_qr(payload: str) -> dict[str, str]:
    """What a banking app reads from a Thai QR: the refs, the amount, the channel."""
    if crc16(payload[:-4].encode()) != payload[-4:]:
        raise ValueError("bad CRC")
    top = tlv(payload)
    if top.get("53") != "764" or top.get("58") != "TH":
        raise ValueError("not a Thai baht QR")
    if "30" in top:
        sub = tlv(top["30"])
        return {"channel": "bill_payment", "biller_id": sub["01"], "ref1": sub["02"], "ref2": sub.get("03", ""),
                "amount": top["54"]}
    sub, extra = tlv(top["29"]), tlv(top.get("62", ""))
    return {"channel": "promptpay", "promptpay_id": sub.get("01") or sub.get("02", ""), "ref1": extra.get("01", ""),
            "ref2": extra.get("05", ""), "amount": top["54"]}


class Bank:
    def __init__(self, webhook: str, secret: str):
        self.webhook, self.secret = webhook, secret

    def _send(self, body: bytes, timestamp: str, key: str) -> dict:
        signature = hmac.new(key.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        request = urllib.request.Request(self.webhook, data=body, method="POST", headers={
            "Content-Type": "application/json", "X-Bank-Timestamp": timestamp, "X-Bank-Signature": signature})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return {"status": response.status, "body": json.loads(response.read() or b"{}")}
        except urllib.error.HTTPError as err:
            return {"status": err.code, "body": json.loads(err.read() or b"{}")}

    def pay(self, order: dict) -> dict:
        qr = read_qr(order["payload"])
        mode = order.get("mode", "normal")
        stamp = float(order.get("timestamp") or time.time())
        paid_at = order.get("paid_at") or dt.datetime.fromtimestamp(stamp, dt.timezone.utc).isoformat()
        amount = Decimal(qr["amount"]) - (1 if mode == "wrong_amount" else 0)
        callback = {"event_id": order.get("event_id") or f"ev-{secrets.token_hex(8)}",
                    "transaction_id": order.get("transaction_id") or f"TX{secrets.token_hex(6).upper()}",
                    "ref1": qr["ref1"], "ref2": qr["ref2"], "amount": f"{amount:.2f}", "paid_at": paid_at,
                    "channel": qr["channel"]}
        body = json.dumps(callback).encode()
        key = secrets.token_hex(16) if mode == "forged" else self.secret
        sent = [self._send(body, f"{stamp:.0f}", key)]
        if mode == "replay":  # the very same signed request again
            sent.append(self._send(body, f"{stamp:.0f}", key))
        if mode == "duplicate":  # the bank retries: same transaction, a new event
            again = dict(callback, event_id=f"ev-{secrets.token_hex(8)}")
            sent.append(self._send(json.dumps(again).encode(), f"{stamp:.0f}", key))
        return {"sent": sent, "callback": callback, "qr": qr}


def handler_for(bank: Bank):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # quiet
            pass

        def _reply(self, status: int, body: bytes, kind: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            url = urlsplit(self.path)
            if url.path == "/healthz":
                return self._reply(200, b"ok", "text/plain")
            if url.path == "/pay":
                payload = (parse_qs(url.query).get("payload") or [""])[0]
                try:
                    qr = read_qr(payload)
                except (ValueError, KeyError) as exc:
                    return self._reply(400, f"bad QR: {exc}".encode(), "text/plain")
                page = (f"<!DOCTYPE html><html lang='th'><head><meta charset='utf-8'><title>ธนาคารจำลอง</title></head>"
                        f"<body><h1>ชำระเงิน / Pay</h1><p>จำนวนเงิน / Amount: {html.escape(qr['amount'])} บาท</p>"
                        f"<p>Ref. 1: {html.escape(qr['ref1'])}</p><p>Ref. 2: {html.escape(qr['ref2'])}</p>"
                        f"<p>ช่องทาง / Channel: {html.escape(qr['channel'])}</p>"
                        f"<form method='post' action='/pay'><input type='hidden' name='payload' "
                        f"value='{html.escape(payload)}'><button>ยืนยันการชำระ / Confirm</button></form></body></html>")
                return self._reply(200, page.encode(), "text/html; charset=utf-8")
            self._reply(404, b"not found", "text/plain")

        def do_POST(self):
            if urlsplit(self.path).path != "/pay":
                return self._reply(404, b"not found", "text/plain")
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.headers.get("Content-Type", "").startswith("application/json"):
                order = json.loads(raw)
            else:
                order = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
            try:
                result = bank.pay(order)
            except (ValueError, KeyError) as exc:
                return self._reply(400, json.dumps({"error": str(exc)}).encode(), "application/json")
            self._reply(200, json.dumps(result).encode(), "application/json")

    return Handler


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--webhook", required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler_for(Bank(args.webhook, args.secret)))
    print(f"READY {server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
