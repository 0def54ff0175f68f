"""Headless Chromium for the browser tests: Debian's own packages, installed by the test set-up when missing.

- The browser and its driver are Debian's `chromium` and `chromium-driver` (/usr/bin/chromium,
  /usr/bin/chromedriver). When either is missing, the session installs them with apt-get (the
  machines reach Debian's package mirror). Selenium is pointed at both paths, so it never
  downloads a browser or a driver of its own.
- Only when they truly cannot be installed (not root, no apt-get, no mirror) are the browser tests
  skipped, with the reason printed loudly at the start and in the skip message.
- Each test gets a fresh profile (--user-data-dir) and keeps a screenshot of each step under
  var/test-artifacts/e2e/<test name>/ (gitignored), for people to look at after a run.
- `server_timings` records how long the server spent on each request the browser made
  (request_started to request_finished in the live server's thread), redirects included.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.core.signals import request_finished, request_started
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
PACKAGES = ["chromium", "chromium-driver"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts" / "e2e"
# Flags that work on these machines (no GPU, no network but the package mirrors, run as root).
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--window-size=1280,1000",
]


def _installed() -> bool:
    return os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)


def _install() -> str:
    """Install Debian's chromium and chromium-driver; "" when done, else why not."""
    if shutil.which("apt-get") is None:
        return "apt-get is not available on this machine"
    if os.geteuid() != 0:
        return "installing Debian packages needs root"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", *PACKAGES]):
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            return f"{' '.join(command)} failed: {done.stderr.strip()[-500:]}"
    return "" if _installed() else "the packages installed, but the binaries are not where Debian puts them"


@pytest.fixture(scope="session")
def chromium_binaries() -> tuple[str, str]:
    """(browser, driver) paths; installs them first if needed, or skips loudly if that cannot be done."""
    if not _installed():
        why = _install()
        if why:
            message = f"BROWSER TESTS SKIPPED: headless Chromium could not be installed ({why})."
            print(f"\n{'!' * 80}\n{message}\n{'!' * 80}", file=sys.stderr)
            pytest.skip(message)
    return CHROMIUM, CHROMEDRIVER


@dataclass
class Steps:
    """Screenshots of a test's steps, numbered in order."""

    folder: Path
    driver: object
    taken: list[Path] = field(default_factory=list)

    def shot(self, name: str) -> Path:
        path = self.folder / f"{len(self.taken) + 1:02d}-{name}.png"
        self.driver.save_screenshot(str(path))
        self.taken.append(path)
        return path


@pytest.fixture
def browser(chromium_binaries, settings, request):
    """A fresh headless Chromium (selenium WebDriver), and a Steps recorder for its screenshots."""
    # The live server is plain http: cookies marked Secure (production's setting) would not come back.
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium_binaries[0]
    for flag in [*CHROMIUM_FLAGS, f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager must not look for downloads
    driver = webdriver.Chrome(service=Service(executable_path=chromium_binaries[1]), options=options)
    driver.set_page_load_timeout(30)
    folder = ARTIFACTS / request.node.name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    try:
        yield driver, Steps(folder, driver)
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@dataclass
class Timing:
    method: str
    path: str
    ms: float


@pytest.fixture
def server_timings():
    """[Timing] of every request the live server handled during the test, in order."""
    timings: list[Timing] = []
    local = threading.local()

    def started(sender, environ=None, **kwargs):
        local.started = (time.perf_counter(), environ.get("REQUEST_METHOD", ""), environ.get("PATH_INFO", ""))

    def finished(sender, **kwargs):
        begun = getattr(local, "started", None)
        if begun is not None:
            timings.append(Timing(begun[1], begun[2], (time.perf_counter() - begun[0]) * 1000))
            local.started = None

    request_started.connect(started, weak=False, dispatch_uid="e2e-timing-start")
    request_finished.connect(finished, weak=False, dispatch_uid="e2e-timing-finish")
    yield timings
    request_started.disconnect(dispatch_uid="e2e-timing-start")
    request_finished.disconnect(dispatch_uid="e2e-timing-finish")
