#!/usr/bin/env python3
"""Insert questions into articles' front matter.

    scripts/insert_questions.py QUESTIONS_DIR [KB_DIR]

QUESTIONS_DIR holds one `<article-id>.txt` per article, one question per line (blank lines
and lines starting with `#` are skipped). Each question goes into the `questions = [...]`
field of `KB_DIR/<article-id>.md` (default `kb/`), as the last field of the front matter;
an existing `questions` field is replaced. Questions listed twice (ignoring case and
spaces) are kept once. Nothing else in the file changes. Standard library only.
"""

import re
import sys
from pathlib import Path

# The field as this script writes it: `questions = [` up to the closing `]` on its own line.
FIELD = re.compile(r"^questions\s*=\s*\[.*?^\]\s*\n", re.S | re.M)
ONE_LINE_FIELD = re.compile(r"^questions\s*=\s*\[[^\n]*\]\s*\n", re.M)


def toml_string(text):
    """A TOML basic string."""
    out = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{out}"'


def read_questions(path):
    seen = set()
    questions = []
    for line in path.read_text(encoding="utf-8").splitlines():
        q = " ".join(line.split())
        if not q or q.startswith("#"):
            continue
        key = q.lower()
        if key in seen:
            continue
        seen.add(key)
        questions.append(q)
    return questions


def insert(article_text, questions):
    lines = article_text.split("\n")
    if not lines or lines[0].strip() != "+++":
        raise ValueError("no front matter")
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "+++")
    except StopIteration:
        raise ValueError("front matter is not closed") from None
    front = "\n".join(lines[1:end]) + "\n"
    front = FIELD.sub("", front)
    front = ONE_LINE_FIELD.sub("", front)
    if questions:
        field = "questions = [\n" + "".join(f"  {toml_string(q)},\n" for q in questions) + "]\n"
        front = front.rstrip("\n") + "\n" + field
    return "\n".join(["+++", front.rstrip("\n"), *lines[end:]])


def main(argv):
    if len(argv) not in (2, 3):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    questions_dir = Path(argv[1])
    kb_dir = Path(argv[2]) if len(argv) == 3 else Path("kb")
    changed = []
    status = 0
    for path in sorted(questions_dir.glob("*.txt")):
        article = kb_dir / f"{path.stem}.md"
        if not article.is_file():
            print(f"{path}: no article {article}", file=sys.stderr)
            status = 1
            continue
        old = article.read_text(encoding="utf-8")
        try:
            new = insert(old, read_questions(path))
        except ValueError as e:
            print(f"{article}: {e}", file=sys.stderr)
            status = 1
            continue
        if new != old:
            article.write_text(new, encoding="utf-8")
            changed.append(str(article))
    for name in changed:
        print(name)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv))
