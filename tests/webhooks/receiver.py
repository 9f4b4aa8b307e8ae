"""A webhook endpoint for the end-to-end tests: it verifies every delivery with the Standard
Webhooks reference library (another implementation than usher's), and logs one JSON line per
request: the webhook-id, whether the signature verified, the answer, and the event's type,
sequence and origin.

    python receiver.py --secret-file F --log L [--fail-first N] [--delay-ms MS]

It prints `listening <port>` once it accepts connections. The secret is read from the file
on every request, so a test can rotate it while the receiver runs.
"""

import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

parser = argparse.ArgumentParser()
parser.add_argument("--secret-file", required=True)
parser.add_argument("--log", required=True)
parser.add_argument("--fail-first", type=int, default=0)
parser.add_argument("--delay-ms", type=int, default=0)
args = parser.parse_args()

lock = threading.Lock()
failures_left = args.fail_first


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        global failures_left
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        headers = {name: value for name, value in self.headers.items()}
        with open(args.secret_file, encoding="utf-8") as file:
            secret = file.read().strip()
        try:
            event = Webhook(secret).verify(body, headers)
            valid = True
        except WebhookVerificationError as error:
            event, valid = {"error": str(error)}, False
        with lock:
            failing = valid and failures_left > 0
            if failing:
                failures_left -= 1
        status = 500 if failing else (204 if valid else 400)
        record = {
            "id": headers.get("webhook-id") or headers.get("Webhook-Id"),
            "valid": valid,
            "status": status,
            "type": event.get("type"),
            "sequence": event.get("sequence"),
            "origin": (event.get("actor") or {}).get("origin"),
            "signatures": len((headers.get("webhook-signature") or headers.get("Webhook-Signature") or "").split()),
            "received_at": time.time(),
        }
        if args.delay_ms:
            with lock, open(args.log, "a", encoding="utf-8") as log:
                log.write(json.dumps({"started": record["id"]}) + "\n")
            time.sleep(args.delay_ms / 1000)
        with lock, open(args.log, "a", encoding="utf-8") as log:
            log.write(json.dumps(record) + "\n")
        self.send_response(status)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, format, *values):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(f"listening {server.server_address[1]}", flush=True)
server.serve_forever()
