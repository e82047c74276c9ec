#!/usr/bin/env python3
"""Score an arm-kb binary against the real-log regression corpus.

Reads every `*.toml` file of the corpus folder (default: tests/fixtures/real next to this
script's repository), runs `arm-kb match --format json` on each case's text (given on
standard input) and reports, per label:

- positives (label is an article id): correct when the top finding (the first entry of
  `findings`) is the label or one of the case's alternates;
- negatives (label "none"): flagged when there is any finding whose article is not one of
  the case's alternates.

Prints the per-label table, the totals and the list of misses. Standard library only
(Python 3.11+ for tomllib).

Examples:
    scripts/score_corpus.py --bin target/release/arm-kb
    scripts/score_corpus.py --bin target/release/arm-kb --root .
    scripts/score_corpus.py --json > score.json
"""

from __future__ import annotations

import argparse
import collections
import glob
import json
import os
import subprocess
import sys
import tomllib

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_DIR = os.path.join(REPO, "tests", "fixtures", "real")
REQUIRED = ("id", "source", "label", "alternates", "note", "text")


def load_cases(folder: str) -> list[dict]:
    cases: list[dict] = []
    seen: dict[str, str] = {}
    files = sorted(glob.glob(os.path.join(folder, "*.toml")))
    if not files:
        sys.exit(f"no *.toml files in {folder}")
    for path in files:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
        for case in data.get("case", []):
            missing = [k for k in REQUIRED if k not in case]
            if missing:
                sys.exit(f"{path}: case {case.get('id', '?')} lacks {', '.join(missing)}")
            if case["id"] in seen:
                sys.exit(f"{path}: duplicate id {case['id']} (also in {seen[case['id']]})")
            seen[case["id"]] = os.path.basename(path)
            case["file"] = os.path.basename(path)
            cases.append(case)
    return cases


def run_match(binary: str, root: str | None, text: str) -> list[str]:
    cmd = [binary]
    if root:
        cmd += ["--no-builtin", "--kb", root]
    cmd += ["match", "--format", "json"]
    proc = subprocess.run(cmd, input=text.encode("utf-8"), capture_output=True)
    # Exit status: 0 = findings, 1 = none, 2 = error.
    if proc.returncode not in (0, 1):
        raise RuntimeError(proc.stderr.decode("utf-8", "replace").strip() or f"exit {proc.returncode}")
    doc = json.loads(proc.stdout.decode("utf-8"))
    return [f.get("article", "?") for f in doc.get("findings", [])]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", default="arm-kb", help="arm-kb binary to run (default: arm-kb)")
    ap.add_argument("--root", help="knowledge root: passes --no-builtin --kb ROOT")
    ap.add_argument("--dir", default=DEFAULT_DIR, help="corpus folder (default: %(default)s)")
    ap.add_argument("--json", action="store_true", help="print a JSON report instead of text")
    ap.add_argument("--min-positive", type=float, help="exit 1 if the positive score (%%) is below")
    ap.add_argument("--max-negative", type=float, help="exit 1 if the flagged negatives (%%) exceed")
    args = ap.parse_args()

    cases = load_cases(args.dir)
    per_label: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0])  # [good, total]
    misses: list[dict] = []
    errors: list[dict] = []
    pos_good = pos_total = neg_flagged = neg_total = 0

    for case in cases:
        label = case["label"]
        accepted = set(case["alternates"])
        try:
            found = run_match(args.bin, args.root, case["text"])
        except (RuntimeError, json.JSONDecodeError, OSError) as exc:
            errors.append({"id": case["id"], "error": str(exc)})
            found = None
        top = found[0] if found else None
        entry = per_label[label]
        entry[1] += 1
        if label == "none":
            neg_total += 1
            flagged = found is None or any(a not in accepted for a in found)
            if flagged:
                neg_flagged += 1
                misses.append({"id": case["id"], "file": case["file"], "source": case["source"],
                               "label": label, "got": found})
            else:
                entry[0] += 1
        else:
            pos_total += 1
            ok = top is not None and (top == label or top in accepted)
            if ok:
                pos_good += 1
                entry[0] += 1
            else:
                misses.append({"id": case["id"], "file": case["file"], "source": case["source"],
                               "label": label, "alternates": sorted(accepted), "got": found})

    pos_pct = 100.0 * pos_good / pos_total if pos_total else 0.0
    neg_pct = 100.0 * neg_flagged / neg_total if neg_total else 0.0

    if args.json:
        print(json.dumps({
            "binary": args.bin, "root": args.root,
            "positives": {"correct": pos_good, "total": pos_total, "percent": round(pos_pct, 1)},
            "negatives": {"flagged": neg_flagged, "total": neg_total, "percent": round(neg_pct, 1)},
            "per_label": {k: {"good": v[0], "total": v[1]} for k, v in sorted(per_label.items())},
            "misses": misses, "errors": errors,
        }, indent=2))
    else:
        width = max(len(k) for k in per_label)
        print(f"{'label':<{width}}  good/total")
        for label in sorted(per_label, key=lambda k: (k == "none", k)):
            good, total = per_label[label]
            note = "  (clean/total)" if label == "none" else ""
            print(f"{label:<{width}}  {good:>4}/{total:<4}{note}")
        print()
        print(f"positives: top finding right for {pos_good}/{pos_total} ({pos_pct:.1f}%)")
        print(f"negatives: flagged {neg_flagged}/{neg_total} ({neg_pct:.1f}%)")
        if misses:
            print("\nmisses:")
            for m in misses:
                want = m["label"] if m["label"] == "none" else "|".join([m["label"], *m.get("alternates", [])])
                got = "no finding" if not m["got"] else ", ".join(m["got"])
                print(f"  {m['id']} ({m['source']}): want {want}; got {got}")
        if errors:
            print("\nerrors:")
            for e in errors:
                print(f"  {e['id']}: {e['error']}")

    failed = bool(errors)
    if args.min_positive is not None and pos_pct < args.min_positive:
        failed = True
    if args.max_negative is not None and neg_pct > args.max_negative:
        failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
