#!/usr/bin/env python3
"""Which Tesseract passes read drawings best: recall of each pass, and of passes put together,
on generated scans, under the matching rule for OCR text (confusion groups, boundary rule).

    pip install pillow
    cargo build --release -p isoscan-pdfgen --example scans
    cargo build --release -p isoscan-extract --example page_image
    python3 scripts/ocr_passes.py [SCANS=12]

Each scan's picture is taken as isoscan takes it (`page_image`: decoded, turned by /Rotate),
turned upright by Tesseract's orientation detection, then read by every pass below. A pass is
a page segmentation mode, a resolution, a filter and a tiling; the texts of several passes are
put together as isoscan does. Look-alikes one digit off each code are counted too.
"""

import concurrent.futures as cf
import json
import os
import random
import re
import subprocess
import sys
import tempfile

from PIL import Image, ImageFilter

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCANS = os.path.join(ROOT, "target/release/examples/scans")
PAGE_IMAGE = os.path.join(ROOT, "target/release/examples/page_image")
DPI = [150, 200, 300]  # the scans example's resolutions, in turn

# name: (psm, resolution rule, median filter, tiles per side)
PASSES = {
    "psm4 (x2 under 180 dpi)": (4, "up", False, 1),
    "psm11": (11, "as is", False, 1),
    "psm11 in 2x2 tiles": (11, "as is", False, 2),
    "psm11 in 3x3 tiles": (11, "as is", False, 3),
    "psm6": (6, "as is", False, 1),
    "psm12": (12, "as is", False, 1),
    "psm4 at 300 dpi, median": (4, "300", True, 1),
    "psm11 at 300 dpi, median": (11, "300", True, 1),
    "psm11 at 300 dpi": (11, "300", False, 1),
}
UNIONS = [
    ["psm4 (x2 under 180 dpi)", "psm11"],
    ["psm4 (x2 under 180 dpi)", "psm11 in 2x2 tiles"],
    ["psm4 (x2 under 180 dpi)", "psm11 in 2x2 tiles", "psm6"],
    ["psm4 (x2 under 180 dpi)", "psm11 in 2x2 tiles", "psm11 at 300 dpi, median"],
]
GROUPS = {"o": "0", "i": "1", "l": "1", "|": "1", "s": "5", "$": "5", "b": "8", "z": "2",
          ".": "-", "~": "-", "_": "-", "=": "-", ",": "-"}


def norm(s, bar="1"):
    return "".join(bar if c == "|" else GROUPS.get(c, c) for c in s.lower())


def found(text, code):
    c = norm(code)
    # A `|` is read as the letter it looks like, and again as a line beside the text.
    for t in {norm(text), norm(text, " ")}:
        i = t.find(c)
        while i >= 0:
            before = t[i - 1] if i > 0 else " "
            after = t[i + len(c)] if i + len(c) < len(t) else " "
            if not before.isalnum() and not after.isalnum():
                return True
            i = t.find(c, i + 1)
    return False


def tesseract(path, psm):
    env = dict(os.environ, OMP_THREAD_LIMIT="1")
    args = ["tesseract", path, "stdout", "--psm", str(psm)] + (["-l", "eng"] if psm else [])
    return subprocess.run(args, capture_output=True, text=True, env=env).stdout


def upright(work, i, dpi):
    src = os.path.join(work, "page_%03d.pgm" % i)
    subprocess.run([PAGE_IMAGE, os.path.join(work, "scan_%03d.pdf" % i), "1", src],
                   check=True, capture_output=True)
    im = Image.open(src)
    small = im if dpi < 300 else im.resize((im.width // 2, im.height // 2))
    osd = os.path.join(work, "osd_%03d.pgm" % i)
    small.save(osd)
    m = re.search(r"Rotate: (\d+)", tesseract(osd, 0))
    if m and int(m.group(1)):
        im = im.rotate(-int(m.group(1)), expand=True)
    return im


def read(work, i, dpi, im, spec):
    psm, rule, median, tiles = spec
    if median:
        im = im.filter(ImageFilter.MedianFilter(3))
    scale = {"up": 2 if dpi < 180 else 1, "as is": 1, "300": 300 / dpi}[rule]
    if scale != 1:
        im = im.resize((int(im.width * scale), int(im.height * scale)), Image.BICUBIC)
    w, h = im.width / tiles, im.height / tiles
    text = ""
    for a in range(tiles):
        for b in range(tiles):
            box = (int(max(0, a * w - w / 10)), int(max(0, b * h - h / 10)),
                   int(min(im.width, (a + 1) * w + w / 10)), int(min(im.height, (b + 1) * h + h / 10)))
            path = os.path.join(work, "p_%03d_%d_%d_%d.pgm" % (i, psm, a, b))
            im.crop(box).save(path)
            text += tesseract(path, psm) + "\n"
            os.remove(path)
    return text


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 12
    with tempfile.TemporaryDirectory() as work:
        subprocess.run([SCANS, work, str(n)], check=True)
        truth = json.load(open(os.path.join(work, "truth.json")))

        def one(i):
            dpi = DPI[i % 3]
            im = upright(work, i, dpi)
            return {name: read(work, i, dpi, im, spec) for name, spec in PASSES.items()}

        with cf.ThreadPoolExecutor(os.cpu_count() or 2) as ex:
            texts = list(ex.map(one, range(n)))
    rnd = random.Random(1)
    lookalikes = []
    for i in range(n):
        t = truth["scan_%03d.pdf" % i]
        for c in t["codes"]:
            k = rnd.choice([j for j, ch in enumerate(c) if ch.isdigit()])
            alike = c[:k] + rnd.choice([d for d in "0123456789" if d != c[k]]) + c[k + 1:]
            if alike not in t["codes"]:
                lookalikes.append((i, alike))
    print("| passes | recall (150 / 200 / 300 dpi misses) | look-alikes found |")
    print("|---|---|---|")
    for names in [[p] for p in PASSES] + UNIONS:
        hit = total = wrong = 0
        missed = {d: 0 for d in DPI}
        for i in range(n):
            text = "\n".join(texts[i][p] for p in names)
            for c in truth["scan_%03d.pdf" % i]["codes"]:
                total += 1
                if found(text, c):
                    hit += 1
                else:
                    missed[DPI[i % 3]] += 1
            wrong += sum(found(text, c) for c in truth["scan_%03d.pdf" % i]["absent"])
        wrong += sum(found("\n".join(texts[i][p] for p in names), c) for i, c in lookalikes)
        print("| %s | %d/%d = %.1f%% (%s) | %d |" % (
            " + ".join(names), hit, total, 100 * hit / total,
            " / ".join(str(missed[d]) for d in DPI), wrong))


if __name__ == "__main__":
    main()
