"""Regenerate the coordinator's guide screenshot from a real build.

    .venv/bin/python scripts/screenshots.py            # builds the sample warehouse in a temp dir
    .venv/bin/python scripts/screenshots.py --data D   # uses an already built data dir (D/reports/...)

Builds the sample data and refreshes it (about a minute), opens the EEA-2013-150 whole-project
extract (reports/EEA-2013-150/PTD/report.html) in headless Chromium and writes the picture that
docs/coordinator-guide.md shows: docs/images/report-eea-2013-150-ptd.png. Needs the `chromium`
command (no Python browser package).
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "docs" / "images" / "report-eea-2013-150-ptd.png"
EXTRACT = Path("reports") / "EEA-2013-150" / "PTD" / "report.html"
SIZE = (1200, 1500)


def build(tmp: Path) -> Path:
    data = tmp / "data"
    env = {**os.environ, "SOS_DATA_DIR": str(data), "DAGSTER_HOME": str(tmp / "home")}
    (tmp / "home").mkdir(parents=True, exist_ok=True)
    for step in ("sample-data", "refresh"):
        subprocess.run([sys.executable, "-m", "sos_pipeline", step], cwd=ROOT, env=env, check=True,
                       stdout=subprocess.DEVNULL)
    return data


def browser() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    raise SystemExit("No chromium on PATH: install it (apt-get install chromium) to take the screenshot.")


def screenshot(page: Path, out: Path, tmp: Path) -> None:
    shot = tmp / "shot.png"
    subprocess.run([browser(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    f"--user-data-dir={tmp / 'chromium'}", f"--window-size={SIZE[0]},{SIZE[1]}",
                    f"--screenshot={shot}", page.resolve().as_uri()],
                   check=True, capture_output=True, timeout=120)
    out.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shot, out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, help="a data dir already built (skips the sample build)")
    ap.add_argument("--out", type=Path, default=TARGET)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="sos-screens-") as t:
        tmp = Path(t)
        data = args.data or build(tmp)
        page = data / EXTRACT
        if not page.exists():
            raise SystemExit(f"{page} is missing: build the extracts first (sos-pipeline refresh).")
        screenshot(page, args.out, tmp)
    print(f"{args.out} from {page if args.data else 'a fresh sample build'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
