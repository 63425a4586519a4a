"""Headless Chromium from its own command line (--dump-dom, --screenshot): what a page shows, what
it logged to the console, and what it asked the network for (--log-net-log). No protocol client."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

INSTALL_HINT = ("the preview test needs Chromium: on Debian/Ubuntu `apt-get install chromium` "
                "(or set NOTECARDS_CHROMIUM to a Chromium or Chrome binary)")
_CONSOLE = re.compile(r":CONSOLE[^\]]*\] \"(.*)\", source: (\S*)")


@dataclass(frozen=True)
class Page:
    dom: str
    """The document after its scripts ran, serialised."""
    console: tuple[str, ...]
    """Console messages and uncaught exceptions."""
    requests: tuple[str, ...]
    """Every URL the page fetched that is not on the disk or inline (file:, data:, about:)."""
    png: bytes | None = None
    """A screenshot of the page's first `size` pixels, when `load` was asked for one."""


def binary() -> str | None:
    return os.environ.get("NOTECARDS_CHROMIUM") or next(
        (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
         if shutil.which(n)), None)


def _run(exe: str, url: str, work: Path, extra: list[str], dark: bool, size: tuple[int, int]) -> subprocess.CompletedProcess:
    args = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-dev-shm-usage", "--hide-scrollbars", f"--user-data-dir={work / 'profile'}",
            f"--window-size={size[0]},{size[1]}", *(["--force-dark-mode"] if dark else []), *extra, url]
    return subprocess.run(args, capture_output=True, timeout=120, cwd=work, check=False)


def _page_requests(net: Path) -> list[str]:
    """URLs the page itself asked for: requests keyed to a file:// page, not the browser's own
    background traffic (update checks, clock sync), which a headless Chromium makes anyway."""
    events = json.loads(net.read_text(errors="replace")).get("events", []) if net.exists() else []
    return [p["url"] for p in (e.get("params") or {} for e in events)
            if "url" in p and "file://" in str(p.get("network_isolation_key", ""))]


def load(exe: str, url: str, work: Path, dark: bool = False, size: tuple[int, int] = (1200, 2000),
         shot: Path | None = None) -> Page:
    """Open `url`, let its scripts run, and return the DOM, console and network requests; with `shot`,
    a screenshot too (saved there), from the same start of the browser (each start costs a second)."""
    work.mkdir(parents=True, exist_ok=True)
    net = work / "net.json"
    done = _run(exe, url, work, ["--enable-logging=stderr", "--v=0", f"--log-net-log={net}", "--dump-dom",
                                 *([f"--screenshot={shot}"] if shot else [])], dark, size)
    if done.returncode != 0:
        raise AssertionError(f"Chromium failed ({done.returncode}): {done.stderr.decode(errors='replace')[-2000:]}")
    log = done.stderr.decode(errors="replace")
    if shot and not shot.exists():
        raise AssertionError(f"no screenshot: {log[-2000:]}")
    console = tuple(m.group(1) for m in _CONSOLE.finditer(log))
    remote = tuple(dict.fromkeys(u for u in _page_requests(net) if not u.startswith(("file:", "data:", "about:"))))
    return Page(done.stdout.decode(errors="replace"), console, remote, shot.read_bytes() if shot else None)
