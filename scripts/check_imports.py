#!/usr/bin/env python3
"""Fails when a Swift file imports a module of this package that its target does not declare in Package.swift.

SwiftPM builds such a file only when the undeclared module happens to be built first (through another target), so
the build passes or fails with the scheduling order: CI once failed on a clean clone with "no such module 'Billing'"
that no local build had shown. This check makes the rule exact and fast, before anything is compiled.
"""
import json
import os
import re
import subprocess
import sys

IMPORT = re.compile(r"^\s*(?:@[\w()]+\s+)*(?:public\s+|internal\s+|package\s+)?import\s+(?:struct\s+|enum\s+|class\s+|func\s+)?(\w+)")


def main() -> int:
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    package = json.loads(subprocess.check_output(["swift", "package", "dump-package"], cwd=root))
    local = {target["name"] for target in package["targets"]}
    problems = []
    for target in package["targets"]:
        declared = {value[0] for dependency in target["dependencies"] for value in dependency.values()}
        folder = target.get("path") or os.path.join("Tests" if target["type"] == "test" else "Sources", target["name"])
        for directory, _, files in os.walk(os.path.join(root, folder)):
            for name in sorted(files):
                if not name.endswith(".swift"):
                    continue
                path = os.path.join(directory, name)
                with open(path, encoding="utf-8") as source:
                    for number, line in enumerate(source, 1):
                        match = IMPORT.match(line)
                        if match and match.group(1) in local and match.group(1) != target["name"] and match.group(1) not in declared:
                            problems.append(f"{os.path.relpath(path, root)}:{number}: target {target['name']} imports "
                                            f"{match.group(1)} but does not list it in Package.swift")
    for problem in problems:
        print(problem, file=sys.stderr)
    if not problems:
        print(f"check_imports: every import of the package's {len(local)} targets is declared")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
