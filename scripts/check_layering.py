#!/usr/bin/env python3
"""Fails when a source file includes a module its build target does not depend on.

Every library target gets src/ on its include path, so a wrong-way include (core including
api, crypto including storage, ...) would otherwise compile. The dependency graph is read from
the build files themselves, so they stay the one source of truth:

  * src/<dir>/CMakeLists.txt: sirr_library(sirr_<name> SOURCES ... DEPS ...) — the folder's
    files may include their own folder and the folders of the sirr_* libraries reachable
    through DEPS (transitively);
  * apps/CMakeLists.txt: add_executable(T files) + target_link_libraries(T ... libs): each
    main may include what its executable links;
  * test files (src/**/*_test.cc, *_test_env.h) may also include src/testing/ (the seams and helpers), and
    src/testing/ itself may include any module (it is linked only into test binaries).

Usage: scripts/check_layering.py [ROOT]   Exit 0 when clean, 1 with one line per violation.
"""
import os
import re
import sys

ROOT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
SRC = os.path.join(ROOT, "src")
INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"/]+)/', re.M)


def calls(text, fn):
    """Yields the argument words of every fn(...) call in a CMake file."""
    text = re.sub(r"#[^\n]*", "", text)
    for m in re.finditer(re.escape(fn) + r"\s*\(([^)]*)\)", text):
        yield m.group(1).split()


def lib_graph():
    folder_of, deps = {}, {}
    for d in sorted(os.listdir(SRC)):
        cm = os.path.join(SRC, d, "CMakeLists.txt")
        if not os.path.isfile(cm):
            continue
        for words in calls(open(cm).read(), "sirr_library"):
            name = words[0]
            folder_of[name] = d
            after = words[words.index("DEPS") + 1:] if "DEPS" in words else []
            deps[name] = [w for w in after if w.startswith("sirr_")]
    return folder_of, deps


def closure(libs, deps):
    seen, todo = set(), list(libs)
    while todo:
        lib = todo.pop()
        if lib in seen:
            continue
        seen.add(lib)
        todo.extend(deps.get(lib, []))
    return seen


def includes(path):
    return INCLUDE.findall(open(path, encoding="utf-8", errors="replace").read())


def main():
    folder_of, deps = lib_graph()
    modules = set(folder_of.values()) | {"testing"}
    problems = []

    def check(path, allowed):
        for inc in includes(path):
            if inc in modules and inc not in allowed:
                rel = os.path.relpath(path, ROOT)
                problems.append(f"{rel}: includes \"{inc}/...\", which its target does not "
                                f"depend on (allowed: {', '.join(sorted(allowed))})")

    for lib, folder in folder_of.items():
        allowed = {folder_of[x] for x in closure([lib], deps) if x in folder_of}
        for root, _, names in os.walk(os.path.join(SRC, folder)):
            for nm in names:
                if nm.endswith((".cc", ".h")):
                    extra = {"testing"} if "_test" in nm else set()  # foo_test.cc, core_test_env.h
                    check(os.path.join(root, nm), allowed | extra)

    apps = os.path.join(ROOT, "apps")
    cm = open(os.path.join(apps, "CMakeLists.txt")).read()
    sources = {w[0]: w[1:] for w in calls(cm, "add_executable")}
    for words in calls(cm, "target_link_libraries"):
        target = words[0]
        allowed = {folder_of[x] for x in closure([w for w in words if w in folder_of], deps)}
        for src in sources.get(target, []):
            check(os.path.join(apps, src), allowed)
            header = os.path.join(apps, os.path.splitext(src)[0] + ".h")
            if os.path.isfile(header):
                check(header, allowed)

    for p in problems:
        print(p)
    print(f"layering: {len(problems)} wrong-way include(s) across {len(folder_of)} libraries")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
