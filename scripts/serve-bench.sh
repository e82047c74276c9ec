#!/usr/bin/env bash
# Latency of `POST /api/match` for a 1 MB log: 20 concurrent clients, measured with `hey`
# (Debian package `hey`) against a release build of `arm-kb serve` on a loopback port.
#
#   scripts/serve-bench.sh [REQUESTS]     (default 400)
set -euo pipefail
cd "$(dirname "$0")/.."

requests="${1:-400}"
command -v hey >/dev/null || { echo "needs hey (apt-get install hey)" >&2; exit 2; }
bin="${CARGO_TARGET_DIR:-target}/release/arm-kb"
[ -x "$bin" ] || cargo build --release --locked
work="$(mktemp -d)"
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT

# 1 MB of an ordinary job log (task output, warnings, a few errors no rule explains) with
# the expired-secret failure at the end, as in a real failed job.
python3 - "$work/job.log" <<'PY'
import sys
noise = [
    "2025-03-04T09:{m:02}:{s:02}.{f:07}Z npm notice added package {i} in the tree",
    "2025-03-04T09:{m:02}:{s:02}.{f:07}Z Downloading https://registry.example/pkg-{i}.tgz (184 kB)",
    "2025-03-04T09:{m:02}:{s:02}.{f:07}Z ##[warning]Node.js 16 actions are deprecated; step {i}",
    "2025-03-04T09:{m:02}:{s:02}.{f:07}Z [command]/usr/bin/az account show --output json",
    "2025-03-04T09:{m:02}:{s:02}.{f:07}Z Error: test {i} failed: expected 200, got 500",
]
out, size, i = [], 0, 0
tail = open("examples/secret-expired.log", encoding="utf-8").read()
while size < 1_000_000 - len(tail):
    line = noise[i % len(noise)].format(m=i // 6000 % 60, s=i // 100 % 60, f=i, i=i) + "\n"
    out.append(line); size += len(line); i += 1
out.append(tail)
open(sys.argv[1], "w", encoding="utf-8").write("".join(out))
PY
ls -l "$work/job.log" | awk '{print "log bytes:", $5}'

"$bin" serve --addr 127.0.0.1:0 > "$work/ready" &
server=$!
for _ in $(seq 100); do grep -q serving "$work/ready" 2>/dev/null && break; sleep 0.1; done
url="$(sed -n 's/^arm-kb: serving on //p' "$work/ready")"
curl -sf -o /dev/null -H 'Content-Type: text/plain' --data-binary @"$work/job.log" "${url}api/match"
echo "server: $url  cpus: $(nproc)  load: $(cut -d' ' -f1-3 /proc/loadavg)"
hey -n "$requests" -c 20 -m POST -T text/plain -D "$work/job.log" "${url}api/match"
