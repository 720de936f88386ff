"""Summarises scripts/test: line counts per top-level directory, per-suite results from JUnit XML
and plain "N passed, N failed" lines, and one final line "N passed, N failed". Exits 1 on any
failure, including steps that failed without writing results (named on the command line)."""

import pathlib
import re
import subprocess
import sys
import xml.etree.ElementTree as ET


def line_counts(root: pathlib.Path) -> None:
    files = subprocess.run(["git", "ls-files"], cwd=root, capture_output=True, text=True).stdout
    counts: dict[str, int] = {}
    for name in files.split():
        path = root / name
        if path.suffix not in {".h", ".cc", ".cu", ".cuh", ".py", ".def", ".ir", ".md", ".txt"}:
            continue
        top = name.split("/")[0] if "/" in name else "."
        try:
            counts[top] = counts.get(top, 0) + sum(1 for _ in path.open(errors="ignore"))
        except OSError:
            pass
    print("lines by directory: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))


def junit(path: pathlib.Path) -> tuple[int, int, int]:
    tree = ET.parse(path)
    passed = failed = skipped = 0
    for case in tree.iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            failed += 1
        elif case.find("skipped") is not None or case.get("result") == "skipped":
            skipped += 1
        else:
            passed += 1
    return passed, failed, skipped


def main() -> int:
    results = pathlib.Path(sys.argv[1])
    failed_steps = sys.argv[2:]
    line_counts(results.parent.parent)
    total = [0, 0, 0]
    for path in sorted(results.glob("*.xml")):
        p, f, s = junit(path)
        print(f"  {path.stem:32s} {p:5d} passed {f:4d} failed {s:4d} skipped")
        total = [total[0] + p, total[1] + f, total[2] + s]
    for path in sorted(results.glob("*.txt")):
        match = None
        for line in path.read_text().splitlines():
            match = re.fullmatch(r"(\d+) passed, (\d+) failed", line.strip()) or match
        if match:
            p, f = int(match.group(1)), int(match.group(2))
            print(f"  {path.stem:32s} {p:5d} passed {f:4d} failed")
            total[0] += p
            total[1] += f
    for step in failed_steps:
        print(f"  step failed: {step}")
    failed = total[1] + len(failed_steps)
    line = f"{total[0]} passed, {failed} failed"
    if total[2]:
        line += f", {total[2]} skipped"
    print(line)
    return 1 if failed or total[0] == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
