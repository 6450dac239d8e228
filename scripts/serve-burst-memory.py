#!/usr/bin/env python3
"""The memory a burst of abandoned requests leaves in `trellis-serve` (README "HTTP service").

Starts SERVER on a free loopback port with MODEL, then opens N connections to 127.0.0.1 that
each send one ~1 MB request (100 sentences of 50 tokens of 198 characters) and close without
reading, then times a one-token request sent right after them (what the burst costs a client
still waiting); waits until the server has tagged the burst (its CPU time stops growing),
then prints its resident memory before the burst, at its peak, and two seconds after it went
idle. Arguments after N go to SERVER (`--max-queued-tokens 1000000`).

    python3 scripts/serve-burst-memory.py SERVER MODEL [N [SERVER-ARGUMENTS...]]    (N: 60)
"""
import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request


def status(pid, field):
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ":"))


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def main():
    server, model = sys.argv[1], sys.argv[2]
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 60
    process = subprocess.Popen([server, "--model", model, "--port", "0", *sys.argv[4:]],
                               stdout=subprocess.PIPE, text=True)
    try:
        port = int(process.stdout.readline().rsplit(":", 1)[1])
        before = status(process.pid, "VmRSS")
        token = "denver" * 33
        sentence = {"text": " ".join([token] * 50)}
        body = json.dumps({"sentences": [sentence] * 100}).encode()
        head = (f"POST /v1/tag HTTP/1.1\r\nHost: localhost\r\nContent-Length: {len(body)}"
                "\r\n\r\n").encode()
        for _ in range(count):
            with socket.create_connection(("127.0.0.1", port)) as client:
                client.sendall(head + body)
        small = urllib.request.Request(f"http://127.0.0.1:{port}/v1/tag",
                                       data=b'{"sentences": [{"tokens": ["denver"]}]}')
        sent = time.monotonic()
        try:
            with urllib.request.urlopen(small, timeout=600) as answer:
                small_status = answer.status
        except urllib.error.HTTPError as error:
            small_status = error.code
        waited = time.monotonic() - sent
        ticks = -1
        while ticks != cpu_ticks(process.pid):  # tagging until a second passes without work
            ticks = cpu_ticks(process.pid)
            time.sleep(1)
        peak = status(process.pid, "VmHWM")
        time.sleep(2)
        after = status(process.pid, "VmRSS")
        print(f"{count} requests of {len(body):,} bytes, abandoned: resident {before // 1024} MB "
              f"before, peak {peak // 1024} MB, {after // 1024} MB two seconds after idle; "
              f"a one-token request sent after them: {small_status} in {waited:.2f} s")
    finally:
        process.terminate()
        process.wait()


if __name__ == "__main__":
    main()
