#!/usr/bin/env python3
"""How long `GET /health` waits while `trellis-serve` reads a burst of large bodies (README
"HTTP service").

Starts SERVER on a free loopback port with MODEL, then opens N connections to 127.0.0.1 that
each send one body of 750 KB of text ("é " 250,000 times: a sentence the server cuts into
250,000 tokens and refuses, 400, so nothing is tagged), and meanwhile asks for `/health` ten
times, one after another; prints the seconds each took.

    python3 scripts/serve-health-latency.py SERVER MODEL [N]    (N: 60)
"""
import json
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request


def post(url, body):
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        urllib.request.urlopen(request, timeout=120).read()
    except urllib.error.HTTPError as error:
        error.read()


def main():
    server, model = sys.argv[1], sys.argv[2]
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 60
    process = subprocess.Popen([server, "--model", model, "--port", "0"],
                               stdout=subprocess.PIPE, text=True)
    try:
        base = "http://127.0.0.1:" + process.stdout.readline().rsplit(":", 1)[1].strip()
        text = "é " * 250_000
        body = json.dumps({"sentences": [{"text": text}]}, ensure_ascii=False).encode()
        senders = [threading.Thread(target=post, args=(base + "/v1/tag", body))
                   for _ in range(count)]
        for sender in senders:
            sender.start()
        time.sleep(0.3)
        waits = []
        for _ in range(10):
            started = time.monotonic()
            urllib.request.urlopen(base + "/health", timeout=120).read()
            waits.append(time.monotonic() - started)
        for sender in senders:
            sender.join()
        print(f"/health during {count} bodies of {len(body):,} bytes: "
              + " ".join(f"{wait:.3f}" for wait in waits) + " s")
    finally:
        process.terminate()
        process.wait()


if __name__ == "__main__":
    main()
