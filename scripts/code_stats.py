#!/usr/bin/env python3
"""Size figures for the code review (issue 17): the longest functions and files.

Usage: scripts/code_stats.py [DIR ...]   (default: src apps)

A function is a brace block opened at namespace level or directly in a class body (not inside
another function) whose opening line follows a parameter list. Its length counts every line from the
signature's first line to the closing brace. Strings, character literals and comments are
skipped when counting braces. Heuristic, but stable enough to compare before and after.
"""
import os
import re
import sys


def strip_code(text):
    """Blanks out comments and string/char literals, keeping newlines."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append("\n" * text.count("\n", i, j))
            i = j
        elif text.startswith('R"', i):
            m = re.match(r'R"([^(]*)\(', text[i:])
            end = ")" + m.group(1) + '"'
            j = text.find(end, i)
            j = n if j < 0 else j + len(end)
            out.append("\n" * text.count("\n", i, j))
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            out.append(c + c)
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def functions(path):
    code = strip_code(open(path, encoding="utf-8", errors="replace").read())
    stack = []  # kinds of open braces: 'ns' or 'other' or ('fn', start_line, name)
    results = []
    line = 1
    stmt_start = 1
    stmt = []
    for ch in code:
        if ch == "\n":
            line += 1
        if ch == "{":
            head = "".join(stmt).strip()
            at_ns_level = all(k in ("ns", "class") for k in stack)
            if re.search(r"\bnamespace\b[^;{]*$", head) or head.endswith('extern ""'):
                stack.append("ns")
            elif at_ns_level and re.search(r"\b(class|struct|union)\b[^()]*$", head):
                stack.append("class")
            elif at_ns_level and re.search(r"\)\s*(const|noexcept|override|final|->[^{]*|\s)*$", head) \
                    and not re.search(r"\b(class|struct|enum|union)\b", head.split("(")[0]):
                name = re.findall(r"([~\w:]+)\s*\(", head)
                first = stmt_start + len(head) - len(head.lstrip("\n"))
                stack.append(("fn", stmt_start, name[0] if name else "?"))
            else:
                stack.append("other")
            stmt = []
            stmt_start = line
            continue
        if ch == "}":
            if stack:
                kind = stack.pop()
                if isinstance(kind, tuple):
                    results.append((line - kind[1] + 1, kind[2], kind[1]))
            stmt = []
            stmt_start = line
            continue
        if ch == ";" or (ch == ":" and re.search(r"\b(public|private|protected)\s*$", "".join(stmt))):
            stmt = []
            stmt_start = line
            continue
        if not stmt and ch.isspace():
            if ch == "\n":
                stmt_start = line
            continue
        stmt.append(ch)
    return results


def main():
    dirs = sys.argv[1:] or ["src", "apps"]
    files = []
    for d in dirs:
        for root, _, names in os.walk(d):
            for nm in names:
                if nm.endswith((".cc", ".h")):
                    files.append(os.path.join(root, nm))
    fns, sizes = [], []
    for f in files:
        sizes.append((sum(1 for _ in open(f, encoding="utf-8", errors="replace")), f))
        if f.endswith(".cc"):
            fns += [(n, name, f, start) for n, name, start in functions(f)]
    fns.sort(reverse=True)
    sizes.sort(reverse=True)
    print("longest functions (lines):")
    for n, name, f, start in fns[:8]:
        print(f"  {n:5d}  {name}  {f}:{start}")
    print("longest files (lines):")
    for n, f in sizes[:8]:
        print(f"  {n:5d}  {f}")
    print(f"functions over 120 lines: {sum(1 for x in fns if x[0] > 120)}; "
          f"files over 700 lines: {sum(1 for x in sizes if x[0] > 700)}")


if __name__ == "__main__":
    main()
