#!/usr/bin/env python3
"""Build catalog/task-messages.json, catalog/sources.json and catalog/NOTICE.

Input: a folder (--src, default /work/catalog-src) laid out as
    <src>/<owner>/<repo>/<path in the repository>
holding resource files of Azure Pipelines tasks and helper packages:
    .../Strings/resources.resjson/<locale>/resources.resjson   ("loc.messages.<KEY>": "<text>")
    .../task.json, .../module.json, .../lib.json                ({"messages": {"<KEY>": "<text>"}}, English)
and <src>/manifest.json:
    {"<owner>/<repo>": {"commit": "<40 hex>", "license": "MIT", "copyright": "...",
                        "files": {"<path>": "<40 hex>"}}}   # "files" optional: per-file commit
Optional: <src>/NOTICE.tools, appended to catalog/NOTICE as it is.

Only the "loc.messages.*" entries and the "messages" objects are read; everything else in a
resource file (UI strings, inputs, help text) is ignored, so a full checkout works as input.

Output is deterministic: the same input gives byte-identical files.
Python 3.11, standard library only.
"""
from __future__ import annotations

import argparse
import json
import pathlib
import re
import sys

LOCALES = ["en-US", "de-DE", "es-ES", "fr-FR", "it-IT", "ja-JP", "ko-KR", "ru-RU", "zh-CN", "zh-TW"]
CANON = {loc.lower(): loc for loc in LOCALES}
ENGLISH_FILES = {"task.json", "module.json", "lib.json"}
RESJSON_RE = re.compile(r"^(?P<base>.*?)/?Strings/resources\.resjson/(?P<loc>[^/]+)/resources\.resjson$")
# Prefixes removed from a resource folder to name its component.
COMPONENT_PREFIXES = ["Tasks/Common/", "Tasks/TerraformTask/", "Tasks/", "common-npm-packages/"]

MIT_TEXT = """Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
"""


def component_of(repo: str, base: str) -> str:
    """Name of the component that owns a resource folder (path inside the repo)."""
    base = base.strip("/")
    if repo.endswith("/azure-pipelines-task-lib"):
        return "task-lib" if base in ("", "node") else "task-lib/" + base
    for prefix in COMPONENT_PREFIXES:
        if base.startswith(prefix):
            base = base[len(prefix):]
            break
    return base or repo.split("/")[1]


def load_json(path: pathlib.Path):
    # Resource files are UTF-8, often with a byte order mark.
    return json.loads(path.read_text(encoding="utf-8-sig"))


def iter_resource_files(src: pathlib.Path, repo: str):
    root = src / repo
    for path in sorted(root.rglob("*")):
        if not path.is_file():
            continue
        rel = path.relative_to(root).as_posix()
        m = RESJSON_RE.match(rel)
        if m:
            loc = CANON.get(m.group("loc").lower())
            if loc is None:          # e.g. "_ja-JP" leftovers: not a culture task-lib loads
                print(f"skip (unknown culture folder): {repo}/{rel}", file=sys.stderr)
                continue
            data = load_json(path)
            msgs = {k[len("loc.messages."):]: v for k, v in data.items()
                    if k.startswith("loc.messages.") and isinstance(v, str)}
            yield rel, component_of(repo, m.group("base")), loc, msgs, 1
        elif path.name in ENGLISH_FILES:
            data = load_json(path)
            msgs = data.get("messages") or {}
            msgs = {k: v for k, v in msgs.items() if isinstance(v, str)}
            base = rel.rsplit("/", 1)[0] if "/" in rel else ""
            yield rel, component_of(repo, base), "en-US", msgs, 0


def build(src: pathlib.Path, out: pathlib.Path) -> dict:
    manifest = load_json(src / "manifest.json")
    entries: dict[tuple[str, str], dict[tuple[str, str], list]] = {}
    stats: dict[str, int] = {}
    for repo in sorted(manifest):
        info = manifest[repo]
        files = info.get("files", {})
        for rel, comp, loc, msgs, prio in iter_resource_files(src, repo):
            commit = files.get(rel, info["commit"])
            source = f"{repo}@{commit}:{rel}"
            stats[source] = len(msgs)
            for key, text in msgs.items():
                texts = entries.setdefault((comp, key), {})
                # English resource file (task/module/lib.json) first, then by source string.
                texts.setdefault((loc, text), []).append((prio, source))
    order = {loc: i for i, loc in enumerate(LOCALES)}
    messages = []
    for (comp, key) in sorted(entries):
        texts = []
        for (loc, text), sources in sorted(entries[(comp, key)].items(),
                                           key=lambda kv: (order[kv[0][0]], kv[0][1])):
            texts.append({"locale": loc, "text": text, "source": min(sources)[1]})
        messages.append({"id": f"{comp}:{key}", "component": comp, "key": key, "texts": texts})
    out.mkdir(parents=True, exist_ok=True)
    write(out / "task-messages.json", {"messages": messages})
    sources = [{"repo": repo, "commit": manifest[repo]["commit"],
                "license": manifest[repo].get("license", "MIT"),
                "copyright": manifest[repo].get("copyright", "")} for repo in sorted(manifest)]
    write(out / "sources.json", sources)
    (out / "NOTICE").write_text(notice(manifest, src), encoding="utf-8", newline="\n")
    return {"messages": len(messages), "texts": sum(len(m["texts"]) for m in messages), "files": len(stats)}


def write(path: pathlib.Path, obj) -> None:
    text = json.dumps(obj, ensure_ascii=False, indent=1, sort_keys=False) + "\n"
    path.write_text(text, encoding="utf-8", newline="\n")


def notice(manifest: dict, src: pathlib.Path) -> str:
    lines = [
        "Third-party notices for the data in catalog/",
        "",
        "catalog/task-messages.json holds message strings (the \"loc.messages.*\" entries of",
        "Strings/resources.resjson/<locale>/resources.resjson and the \"messages\" objects of",
        "task.json, module.json and lib.json) of the Azure Pipelines tasks and helper packages",
        "in the repositories below, at the commits given in catalog/sources.json (each string",
        "names its own file and commit). No code is taken from them.",
        "",
    ]
    for repo in sorted(manifest):
        info = manifest[repo]
        lines += [f"== {repo} ({info.get('license', 'MIT')} License)", "",
                  f"{info.get('license', 'MIT')} License", "", info.get("copyright", ""), "", MIT_TEXT]
    tools = src / "NOTICE.tools"
    if tools.exists():
        lines += ["", tools.read_text(encoding="utf-8").rstrip("\n")]
    return "\n".join(lines).rstrip("\n") + "\n"


def main() -> int:
    here = pathlib.Path(__file__).resolve().parent
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--src", default="/work/catalog-src", type=pathlib.Path)
    ap.add_argument("--out", default=here.parent.parent / "catalog", type=pathlib.Path)
    args = ap.parse_args()
    print(json.dumps(build(args.src, args.out)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
