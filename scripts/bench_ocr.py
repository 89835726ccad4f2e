#!/usr/bin/env python3
"""OCR benchmark: pages per second and peak memory of `isoscan scan` on scanned drawings.

- the real scanned ISO of ../shared/corpus/real (one 400 ppi page), with and without OCR;
- generated scans (150/200/300 dpi, some stored sideways or mirrored), with recall of their
  codes, apart for codes clear of lines and codes a pipe line is drawn across;
- a vector sheet whose text is only outlines (rendered by hayro, then read), with its codes;
- an A0 sheet scanned at 400 ppi in black and white, stored sideways (248 million pixels), and
  one with text at every angle (codes counted apart by angle);
- the ISO, the sheet with text at every angle and the generated scans again with
  `--ocr-level-only`, the baseline of what the turned passes cost.

Peak RSS is of the whole process tree (isoscan, its readers and Tesseract), sampled from /proc.
Run through scripts/bench-ocr.sh, which builds the release binaries first.
"""

import argparse
import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import run  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ISOSCAN = os.path.join(ROOT, "target/release/isoscan")
SCANS = os.path.join(ROOT, "target/release/examples/scans")
OUTLINED = os.path.join(ROOT, "target/release/examples/outlined")
A0 = os.path.join(ROOT, "target/release/examples/a0")
REAL = os.path.join(ROOT, "../shared/corpus/real")
ISO = "KZ02-PI-ISO-53-GP3-DK-8243001-001_C01-0-0.pdf"


def scan(folder, codes, jobs, extra, work):
    lst = os.path.join(work, "codes.txt")
    with open(lst, "w") as f:
        f.write("\n".join(codes))
    events = os.path.join(work, "events.ndjson")
    cmd = [ISOSCAN, "scan", folder, "--targets", lst, "--jobs", str(jobs), "--out",
           os.path.join(work, "r.xlsx"), "--events", events] + extra
    wall, rss = run(cmd)
    found = set()
    with open(events) as f:
        for line in f:
            m = json.loads(line)
            if m.get("type") == "MATCH_FOUND":
                for c in m["data"]["codes"]:
                    found.add((m["data"]["path"], c))
    return wall, rss, found


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scans", type=int, default=12)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    a = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as work:
        if os.path.exists(os.path.join(REAL, ISO)):
            folder = os.path.join(work, "iso")
            os.makedirs(folder)
            shutil.copy(os.path.join(REAL, ISO), folder)
            exp = json.load(open(os.path.join(REAL, "expected.json")))[ISO]
            codes = exp["present"] + exp["absent"]
            wall, rss, found = scan(folder, codes, 1, [], work)
            hits = len([c for (_, c) in found if c in exp["present"]])
            wrong = len([c for (_, c) in found if c in exp["absent"]])
            rows.append(("real scanned ISO, 1 page 400 ppi, --jobs 1: wall, peak RSS, codes",
                         "%.1f s (%.3f pages/s), %.0f MiB, %d of %d, %d look-alikes"
                         % (wall, 1 / wall, rss, hits, len(exp["present"]), wrong)))
            # Level text only: the same binary and sheet without the turned passes, as the
            # baseline of what those passes cost.
            flat, _, found = scan(folder, codes, 1, ["--ocr-level-only"], work)
            hits = len([c for (_, c) in found if c in exp["present"]])
            rows.append(("the same with --ocr-level-only",
                         "%.1f s (all passes take %.2f times as long), %d of %d"
                         % (flat, wall / flat, hits, len(exp["present"]))))
            wall, rss, _ = scan(folder, codes, 1, ["--no-ocr"], work)
            rows.append(("the same with --no-ocr", "%.2f s, %.0f MiB" % (wall, rss)))
        for example, name, args, label in [
            (OUTLINED, "outlined", [], "vector sheet, text only as outlines (A3, rendered at 300 dpi)"),
            (A0, "a0", [], "A0 sheet at 400 ppi, black and white, stored sideways"),
            (A0, "a0", ["--angled"], "A0 sheet at 400 ppi with text at every angle"),
        ]:
            # The example writes its file and the codes on it (NAME.json) into a folder: a list,
            # or each code with how it was drawn (mode@angle).
            folder = os.path.join(work, name + "".join(args))
            run([example, folder] + args)
            codes = json.load(open(os.path.join(folder, name + ".json")))
            os.remove(os.path.join(folder, name + ".json"))
            wall, rss, found = scan(folder, list(codes), 1, [], work)
            found = {c for (_, c) in found}
            rows.append(("%s, --jobs 1: wall, peak RSS, codes" % label, "%.1f s, %.0f MiB, %d of %d"
                         % (wall, rss, len(found), len(codes))))
            if isinstance(codes, dict):
                kinds = {"level": ("0",), "running up or down": ("90", "270"),
                         "along an isometric axis (30 or 330 degrees)": ("30", "330"),
                         "at 45 degrees": ("45",), "at 150 degrees (upside down)": ("150",)}
                for kind, angles in kinds.items():
                    these = [c for c, m in codes.items() if m.split("@")[1] in angles]
                    if these:
                        rows.append(("  codes %s" % kind,
                                     "%d of %d" % (len(found & set(these)), len(these))))
                flat, _, level = scan(folder, list(codes), 1, ["--ocr-level-only"], work)
                rows.append(("  the same with --ocr-level-only", "%.1f s (all passes take %.2f times as long), %d of %d"
                             % (flat, wall / flat, len({c for (_, c) in level}), len(codes))))
        gen = os.path.join(work, "gen")
        run([SCANS, gen, str(a.scans)])
        truth = json.load(open(os.path.join(gen, "truth.json")))
        for f in os.listdir(gen):
            if f.startswith("vector_"):
                os.remove(os.path.join(gen, f))
        present = {(p, c) for p, t in truth.items() for c in t["codes"]}
        codes = sorted({c for t in truth.values() for c in t["codes"] + t["absent"]})
        wall, rss, found = scan(gen, codes, a.jobs, [], work)
        hits = len(found & present)
        rows.append(("%d generated scans (150/200/300 dpi), --jobs %d: wall, peak RSS" % (a.scans, a.jobs),
                     "%.1f s (%.2f pages/s), %.0f MiB" % (wall, a.scans / wall, rss)))
        rows.append(("  recall, precision of (drawing, code) pairs",
                     "%.1f%%, %.1f%%" % (100 * hits / len(present), 100 * hits / max(1, len(found)))))
        flat, _, level = scan(gen, codes, a.jobs, ["--ocr-level-only"], work)
        rows.append(("  the same with --ocr-level-only", "%.1f s (all passes take %.2f times as long), recall %.1f%%"
                     % (flat, wall / flat, 100 * len(level & present) / len(present))))
        crossed = {(p, c) for p, t in truth.items() for c in t.get("crossed", [])}
        for label, pairs in [("clear of lines", present - crossed),
                             ("crossed by a pipe line", crossed)]:
            rows.append(("  recall, codes %s" % label, "%d of %d (%.1f%%)" % (
                len(found & pairs), len(pairs), 100 * len(found & pairs) / max(1, len(pairs)))))
    for k, v in rows:
        print("| %s | %s |" % (k, v))


if __name__ == "__main__":
    main()
