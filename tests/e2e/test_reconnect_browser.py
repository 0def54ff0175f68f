"""The whole way back, in a real browser: a paused channel's banner, Reconnect, the partner's consent, the missed post.

Headless Chromium (Debian's) drives the live server; the LinkedIn Page was paused by a real
classified error (its token expired, found by a real publish worker); the sandbox partner's consent
page stands in for LinkedIn's. Screenshots of each step: var/test-artifacts/e2e/<test name>/.
The clicks from the banner to an active channel and the server time of each step are written to
timings.json beside them, and printed.
"""

from __future__ import annotations

import json

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from connections.models import Connection, Post
from sandbox.models import SandboxObject
from tests.connections.reconnect_helpers import paused_page, wizard
from tests.recovery.pipeline_helpers import run_publish_worker

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery"  # tests/factories.py UserFactory


def _wait_for(driver, text: str, timeout: float = 15):
    WebDriverWait(driver, timeout).until(EC.text_to_be_present_in_element((By.TAG_NAME, "body"), text))


def _step_times(timings, since: int) -> list[dict]:
    return [{"method": t.method, "path": t.path, "server_ms": round(t.ms, 1)} for t in timings[since:]]


def test_a_paused_channel_comes_back_from_the_banner_and_its_missed_post_is_published(
    sandbox, browser, server_timings, tenant, owner
):
    driver, steps = browser
    wizard(tenant, True)
    page, missed = paused_page(tenant)
    report = {"clicks_banner_to_active": 0, "steps": []}

    def step(name: str, since: int, clicks: int = 0):
        report["steps"].append({"step": name, "clicks": clicks, "requests": _step_times(server_timings, since)})
        steps.shot(name)

    # Sign in.
    mark = len(server_timings)
    driver.get(f"{sandbox}/accounts/login/")
    driver.find_element(By.ID, "id_username").send_keys(owner.username)
    driver.find_element(By.ID, "id_password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    _wait_for(driver, "LinkedIn Page: Acme Page is disconnected")
    banner = driver.find_element(By.ID, "attention-banner").text
    assert "Your connection to this account has expired." in banner
    assert "1 post waits for it." in banner
    assert f"{owner.username} · Acme" in driver.find_element(By.CSS_SELECTOR, ".site-header .who").text
    step("banner", mark)

    # Click 1: Reconnect, in the banner. The partner's consent page, the same account preselected.
    mark = len(server_timings)
    driver.find_element(By.CSS_SELECTOR, "#attention-banner button.primary").click()
    _wait_for(driver, "Continue to the app?")
    assert "/sandbox/linkedin/oauth/v2/authorization" in driver.current_url
    chosen = driver.find_element(By.CSS_SELECTOR, "input[name=account]:checked")
    assert chosen.get_attribute("value") == page.external_account_id
    step("partner-consent", mark, clicks=1)

    # Click 2: Allow. Back on our side: the channel is active, and the missed post waits for a choice.
    mark = len(server_timings)
    driver.find_element(By.CSS_SELECTOR, "button[value=allow]").click()
    _wait_for(driver, "Posts missed while LinkedIn Page: Acme Page was paused")
    assert "LinkedIn Page: Acme Page is connected again." in driver.page_source
    assert missed.content in driver.find_element(By.ID, f"missed-{missed.pk}").text
    page.refresh_from_db()
    assert page.status == Connection.Status.ACTIVE
    report["clicks_banner_to_active"] = 2
    step("back-active-backfill", mark, clicks=1)

    # Click 3: publish the missed post. The normal pipeline sends it (a real worker).
    mark = len(server_timings)
    driver.find_element(By.CSS_SELECTOR, "button[name=all][value=publish]").click()
    _wait_for(driver, "1 sent to publish now")
    step("publish-chosen", mark, clicks=1)
    run_publish_worker()

    mark = len(server_timings)
    driver.get(f"{sandbox}/posts/")
    row = driver.find_element(By.ID, f"post-{missed.pk}")
    assert "Published" in row.text
    assert "LinkedIn Page: Acme Page" not in driver.find_element(By.ID, "attention-banner").text  # the banner cleared
    step("published", mark)

    missed.refresh_from_db()
    assert missed.status == Post.Status.PUBLISHED
    assert SandboxObject.objects.filter(platform="linkedin", kind="post", data__commentary=missed.content).count() == 1

    (steps.folder / "timings.json").write_text(json.dumps(report, indent=2))
    print(f"\nclicks from the banner to an active channel: {report['clicks_banner_to_active']}")
    for entry in report["steps"]:
        served = ", ".join(f"{r['method']} {r['path']} {r['server_ms']} ms" for r in entry["requests"]
                           if not r["path"].startswith("/static/"))
        print(f"  {entry['step']}: {served}")
    assert len(steps.taken) == 5 and all(path.stat().st_size > 0 for path in steps.taken)
