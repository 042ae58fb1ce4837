#!/usr/bin/env python3
"""Check that the tree keeps the shape src/README.md describes; run by ctest (check_layout).

  1. Every function in src/, cli/ and server/ fits on a screen: at most 80 lines, from the first
     line of its signature to its closing brace.
  2. Includes run one way. A folder of src/ includes only itself and the floors below it:
         api -> decide -> models -> nn -> base
         api -> codec -> geom -> base,   models -> geom,   decide -> geom
     (nn and codec know nothing of each other.) cli/ and server/ see the library only through
     include/faceup.h and base/strbuf.h, and server/ never includes cli/.
  3. No circle of includes among the files of one folder (a file and its header count as one).

Usage: tools/check_layout.py [ROOT]   Prints each violation; exits 1 if there is any.
"""
import os
import re
import sys

MAX_LINES = 80

# The folders of src/ and what each may include besides itself.
MAY_INCLUDE = {
    "base": set(),
    "geom": {"base"},
    "nn": {"base"},
    "codec": {"geom", "base"},
    "models": {"nn", "geom", "base"},
    "decide": {"models", "nn", "geom", "base"},
    "api": {"decide", "models", "nn", "codec", "geom", "base"},
}
# What the programs on top of the library may include of it.
PROGRAM_MAY_INCLUDE = {"faceup.h", "base/strbuf.h"}

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def c_files(root, folder):
    for dirpath, _, names in os.walk(os.path.join(root, folder)):
        for name in sorted(names):
            if name.endswith((".c", ".h")):
                yield os.path.join(dirpath, name)


def functions(text):
    """(first line, length, name) of each function definition: a '{' alone at column 0 after
    its signature, up to the '}' at column 0 that closes it."""
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        if lines[i] == "{":
            start = i
            while start > 0 and lines[start - 1].strip() and not lines[start - 1].startswith(
                    ("}", "#", "/*", " *", "//")) and not lines[start - 1].rstrip().endswith(
                    (";", "*/")):
                start -= 1
            end = i + 1
            while end < len(lines) and lines[end] != "}":
                end += 1
            names = re.findall(r"(\w+)\s*\(", " ".join(lines[start:i]))
            yield start + 1, end - start + 1, names[0] if names else "?"
            i = end
        i += 1


def check_lengths(root, problems):
    for folder in ("src", "cli", "server"):
        for path in c_files(root, folder):
            if not path.endswith(".c"):
                continue
            with open(path, encoding="utf-8", errors="replace") as f:
                text = f.read()
            for line, length, name in functions(text):
                if length > MAX_LINES:
                    problems.append(f"{os.path.relpath(path, root)}:{line}: {name}() is {length} "
                                    f"lines, over {MAX_LINES}")


def includes(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return INCLUDE.findall(f.read())


def check_directions(root, problems):
    for folder, allowed in MAY_INCLUDE.items():
        for path in c_files(root, os.path.join("src", folder)):
            for inc in includes(path):
                top = inc.split("/")[0] if "/" in inc else None
                if inc == "faceup.h" or top == folder or top in allowed:
                    continue
                problems.append(f"{os.path.relpath(path, root)}: includes \"{inc}\", which "
                                f"src/{folder}/ may not (it may include {sorted(allowed) or 'nothing'} "
                                f"below it)")
    for folder in ("cli", "server"):
        own = {os.path.basename(p) for p in c_files(root, folder)}
        for path in c_files(root, folder):
            for inc in includes(path):
                ok = inc in PROGRAM_MAY_INCLUDE or inc in own
                ok = ok or (folder == "cli" and inc == "server.h")
                if not ok:
                    problems.append(f"{os.path.relpath(path, root)}: includes \"{inc}\"; the "
                                    f"programs see the library through {sorted(PROGRAM_MAY_INCLUDE)}")


def check_circles(root, problems):
    folders = [os.path.join("src", f) for f in MAY_INCLUDE] + ["cli", "server"]
    for folder in folders:
        graph = {}
        for path in c_files(root, folder):
            node = os.path.splitext(os.path.basename(path))[0]
            for inc in includes(path):
                name = os.path.splitext(os.path.basename(inc))[0]
                same_folder = ("/" not in inc and folder in ("cli", "server")) or \
                    inc.startswith(os.path.basename(folder) + "/")
                if same_folder and name != node:
                    graph.setdefault(node, set()).add(name)
        state = {}

        def visit(node, trail):
            state[node] = 1
            for nxt in sorted(graph.get(node, ())):
                if state.get(nxt) == 1:
                    loop = trail[trail.index(nxt):] + [nxt]
                    problems.append(f"{folder}/: a circle of includes: {' -> '.join(loop)}")
                elif not state.get(nxt):
                    visit(nxt, trail + [nxt])
            state[node] = 2

        for node in sorted(graph):
            if not state.get(node):
                visit(node, [node])


def main():
    root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                           os.path.join(os.path.dirname(__file__), ".."))
    problems = []
    check_lengths(root, problems)
    check_directions(root, problems)
    check_circles(root, problems)
    for p in problems:
        print(p)
    print(f"check_layout: {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
