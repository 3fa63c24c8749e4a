"""Open the HTML report in headless Chromium: check it loads cleanly, and take a screenshot.

    python -m apexbench.browser results/report/index.html                 # check
    python -m apexbench.browser results/report/index.html --screenshot results/report/screenshot.png

The check loads the page with ``--dump-dom`` and reads what the report's inline script recorded on
``<body>`` after the load event: ``data-figures="ok/total"`` and ``data-errors``. It passes when
every figure decoded and no error was reported.

A sample browser (``results/<set>/samples.html``, ``apexbench.gallery``) applies a view given in the
URL fragment when it loads, so the real browser filters and sorts its rows; its script records the
outcome on ``<body>`` (``data-browser="ready"``, ``data-matched``, ``data-page``, ``data-visible``:
the ids shown, in order). The check then also requires ``data-browser="ready"``: a page whose script
did not run to the end fails, even without a reported error.

    python -m apexbench.browser results/demo/samples.html --fragment 'wrong=minixception&sort=conf:minixception&dir=desc'
"""

from __future__ import annotations

import argparse
import html
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--hide-scrollbars")


def find_chromium() -> str | None:
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


def _run(args: list[str], timeout: int = 120) -> subprocess.CompletedProcess:
    chromium = find_chromium()
    if chromium is None:
        raise FileNotFoundError("Chromium not found; install it (Debian: apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="apexbench-chromium-") as profile:
        cmd = [chromium, *FLAGS, f"--user-data-dir={profile}", *args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def _url(path: str | Path, fragment: str = "") -> str:
    return Path(path).resolve().as_uri() + (f"#{fragment}" if fragment else "")


def check_page(path: str | Path, fragment: str = "") -> dict:
    """``{"figures_ok", "figures_total", "errors", "title", "figure_keys", "attributes"}`` of the page
    after load in headless Chromium; ``fragment`` (without ``#``) is appended to its URL. ``attributes``
    holds every attribute of ``<body>`` (unescaped); for a sample browser, ``visible`` is the list
    of sample ids it shows (``data-visible``), else None."""
    url = _url(path, fragment)
    proc = _run(["--virtual-time-budget=5000", "--dump-dom", url])
    dom = proc.stdout
    body = re.search(r'<body((?:[^>"]|"[^"]*")*)>', dom)  # attribute values may hold ">"
    if proc.returncode != 0 or body is None:
        raise RuntimeError(f"chromium could not load {url} (exit {proc.returncode}): {proc.stderr.strip()[-500:]}")
    attrs = {k: html.unescape(v) for k, v in re.findall(r'([\w-]+)="([^"]*)"', body.group(1))}
    figures = attrs.get("data-figures")
    if figures is None:
        raise RuntimeError(f"{url}: the page's load script did not run (no data-figures on <body>)")
    ok, total = (int(x) for x in figures.split("/"))
    title = re.search(r"<title>(.*?)</title>", dom, re.S)
    visible = json.loads(attrs["data-visible"]) if "data-visible" in attrs else None
    return {"figures_ok": ok, "figures_total": total, "errors": attrs.get("data-errors", ""),
            "title": title.group(1) if title else "", "figure_keys": re.findall(r'data-figure="([^"]+)"', dom),
            "attributes": attrs, "visible": visible}


def page_ok(result: dict) -> bool:
    """Every figure decoded, no error, and a sample browser's script ran to the end."""
    browser = result["attributes"].get("data-browser")
    return (result["figures_ok"] == result["figures_total"] and not result["errors"]
            and browser in (None, "ready"))


def screenshot(path: str | Path, out: str | Path, width: int = 1280, height: int = 6000, fragment: str = "") -> Path:
    """A PNG of the page (full width, ``height`` pixels tall) at ``out``."""
    out = Path(out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    proc = _run([f"--window-size={width},{height}", "--virtual-time-budget=5000", f"--screenshot={out}",
                 _url(path, fragment)])
    if not out.is_file():
        raise RuntimeError(f"chromium wrote no screenshot (exit {proc.returncode}): {proc.stderr.strip()[-500:]}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("page", help="the report, e.g. results/report/index.html")
    parser.add_argument("--screenshot", help="also write a PNG screenshot here")
    parser.add_argument("--height", type=int, default=6000, help="screenshot height in pixels")
    parser.add_argument("--fragment", default="", help="a sample browser's view, e.g. 'wrong=clf&sort=conf:clf'")
    args = parser.parse_args(argv)
    try:
        result = check_page(args.page, args.fragment)
        print(f"{args.page}: {result['figures_ok']}/{result['figures_total']} figures loaded; "
              f"errors: {result['errors'] or 'none'}")
        attrs = result["attributes"]
        if "data-browser" in attrs:
            print(f"sample browser: {attrs['data-browser']}; {attrs.get('data-matched', '?')} of "
                  f"{attrs.get('data-total', '?')} samples match, page {attrs.get('data-page', '?')}, "
                  f"{len(result['visible'] or [])} shown")
        if args.screenshot:
            print(f"screenshot: {screenshot(args.page, args.screenshot, height=args.height, fragment=args.fragment)}")
    except (FileNotFoundError, RuntimeError, subprocess.TimeoutExpired) as err:
        print(f"apexbench: error: {err}", file=sys.stderr)
        return 1
    return 0 if page_ok(result) else 1


if __name__ == "__main__":
    sys.exit(main())
