#!/usr/bin/env bash
# Side-by-side benchmark: arm-kb against ripgrep on the same logs and the same regexes.
#
#   scripts/bench.sh                 # 1 GiB log (generated once under /tmp/armkb-bench)
#   SIZE=100M RUNS=3 scripts/bench.sh
#   BIN=/path/to/other/arm-kb ROWS='built-in' scripts/bench.sh   # another build, some rows
#
# Needs: python3, hyperfine (Debian: `apt-get install hyperfine`), ripgrep 15
# (`cargo install ripgrep --locked`; Debian's older ripgrep is much slower), GNU time
# (`/usr/bin/time`, Debian package `time`). Nothing is installed by this script.
# Generated data goes to $WORK (default /tmp/armkb-bench), never into the repository.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
gen=${GEN_DIR:-$repo/../shared/bench}
work=${WORK:-/tmp/armkb-bench}
size=${SIZE:-1G}
runs=${RUNS:-5}
bin=${BIN:-$repo/target/release/arm-kb}
# ROWS: an extended regex; only the workloads whose name matches it are run.
rows=${ROWS:-}

missing=0
need() {
    if ! command -v "$1" >/dev/null 2>&1; then
        echo "bench.sh: $1 is missing: $2" >&2
        missing=1
    fi
}
need python3 "install Python 3.11 or later"
need hyperfine "apt-get install hyperfine"
need rg "cargo install ripgrep --locked"
[ -x /usr/bin/time ] || { echo "bench.sh: /usr/bin/time is missing: apt-get install time" >&2; missing=1; }
[ -f "$gen/gen_log.py" ] || { echo "bench.sh: generators not found in $gen (set GEN_DIR)" >&2; missing=1; }
[ "$missing" = 0 ] || exit 2

[ -n "${BIN:-}" ] || (cd "$repo" && cargo build --release --quiet)
mkdir -p "$work"
log=$work/log_$size.txt
if [ ! -s "$log" ]; then
    echo "generating $log ..." >&2
    python3 "$gen/gen_log.py" --size "$size" --seed 1 --inject 100 --out "$log" \
        --truth "$work/log_$size.truth.json" -q
fi
small=$work/log_10m.txt
[ -s "$small" ] || head -c 10000000 "$log" > "$small"
tiny=$work/log_1m.txt
[ -s "$tiny" ] || head -c 1000000 "$log" > "$tiny"
empty=$work/empty.log
: > "$empty"
if [ ! -s "$work/rules/rules_10000.jsonl" ]; then
    python3 "$gen/gen_rules.py" --n 20 1000 10000 --seed 1 --out-dir "$work/rules" >&2
fi
# 20 rules plus 10 "hot" ones: keywords on many ordinary lines, regexes that never match.
if [ ! -s "$work/rules/rules_20_hot10.jsonl" ]; then
    python3 "$gen/gen_rules.py" --n 20 --hot 10 --seed 1 --out-dir "$work/rules" >&2
fi

# gen_rules' rules as a knowledge root (one article, one rule file), for a like-for-like
# run of `arm-kb --no-builtin --kb ROOT match` against `rg -f patterns_N.txt`.
python3 - "$work" <<'EOF'
import json, os, sys
work = sys.argv[1]
for n in ("20", "1000", "10000", "20_hot10"):
    root = f"{work}/root_{n}"
    os.makedirs(f"{root}/kb", exist_ok=True)
    os.makedirs(f"{root}/rules", exist_ok=True)
    with open(f"{root}/kb/bench-generated.md", "w") as f:
        f.write('+++\ntitle = "Generated benchmark rules"\n+++\n## Symptoms\nA generated line.\n'
                '## Cause\nGenerated.\n## Fix\n1. Nothing to fix.\n')
    with open(f"{work}/rules/rules_{n}.jsonl") as src, open(f"{root}/rules/generated.toml", "w") as out:
        for line in src:
            r = json.loads(line)
            out.write("[[rule]]\nid = %s\narticle = \"bench-generated\"\nkeywords = %s\npatterns = [%s]\n\n"
                      % (json.dumps(r["id"]), json.dumps(r["keywords"]), json.dumps(r["regex"])))
EOF

# The built-in rules' regexes for `rg -f` (named groups made plain: rg joins all patterns
# into one regex, where a name may appear once).
python3 - "$repo" "$work/builtin_patterns.txt" <<'EOF'
import glob, re, sys, tomllib
repo, out = sys.argv[1], sys.argv[2]
patterns = []
for path in sorted(glob.glob(f"{repo}/rules/*.toml")):
    with open(path, "rb") as f:
        for rule in tomllib.load(f).get("rule", []):
            patterns += rule.get("patterns", []) + rule.get("all", [])
with open(out, "w") as f:
    f.write("\n".join(re.sub(r"\(\?P?<[A-Za-z_][A-Za-z0-9_]*>", "(", p) for p in patterns) + "\n")
EOF

# Every keyword of the loaded rules (hand-written, catalog messages, error codes): the
# like-for-like peer of the prefilter is `rg -c -i -F -f` over the same keywords.
"$bin" list --rules --format json | python3 -c '
import json, sys
kws = sorted({k for r in json.load(sys.stdin)["rules"] for k in r.get("keywords", [])})
open(sys.argv[1], "w").write("\n".join(kws) + "\n")
' "$work/builtin_keywords.txt"

# Every example line of the built-in rules: a log that makes nearly every rule compile,
# for the peak-memory ceiling. 2 MB of the bench log follow them, so the buffer searchers
# are built too (a log under 64 KiB is searched with the small automaton alone).
python3 - "$repo" "$work/all_examples.log" "$log" <<'EOF'
import glob, sys, tomllib
repo, out, log = sys.argv[1], sys.argv[2], sys.argv[3]
with open(out, "w") as f:
    for path in sorted(glob.glob(f"{repo}/rules/*.toml")):
        with open(path, "rb") as rules:
            for rule in tomllib.load(rules).get("rule", []):
                texts = rule.get("examples", []) + [e["text"] for e in rule.get("example", [])]
                f.writelines(t.rstrip("\n") + "\n" for t in texts)
with open(log, "rb") as src, open(out, "ab") as f:
    f.write(src.read(2_000_000))
EOF

results=$work/results
rm -rf "$results"
mkdir -p "$results"
# compare NAME INPUT_BYTES ARMKB_CMD RG_CMD: medians of both, in one hyperfine run.
compare() {
    local name=$1 bytes=$2 armkb=$3 peer=$4
    if [ -n "$rows" ] && ! grep -Eq -- "$rows" <<<"$name"; then return; fi
    hyperfine --style none --warmup 1 --runs "$runs" -i --output=pipe \
        --export-json "$results/$name.json" -n arm-kb "$armkb" -n rg "$peer" >&2
    /usr/bin/time -f %M -o "$results/$name.armkb.rss" sh -c "$armkb" >/dev/null 2>&1 || true
    /usr/bin/time -f %M -o "$results/$name.rg.rss" sh -c "$peer" >/dev/null 2>&1 || true
    echo "$bytes" > "$results/$name.bytes"
}
bytes=$(stat -c %s "$log")
small_bytes=$(stat -c %s "$small")
tiny_bytes=$(stat -c %s "$tiny")
p=$work/rules

compare "stdin, 20 generated rules" "$bytes" \
    "cat $log | $bin --no-builtin --kb $work/root_20 match --format json" \
    "cat $log | rg -c -f $p/patterns_20.txt"
compare "file, 20 generated rules" "$bytes" \
    "$bin --no-builtin --kb $work/root_20 match --format json $log" \
    "rg -c -f $p/patterns_20.txt $log"
# arm-kb's keywords are ASCII case-insensitive; `rg -i` is the like-for-like peer.
compare "file, 20 generated rules vs rg -i" "$bytes" \
    "$bin --no-builtin --kb $work/root_20 match --format json $log" \
    "rg -c -i -f $p/patterns_20.txt $log"
compare "file, 20 rules + 10 hot (keyword everywhere, no match)" "$bytes" \
    "$bin --no-builtin --kb $work/root_20_hot10 match --format json $log" \
    "rg -c -f $p/patterns_20_hot10.txt $log"
compare "file, 1000 generated rules" "$bytes" \
    "$bin --no-builtin --kb $work/root_1000 match --format json $log" \
    "rg -c -f $p/patterns_1000.txt $log"
compare "file, 10000 generated rules" "$bytes" \
    "$bin --no-builtin --kb $work/root_10000 match --format json $log" \
    "rg -c -f $p/patterns_10000.txt $log"
compare "stdin, built-in rules" "$bytes" \
    "cat $log | $bin match" \
    "cat $log | wc -l"
compare "file, built-in rules" "$bytes" \
    "$bin match $log" \
    "wc -l $log"
compare "stdin, built-in rules vs rg -i -F on their keywords" "$bytes" \
    "cat $log | $bin match" \
    "cat $log | rg -c -i -F -f $work/builtin_keywords.txt"
compare "stdin, built-in rules vs cat alone" "$bytes" \
    "cat $log | $bin match" \
    "cat $log > /dev/null"
# What a pipe itself costs: `cat` into a reader that does nothing with the bytes but asks
# for the same 1 MiB pipe and reads 1 MiB at a time, as `match` does. No reader of
# `cat log |` does less.
pipe_sink='import fcntl, os
try:
    fcntl.fcntl(0, fcntl.F_SETPIPE_SZ, 1 << 20)
except OSError:
    pass
buf = bytearray(1 << 20)
while os.readv(0, [buf]):
    pass'
compare "stdin, built-in rules vs the pipe alone" "$bytes" \
    "cat $log | $bin match" \
    "cat $log | python3 -c '$pipe_sink'"
# ripgrep needs seconds per MB on the built-in regexes (case-insensitive Unicode
# classes, bounded repeats): compare on 1 MB.
compare "file 1 MB, built-in rules vs rg" "$tiny_bytes" \
    "$bin match $tiny" \
    "rg -c -f $work/builtin_patterns.txt $tiny"
compare "file 10 MB, built-in rules" "$small_bytes" \
    "$bin match $small" \
    "wc -l $small"
compare "every built-in rule triggered (memory ceiling)" "$(stat -c %s "$work/all_examples.log")" \
    "$bin match $work/all_examples.log" \
    "wc -l $work/all_examples.log"
compare "empty log, 10000 generated rules (load)" 0 \
    "$bin --no-builtin --kb $work/root_10000 match $empty" \
    "rg -c -f $p/patterns_10000.txt $empty"
compare "empty log, built-in rules (start-up)" 0 \
    "$bin match $empty" \
    "rg -c -f $work/builtin_patterns.txt $empty"
compare "search, built-in articles" 0 \
    "$bin search 'client secret expired'" \
    "rg -c -i 'client secret expired' $repo/kb"
[ -s "$work/log_10m_copy.txt" ] || cp "$small" "$work/log_10m_copy.txt"
compare "two files on two cores vs one" "$((2 * small_bytes))" \
    "$bin match $small $work/log_10m_copy.txt" \
    "$bin match $small; $bin match $work/log_10m_copy.txt"

# `stats` over 1,000 generated logs (about 96 KiB each, one injected error in each)
# against what it replaces: `match` run on each file.
corpus=$work/stats_1000
if [ ! -s "$corpus/log_1000.log" ]; then
    echo "generating $corpus ..." >&2
    mkdir -p "$corpus"
    python3 - "$gen" "$corpus" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
import gen_log
for i in range(1, 1001):
    gen_log.main(["--size", "96K", "--pool", "96K", "--seed", str(i), "--inject", "1",
                  "--out", f"{sys.argv[2]}/log_{i:04}.log", "-q"])
PY
fi
corpus_bytes=$(cat "$corpus"/*.log | wc -c)
compare "stats, 1000 logs vs match on each file" "$corpus_bytes" \
    "$bin stats --format json $corpus" \
    "for f in $corpus/*.log; do $bin match --format json \$f >/dev/null; done"

ROWS="$rows" python3 - "$results" <<'EOF'
import glob, json, os, sys
results = sys.argv[1]
rows = []
for path in sorted(glob.glob(f"{results}/*.json"), key=os.path.getmtime):
    name = os.path.basename(path)[:-5]
    data = {r["command"]: r for r in json.load(open(path))["results"]}
    med = lambda k: sorted(data[k]["times"])[len(data[k]["times"]) // 2]
    a, b = med("arm-kb"), med("rg")
    size = int(open(f"{results}/{name}.bytes").read())
    rss = lambda k: int(open(f"{results}/{name}.{k}.rss").read().split()[-1]) // 1024
    # A peer such as `wc -l` on a small file can take under a millisecond: hyperfine
    # then reports 0 s, which has no throughput.
    mbs = lambda t: f"{size / t / 1e6:.0f}" if size and t > 0 else "–"
    ratio = f"{b / a:.2f}" if a > 0 else "–"
    rows.append((name, f"{a:.3f}", mbs(a), f"{rss('armkb')}", f"{b:.3f}", mbs(b), f"{rss('rg')}", ratio))
head = ("workload", "arm-kb s", "MB/s", "RSS MiB", "peer s", "MB/s", "RSS MiB", "peer/arm-kb")
print("| " + " | ".join(head) + " |")
print("| " + " | ".join(["---"] + ["---:"] * (len(head) - 1)) + " |")
for r in rows:
    print("| " + " | ".join(r) + " |")

# The targets, judged from the rows above (only when every row ran).
if os.environ.get("ROWS"):
    sys.exit(0)
by = {r[0]: r for r in rows}
sec = lambda name, col=1: float(by[name][col])
mib = lambda name: int(by[name][3])
size_mb = lambda name: int(open(f"{results}/{name}.bytes").read()) / 1e6
per_mb = lambda name, col=1: sec(name, col) / size_mb(name)
rg_builtin = per_mb("file 1 MB, built-in rules vs rg", 4)
kw = "stdin, built-in rules vs rg -i -F on their keywords"
alone = "stdin, built-in rules vs cat alone"
pipe = "stdin, built-in rules vs the pipe alone"
targets = [
    ("built-in rules, stdin: ≥ 1.25× the throughput of rg -c -i -F -f on their keywords",
     f"{sec(kw, 4) / sec(kw):.2f}×", sec(kw, 4) / sec(kw) >= 1.25),
    ("built-in rules, stdin: ≥ 10% of cat's throughput",
     f"{sec(alone, 4) / sec(alone) * 100:.0f}%", sec(alone, 4) / sec(alone) >= 0.10),
    ("built-in rules, stdin: s/MB ≤ rg's on the same regexes",
     f"{per_mb('stdin, built-in rules') * 1e3:.2f} ms/MB vs {rg_builtin * 1e3:.0f} ms/MB",
     per_mb("stdin, built-in rules") <= rg_builtin),
    ("built-in rules, file: s/MB ≤ rg's on the same regexes",
     f"{per_mb('file, built-in rules') * 1e3:.2f} ms/MB vs {rg_builtin * 1e3:.0f} ms/MB",
     per_mb("file, built-in rules") <= rg_builtin),
    ("peak RSS ≤ 32 MiB in every row", f"{max(int(r[3]) for r in rows)} MiB",
     max(int(r[3]) for r in rows) <= 32),
    ("10,000 rules: throughput ≥ 50% of built-in",
     f"{sec('file, built-in rules') / sec('file, 10000 generated rules') * 100:.0f}%",
     sec("file, built-in rules") / sec("file, 10000 generated rules") >= 0.5),
    ("10,000 rules: load + compile ≤ 100 ms (whole process)",
     f"{sec('empty log, 10000 generated rules (load)') * 1e3:.0f} ms",
     sec("empty log, 10000 generated rules (load)") <= 0.100),
    ("start-up on an empty log ≤ 10 ms",
     f"{sec('empty log, built-in rules (start-up)') * 1e3:.0f} ms",
     sec("empty log, built-in rules (start-up)") <= 0.010),
    ("two files on two cores ≥ 1.7× one core",
     f"{sec('two files on two cores vs one', 4) / sec('two files on two cores vs one'):.2f}×",
     sec("two files on two cores vs one", 4) / sec("two files on two cores vs one") >= 1.7),
    ("search ≤ 20 ms whole process", f"{sec('search, built-in articles') * 1e3:.0f} ms",
     sec("search, built-in articles") <= 0.020),
    ("stats over 1,000 logs not slower than match on each file",
     f"{sec('stats, 1000 logs vs match on each file'):.2f} s vs "
     f"{sec('stats, 1000 logs vs match on each file', 4):.2f} s",
     sec("stats, 1000 logs vs match on each file")
     <= sec("stats, 1000 logs vs match on each file", 4)),
]
print()
print("| target | measured | met |")
print("| --- | ---: | --- |")
for name, figure, met in targets:
    print(f"| {name} | {figure} | {'yes' if met else 'NO'} |")
# Not a target: how close stdin comes to what any reader of a pipe can reach.
print(f"\nbuilt-in rules, stdin: {sec(pipe, 4) / sec(pipe) * 100:.0f}% of the bare pipe's "
      f"throughput (the pipe alone: {sec(alone, 4) / sec(pipe, 4) * 100:.0f}% of cat's)")
print(f"\nRSS, built-in rules: {mib('file 10 MB, built-in rules')} MiB for 10 MB, "
      f"{mib('file, built-in rules')} MiB for the full log (grows with the rules a log wakes up, "
      f"up to {mib('every built-in rule triggered (memory ceiling)')} MiB with all of them)")
EOF
echo
rg --version | head -1
hyperfine --version
