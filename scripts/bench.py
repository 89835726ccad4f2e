#!/usr/bin/env python3
"""The scan benchmark (run through scripts/bench.sh, which builds the binaries first).

On a generated corpus of small drawings, in one run:
  - `isoscan scan` against a `pdftotext | grep -F -w -f` pipeline with the same parallelism: wall
    time ratio, files/s per core, recall of each against the ground truth;
  - peak RSS of the whole scan (isoscan and its reader processes, sampled from /proc);
  - 10 codes against 10,000 codes;
  - extraction on one core against pdfium (pypdfium2, when it is installed) on the same files;
  - a 100,000-row report against a 1,000-row one (peak RSS).
Prints a Markdown table for docs/BENCHMARKS.md.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ISOSCAN = os.path.join(ROOT, "target/release/isoscan")
GEN = os.path.join(ROOT, "target/release/isoscan-gen")


def tree_rss_kb(pid):
    """Resident memory of a process and all its descendants, in KiB."""
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(d))
        except (OSError, ValueError, IndexError):
            pass
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        try:
            with open("/proc/%d/status" % p) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
        stack.extend(children.get(p, []))
    return total


def run(cmd, shell=False, cwd=None):
    """Runs a command; returns (wall seconds, peak tree RSS in MiB)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, shell=shell, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = [0]
    done = threading.Event()

    def poll():
        while not done.is_set():
            peak[0] = max(peak[0], tree_rss_kb(p.pid))
            time.sleep(0.02)

    th = threading.Thread(target=poll)
    th.start()
    _, err = p.communicate()
    wall = time.perf_counter() - t0
    done.set()
    th.join()
    if p.returncode != 0:
        sys.exit("failed (%d): %s\n%s" % (p.returncode, cmd, err.decode(errors="replace")[-2000:]))
    return wall, peak[0] / 1024.0


def report_rss_mib(ex, rows, out):
    """Peak RSS of the report example, as it reads it from /proc/self/status before exiting."""
    line = subprocess.run([ex, str(rows), out], check=True, capture_output=True, text=True).stdout
    return int(line.rsplit("peak RSS", 1)[1].split()[0]) / 1024.0


def code_lists(truth, out):
    present = []
    seen = set()
    for t in truth.values():
        for c in t["codes"]:
            if c not in seen:
                seen.add(c)
                present.append(c)
    absent = [c for t in truth.values() for c in t["absent"] if c not in seen]
    lists = {}
    for n in (10, 500, 10000):
        codes = present[: n // 2] + absent[: n // 4]
        i = 0
        while len(codes) < n:
            codes.append("ZZ-%02d-%04d" % (10 + i // 10000 % 90, i % 10000))
            i += 1
        path = os.path.join(out, "codes%d.txt" % n)
        with open(path, "w") as f:
            f.write("\n".join(codes) + "\n")
        lists[n] = (path, codes)
    return lists


def expected_pairs(truth, codes):
    want = set(codes)
    return {(path, c) for path, t in truth.items() for c in t["codes"] if c in want}


def isoscan_pairs(events_path):
    pairs = set()
    with open(events_path) as f:
        for line in f:
            e = json.loads(line)
            if e["type"] == "MATCH_FOUND":
                for c in e["data"]["codes"]:
                    pairs.add((e["data"]["path"], c))
    return pairs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=6600)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--pdfium-files", type=int, default=1000)
    ap.add_argument("--keep", help="work folder to keep (default: a temporary one)")
    a = ap.parse_args()
    work = a.keep or tempfile.mkdtemp(prefix="isoscan-bench-")
    os.makedirs(work, exist_ok=True)
    corpus = os.path.join(work, "corpus")
    if not os.path.exists(os.path.join(corpus, "truth.json")):
        subprocess.run([GEN, "corpus", corpus, "--files", str(a.files), "--small", "--seed", "1"], check=True, stdout=subprocess.DEVNULL)
    truth = json.load(open(os.path.join(corpus, "truth.json")))
    drawings = os.path.join(corpus, "drawings")
    lists = code_lists(truth, work)
    n = len(truth)
    rows = []

    def scan(codes_path, jobs, tag):
        ev = os.path.join(work, "events-%s.ndjson" % tag)
        wall, rss = run([ISOSCAN, "scan", drawings, "--targets", codes_path, "--jobs", str(jobs), "--out", os.path.join(work, "r-%s.xlsx" % tag), "--events", ev])
        return wall, rss, ev

    codes500_path, codes500 = lists[500]
    pipe_out = os.path.join(work, "pipeline.txt")
    pipeline = (
        "find %s -name '*.pdf' -print0 | xargs -0 -P %d -n 20 sh -c "
        "'for f do pdftotext -q \"$f\" - 2>/dev/null | grep -F -w -o -f %s | sort -u | sed \"s|^|$f\\t|\"; done' sh > %s"
        % (drawings, a.jobs, codes500_path, pipe_out)
    )
    # One untimed run of each warms the page cache; then the two alternate, best of three each.
    scan(codes500_path, a.jobs, "warm")
    run(pipeline, shell=True)
    iso, pipe = [], []
    for i in range(3):
        iso.append(scan(codes500_path, a.jobs, "500-%d" % i))
        pipe.append(run(pipeline, shell=True))
    iso_wall = min(r[0] for r in iso)
    iso_rss = max(r[1] for r in iso)
    want = expected_pairs(truth, codes500)
    got = isoscan_pairs(iso[0][2])
    iso_recall = len(got & want) / max(1, len(want))
    iso_fp = len(got - want)
    pipe_wall = min(p[0] for p in pipe)
    pipe_pairs = set()
    for line in open(pipe_out):
        f, _, c = line.rstrip("\n").partition("\t")
        pipe_pairs.add((os.path.relpath(f, drawings), c))
    pipe_recall = len(pipe_pairs & want) / max(1, len(want))

    w10, w10k = [], []
    for i in range(3):
        w10.append(scan(lists[10][0], a.jobs, "10-%d" % i)[0])
        w10k.append(scan(lists[10000][0], a.jobs, "10k-%d" % i)[0])
    w10, w10k = min(w10), min(w10k)

    # One core: isoscan with one reader against pdfium on the same files.
    sub = sorted(truth)[: a.pdfium_files]
    one = os.path.join(work, "one-core")
    if not os.path.exists(one):
        for rel in sub:
            dst = os.path.join(one, rel)
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            shutil.copy(os.path.join(drawings, rel), dst)
    w1, _ = run(["taskset", "-c", "0", ISOSCAN, "scan", one, "--targets", codes500_path, "--jobs", "1", "--out", os.path.join(work, "r1.xlsx")])
    pdfium_rate = None
    try:
        import pypdfium2 as pdfium  # noqa: F401

        code = (
            "import sys, time, pypdfium2 as p\n"
            "files = sys.argv[1:]\n"
            "t = time.perf_counter()\n"
            "for f in files:\n"
            "    d = p.PdfDocument(f)\n"
            "    for i in range(len(d)):\n"
            "        d[i].get_textpage().get_text_range()\n"
            "    d.close()\n"
            "print(len(files) / (time.perf_counter() - t))\n"
        )
        out = subprocess.run(["taskset", "-c", "0", sys.executable, "-c", code] + [os.path.join(one, r) for r in sub], check=True, capture_output=True, text=True)
        pdfium_rate = float(out.stdout.strip())
    except ImportError:
        pass

    # The hostile files (bombs included), scanned alone: time and peak memory of the whole scan.
    hostile = os.path.join(work, "hostile")
    if not os.path.exists(hostile):
        subprocess.run([GEN, "hostile", hostile], check=True, stdout=subprocess.DEVNULL)
    h_events = os.path.join(work, "events-hostile.ndjson")
    h_wall, h_rss = run([ISOSCAN, "scan", hostile, "--jobs", str(a.jobs), "--out", os.path.join(work, "rh.xlsx"), "--events", h_events])
    n_hostile = len([f for f in os.listdir(hostile) if f.endswith(".pdf")])
    h_errors = sum(1 for line in open(h_events) if json.loads(line)["type"] == "FILE_ERROR")

    # Reports: 1,000 against 100,000 rows.
    ex = os.path.join(ROOT, "target/release/examples/report_rows")
    rss1k = report_rss_mib(ex, 1000, os.path.join(work, "rows1k.xlsx"))
    rss100k = report_rss_mib(ex, 100000, os.path.join(work, "rows100k.xlsx"))

    rows.append(("drawings (small, generated, seed 1)", "%d" % n))
    rows.append(("parallelism (`--jobs`, `xargs -P`)", "%d on %d cores" % (a.jobs, os.cpu_count() or 0)))
    rows.append(("isoscan scan, 500 codes: wall", "%.2f s (%.0f files/s, %.0f files/s per core)" % (iso_wall, n / iso_wall, n / iso_wall / a.jobs)))
    rows.append(("pdftotext \\| grep -F -w -f, 500 codes: wall", "%.2f s (%.0f files/s)" % (pipe_wall, n / pipe_wall)))
    rows.append(("**speed-up over the pipeline**", "**%.1f×**" % (pipe_wall / iso_wall)))
    rows.append(("recall of (file, code) pairs: isoscan / pipeline", "%.2f%% (%d false) / %.2f%%" % (100 * iso_recall, iso_fp, 100 * pipe_recall)))
    rows.append(("peak RSS of the whole scan (all processes)", "%.0f MiB" % iso_rss))
    rows.append(("%d hostile files (bombs, loops, damage): wall, peak RSS" % n_hostile, "%.2f s, %.0f MiB, %d FILE_ERRORs" % (h_wall, h_rss, h_errors)))
    rows.append(("10 codes / 10,000 codes: wall", "%.2f s / %.2f s (**%.2f×**)" % (w10, w10k, w10k / w10)))
    rows.append(("one core, %d files: isoscan scan --jobs 1" % len(sub), "%.0f files/s" % (len(sub) / w1)))
    if pdfium_rate:
        rows.append(("one core, same files: pdfium text (pypdfium2)", "%.0f files/s (isoscan **%.2f×**)" % (pdfium_rate, (len(sub) / w1) / pdfium_rate)))
    rows.append(("report of 1,000 / 100,000 rows: peak RSS", "%.1f MiB / %.1f MiB" % (rss1k, rss100k)))
    print("| measure | result |\n|---|---|")
    for k, v in rows:
        print("| %s | %s |" % (k, v))
    if not a.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
