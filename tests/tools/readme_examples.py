#!/usr/bin/env python3
"""Keeps the README's qmath-plan examples equal to the goldens.

Between `<!-- qmath-plan: NAME -->` and `<!-- /qmath-plan -->` the README
holds the command of case NAME (cases.tsv) and its output (golden/NAME.txt
without the exit line). `readme_examples.py README.md` checks them (a CTest
test); `--write` rewrites them (regen_golden.sh does, after the goldens).
"""
import pathlib
import re
import sys

here = pathlib.Path(__file__).resolve().parent
begin = re.compile(r"<!-- qmath-plan: ([a-z0-9_]+) -->\n")
end_marker = "<!-- /qmath-plan -->"


def cases():
    out = {}
    for line in (here / "cases.tsv").read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        name, _, args = line.partition("\t")
        out[name] = args
    return out


def block(name, args):
    golden = (here / "golden" / f"{name}.txt").read_text().splitlines()
    exit_line = golden[-1] if golden and golden[-1].startswith("--- exit") else "--- exit ?"
    body = [l for l in golden if not l.startswith("--- exit")]
    code = exit_line.split()[-1]
    command = ("qmath-plan " + args).rstrip()
    return "```sh\n{}    # exit code {}\n```\n```\n{}\n```\n".format(command, code, "\n".join(body).rstrip("\n"))


def main():
    write = "--write" in sys.argv
    paths = [a for a in sys.argv[1:] if a != "--write"]
    readme = pathlib.Path(paths[0])
    text = readme.read_text()
    known = cases()
    out, pos, bad, seen = [], 0, [], 0
    for m in begin.finditer(text):
        name = m.group(1)
        start = m.end()
        stop = text.find(end_marker, start)
        if stop < 0:
            sys.exit(f"{readme}: no {end_marker} after the example {name}")
        if name not in known:
            sys.exit(f"{readme}: example {name} is not a case of tests/tools/cases.tsv")
        want = block(name, known[name])
        if text[start:stop] != want:
            bad.append(name)
        out.append(text[pos:start] + want)
        pos = stop
        seen += 1
    out.append(text[pos:])
    if write:
        readme.write_text("".join(out))
        print(f"{readme}: {seen} qmath-plan examples written")
        return
    if bad:
        print(f"{readme}: these qmath-plan examples differ from their goldens: {', '.join(bad)}")
        print("run bash tests/tools/regen_golden.sh BUILD_DIR to rewrite them")
        sys.exit(1)
    print(f"{readme}: {seen} qmath-plan examples match their goldens")


main()
