#!/usr/bin/env python3
"""Rebuild catalog/entra-codes.json, catalog/arm-codes.json and catalog/tool-messages.json.

Input: scripts/catalog/tool_sources.toml (the list of every message and code-table source) and a
folder of raw source files laid out as <owner>/<repo>/<path> (default /work/catalog-src; copies may
be trimmed to the relevant lines). Python 3.11, standard library only. Output is deterministic.

Checks:
  * every [[message]] text and every [[code]] description occurs verbatim in its raw file, when
    that file is present;
  * every code listed under a [[code_table]] is found in the markdown table rows of its raw file.
If a raw file is missing, the entry is kept from the list (messages, listed codes) or from the
current output file (table codes), with a warning; --strict turns missing files into errors.
"""
from __future__ import annotations

import argparse
import html
import json
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_LIST = Path(__file__).resolve().with_name("tool_sources.toml")
DEFAULT_SRC = Path("/work/catalog-src")
HEX40 = re.compile(r"^[0-9a-f]{40}$")


class BuildError(Exception):
    pass


def source_ref(entry: dict) -> str:
    for key in ("repo", "commit", "path"):
        if not entry.get(key):
            raise BuildError(f"entry without {key}: {entry!r}")
    if not HEX40.match(entry["commit"]):
        raise BuildError(f"commit is not 40 lowercase hex digits: {entry['commit']!r}")
    return f"{entry['repo']}@{entry['commit']}:{entry['path']}"


def raw_path(src: Path, entry: dict) -> Path:
    return src.joinpath(*entry["repo"].split("/"), *entry["path"].split("/"))


class RawFiles:
    def __init__(self, src: Path, strict: bool):
        self.src = src
        self.strict = strict
        self.cache: dict[Path, str | None] = {}
        self.missing: set[str] = set()

    def get(self, entry: dict) -> str | None:
        p = raw_path(self.src, entry)
        if p not in self.cache:
            self.cache[p] = p.read_text(encoding="utf-8") if p.is_file() else None
            if self.cache[p] is None:
                if self.strict:
                    raise BuildError(f"raw file missing: {p}")
                self.missing.add(str(p))
        return self.cache[p]


# ---------------------------------------------------------------- markdown cleanup
LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
TAG = re.compile(r"<[^>]+>")


def clean_markdown(cell: str) -> str:
    s = cell.strip()
    s = LINK.sub(r"\1", s)
    s = s.replace("</li><li>", "; ")
    s = re.sub(r"<ul>\s*<li>", " ", s)
    s = re.sub(r"</li>\s*</ul>", " ", s)
    s = re.sub(r"<br\s*/?>|</br>", " ", s)
    s = TAG.sub(" ", s)
    s = s.replace("**", "").replace("`", "")
    s = s.replace('\\"', '"')
    s = html.unescape(s)
    s = re.sub(r"\s+", " ", s).strip()
    s = re.sub(r"\s+([.,;:])", r"\1", s)
    s = s.replace(".;", ".")
    return s


NAME_DESC = re.compile(r"^([A-Z][A-Za-z0-9_]+)\s*-\s*(.+)$", re.S)
NAME_ONLY = re.compile(r"^[A-Z][A-Za-z0-9_]+$")


def split_name(desc: str) -> tuple[str | None, str]:
    m = NAME_DESC.match(desc)
    if m:
        return m.group(1), m.group(2).strip()
    if NAME_ONLY.match(desc):
        return desc, ""
    return None, desc


# ---------------------------------------------------------------- table parsers
ENTRA_ROW = re.compile(r"^\|\s*(AADSTS\d+)\s*\|(.*?)\|?\s*$")
ADO_CODE = re.compile(r"AADSTS\d+")


def parse_entra_table(text: str) -> dict[str, dict]:
    rows: dict[str, dict] = {}
    for line in text.splitlines():
        m = ENTRA_ROW.match(line.strip())
        if not m:
            continue
        code = m.group(1)
        cell = clean_markdown(m.group(2))
        if cell.startswith(code + ":"):
            cell = cell[len(code) + 1:].strip()
        name, desc = split_name(cell)
        rows.setdefault(code, {"name": name, "description": desc})
    return rows


def parse_ado_table(text: str) -> dict[str, dict]:
    rows: dict[str, dict] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("|") or line.startswith("|--") or line.startswith("| Message"):
            continue
        cells = [c for c in line.strip("|").split(" | ")]
        if len(cells) < 2:
            continue
        first = clean_markdown(cells[0])
        m = ADO_CODE.search(first)
        if not m:
            continue
        code = m.group(0)
        if first == code:
            desc = clean_markdown(" | ".join(cells[1:]))
        elif first.startswith(code + ":"):
            desc = first[len(code) + 1:].strip()
        else:
            desc = first
        rows.setdefault(code, {"name": None, "description": desc})
    return rows


def parse_arm_table(text: str) -> dict[str, dict]:
    rows: dict[str, dict] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("|") or line.startswith("| ---") or line.startswith("| Error code"):
            continue
        cells = line.strip("|").split("|")
        if len(cells) < 2:
            continue
        codes = [c.strip() for c in re.split(r"<br\s*/?>", cells[0]) if c.strip()]
        desc = clean_markdown(cells[1])
        for code in codes:
            if re.fullmatch(r"[A-Za-z]+", code):
                rows.setdefault(code, {"description": desc})
    return rows


PARSERS = {"entra-aadsts": parse_entra_table, "ado-aadsts": parse_ado_table, "arm-table": parse_arm_table}


def code_sort_key(code: str):
    m = re.fullmatch(r"AADSTS(\d+)", code)
    return (0, int(m.group(1)), code) if m else (1, 0, code)


def load_previous(path: Path, key: str) -> dict[str, dict]:
    if not path.is_file():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    return {e["code"]: e for e in data.get(key, [])}


# ---------------------------------------------------------------- build
def build(list_path: Path, src: Path, out: Path, strict: bool) -> dict[str, int]:
    spec = tomllib.loads(list_path.read_text(encoding="utf-8"))
    raws = RawFiles(src, strict)
    warnings: list[str] = []

    codes: dict[str, dict[str, dict]] = {"entra": {}, "arm": {}}
    previous = {
        "entra": load_previous(out / "entra-codes.json", "codes"),
        "arm": load_previous(out / "arm-codes.json", "codes"),
    }

    for table in spec.get("code_table", []):
        kind, fmt = table["kind"], table["format"]
        if kind not in codes or fmt not in PARSERS:
            raise BuildError(f"unknown code table kind/format: {kind}/{fmt}")
        ref = source_ref(table)
        text = raws.get(table)
        rows = PARSERS[fmt](text) if text is not None else None
        for code in table["codes"]:
            if code in codes[kind]:
                continue  # an earlier table wins
            if rows is None:
                prev = previous[kind].get(code)
                if prev is None:
                    raise BuildError(f"{code}: raw file missing and no previous entry ({ref})")
                warnings.append(f"{code}: raw file missing, kept previous entry")
                codes[kind][code] = dict(prev)
                continue
            row = rows.get(code)
            if row is None:
                raise BuildError(f"{code} not found in the table rows of {ref}")
            entry = {"code": code}
            if kind == "entra":
                entry["name"] = row["name"]
            entry["description"] = row["description"]
            entry["source"] = ref
            codes[kind][code] = entry

    for item in spec.get("code", []):
        kind = item["kind"]
        ref = source_ref(item)
        text = raws.get(item)
        if text is not None and item["description"] not in text:
            raise BuildError(f"{item['code']}: description not found verbatim in {ref}")
        if item["code"] in codes[kind]:
            raise BuildError(f"{item['code']}: listed twice")
        entry = {"code": item["code"]}
        if kind == "entra":
            entry["name"] = item.get("name")
        entry["description"] = item["description"]
        entry["source"] = ref
        codes[kind][item["code"]] = entry

    messages: dict[str, dict] = {}
    for msg in spec.get("message", []):
        mid = f"{msg['tool']}:{msg['name']}"
        if mid in messages:
            raise BuildError(f"duplicate message id {mid}")
        ref = source_ref(msg)
        raw_text = msg["text"]
        text = raws.get(msg)
        if text is not None and raw_text not in text:
            raise BuildError(f"{mid}: text not found verbatim in {ref}")
        rendered = raw_text
        for old, new in sorted(msg.get("subst", {}).items()):
            rendered = rendered.replace(old, new)
        if msg["path"].endswith(".resx"):
            rendered = html.unescape(rendered)
        rendered = rendered.strip()
        if not rendered:
            raise BuildError(f"{mid}: empty text")
        messages[mid] = {"id": mid, "tool": msg["tool"], "text": rendered, "source": ref}

    out.mkdir(parents=True, exist_ok=True)

    def dump(path: Path, obj) -> None:
        path.write_text(json.dumps(obj, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")

    dump(out / "entra-codes.json",
         {"codes": [codes["entra"][c] for c in sorted(codes["entra"], key=code_sort_key)]})
    dump(out / "arm-codes.json",
         {"codes": [codes["arm"][c] for c in sorted(codes["arm"], key=code_sort_key)]})
    dump(out / "tool-messages.json", {"messages": [messages[k] for k in sorted(messages)]})

    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)
    for p in sorted(raws.missing):
        print(f"warning: raw file missing (texts not checked): {p}", file=sys.stderr)

    counts: dict[str, int] = {"entra-codes": len(codes["entra"]), "arm-codes": len(codes["arm"])}
    for m in messages.values():
        counts[f"tool:{m['tool']}"] = counts.get(f"tool:{m['tool']}", 0) + 1
    return counts


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--list", type=Path, default=DEFAULT_LIST, help="tool_sources.toml")
    ap.add_argument("--src", type=Path, default=DEFAULT_SRC, help="folder of raw files <owner>/<repo>/<path>")
    ap.add_argument("--out", type=Path, default=ROOT / "catalog", help="output folder")
    ap.add_argument("--strict", action="store_true", help="fail when a raw file is missing")
    args = ap.parse_args(argv)
    try:
        counts = build(args.list, args.src, args.out, args.strict)
    except BuildError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    for k in sorted(counts):
        print(f"{k}\t{counts[k]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
