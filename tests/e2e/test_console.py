"""The web console at /console, used in a real headless Chromium (Debian's chromium and
chromium-driver, driven by Selenium): sign in, deploy, edit, invoke, see executions, logs and the
chart. Screenshots are kept under the test's tmp dir (the path is printed)."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.conftest import ADMIN_TOKEN

SVG_NAMESPACE = "http://www.w3.org/2000/svg"
FIRST = "export default { fetch() { return new Response('v1'); } };"
SECOND = (
    "export default {\n"
    "  async fetch(request) {\n"
    "    const body = await request.text();\n"
    "    console.log('console got', body);\n"
    "    if (body === 'boom') throw new Error('console boom');\n"
    "    return new Response('v2 ' + body);\n"
    "  },\n"
    "};\n"
)


def _wait(driver: WebDriver, condition: object, timeout: float = 20) -> object:
    return WebDriverWait(driver, timeout).until(condition)  # type: ignore[arg-type]


def _text(driver: WebDriver, element_id: str) -> str:
    return str(driver.find_element(By.ID, element_id).text)


def _type(driver: WebDriver, element_id: str, text: str) -> None:
    field = driver.find_element(By.ID, element_id)
    field.clear()
    field.send_keys(text)


def _last_run(driver: WebDriver, name: str) -> str:
    selector = f'#functions tr[data-name="{name}"] td.last-run'
    return str(driver.find_element(By.CSS_SELECTOR, selector).text)


def _set_code(driver: WebDriver, element_id: str, code: str) -> None:
    # send_keys into a textarea would be re-indented by nothing, but is slow; set the value.
    driver.execute_script(
        "document.getElementById(arguments[0]).value = arguments[1]", element_id, code
    )


def test_sign_in_deploy_invoke_and_see_the_execution_and_chart(
    server, browser: WebDriver, fname: str, tmp_path: Path
) -> None:
    shots = tmp_path / "screenshots"
    shots.mkdir()
    print(f"console screenshots: {shots}")
    browser.get(f"{server.url}/console")

    # A wrong token is refused on the page.
    _type(browser, "token", "not-a-token")
    browser.find_element(By.CSS_SELECTOR, "#signin button").click()
    _wait(browser, lambda d: _text(d, "signin-error") != "")
    assert browser.find_element(By.ID, "app-view").is_displayed() is False
    browser.save_screenshot(str(shots / "1-sign-in-refused.png"))

    _type(browser, "token", ADMIN_TOKEN)
    browser.find_element(By.CSS_SELECTOR, "#signin button").click()
    _wait(browser, lambda d: d.find_element(By.ID, "app-view").is_displayed())
    assert browser.execute_script("return sessionStorage.getItem('flux-edge-token')") == ADMIN_TOKEN

    # Create a function from the form.
    _type(browser, "new-name", fname)
    _set_code(browser, "new-code", FIRST)
    browser.find_element(By.CSS_SELECTOR, "#new-function button").click()
    _wait(browser, lambda d: _text(d, "detail-name") == fname)
    assert _text(browser, "new-status") == f"Created {fname}, version 1."
    row = browser.find_element(By.CSS_SELECTOR, f'#functions tr[data-name="{fname}"]')
    assert "enabled" in row.text
    _wait(browser, lambda d: _last_run(d, fname) == "never")

    # Edit its code and deploy a new version.
    assert browser.find_element(By.ID, "code").get_attribute("value") == FIRST
    _set_code(browser, "code", SECOND)
    browser.find_element(By.ID, "deploy").click()
    _wait(browser, lambda d: _text(d, "deploy-status") == "Deployed version 2.")

    # Invoke it twice: once fine, once failing.
    _set_code(browser, "invoke-body", "pears")
    browser.find_element(By.ID, "invoke").click()
    _wait(browser, lambda d: "v2 pears" in _text(d, "invoke-result"))
    assert _text(browser, "invoke-result").startswith("HTTP 200")
    _wait(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#executions tbody tr")) == 1)
    _set_code(browser, "invoke-body", "boom")
    browser.find_element(By.ID, "invoke").click()
    _wait(browser, lambda d: _text(d, "invoke-result").startswith("HTTP 500"))
    _wait(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#executions tbody tr")) == 2)

    # The executions, with their logs and stacks; the history agrees with the API.
    api = httpx.get(
        f"{server.url}/api/v1/functions/{fname}/executions",
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    ).json()
    rows = browser.find_elements(By.CSS_SELECTOR, "#executions tbody tr")
    assert [r.get_attribute("data-id") for r in rows] == [e["id"] for e in api]
    rows[0].click()  # newest first: the failed call
    assert _text(browser, "execution-id") == api[0]["id"]
    assert _text(browser, "execution-logs") == "console.log: console got boom"
    error = _text(browser, "execution-error")
    assert "console boom" in error
    assert re.search(r":5:\d+", error), error  # the user's line number
    rows[1].click()
    assert _text(browser, "execution-result") == "v2 pears"

    # The filters ask the API for what they say.
    Select(browser.find_element(By.ID, "filter-status")).select_by_visible_text("error")
    _wait(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#executions tbody tr")) == 1)
    assert "error" in browser.find_element(By.CSS_SELECTOR, "#executions tbody tr").text
    Select(browser.find_element(By.ID, "filter-status")).select_by_visible_text("any status")
    _wait(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#executions tbody tr")) == 2)

    # The chart: two calls, one error, bars and duration lines drawn.
    chart = browser.find_element(By.ID, "chart")
    assert chart.get_attribute("data-invocations") == "2"
    assert chart.get_attribute("data-errors") == "1"
    assert chart.find_elements(By.CSS_SELECTOR, "rect.bar-invocations")
    assert chart.find_elements(By.CSS_SELECTOR, "rect.bar-errors")
    assert chart.find_element(By.CSS_SELECTOR, "polyline.line-p99").get_attribute("points")

    # Live logs followed both calls.
    _wait(browser, lambda d: _text(d, "live-logs").count(" in ") == 2)
    live = _text(browser, "live-logs")
    assert "log: console got pears" in live
    assert "error 500" in live
    browser.save_screenshot(str(shots / "2-function.png"))

    # The overview chart counts this function's calls among all.
    browser.find_element(By.ID, "show-overview").click()
    overview = browser.find_element(By.ID, "overview-chart")
    _wait(browser, lambda d: int(overview.get_attribute("data-invocations") or 0) >= 2)
    browser.save_screenshot(str(shots / "3-overview.png"))

    # The functions list shows the last run: the failed call, when the page is loaded again
    # (the token stays for this tab).
    browser.refresh()
    _wait(browser, lambda d: d.find_element(By.ID, "app-view").is_displayed())
    _wait(browser, lambda d: _last_run(d, fname).endswith(" error"))

    # Nothing the page did was refused (CSP) or failed in its script.
    failures = [
        entry
        for entry in browser.get_log("browser")
        if entry["level"] == "SEVERE" and "/invoke" not in entry["message"]
        and "not-a-token" not in entry["message"] and "401" not in entry["message"]
    ]  # fmt: skip
    assert failures == []

    # Signing out forgets the token.
    browser.find_element(By.ID, "sign-out").click()
    assert browser.execute_script("return sessionStorage.getItem('flux-edge-token')") is None
    assert browser.find_element(By.ID, "signin-view").is_displayed()


def test_console_files_are_ours_and_locked_down(server) -> None:
    page = httpx.get(f"{server.url}/console")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    for asset, kind in (("console.js", "text/javascript"), ("console.css", "text/css")):
        answer = httpx.get(f"{server.url}/console/{asset}")
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith(kind)
        # Nothing is loaded from elsewhere: the only absolute URL is the SVG namespace name.
        assert set(re.findall(r"https?://[^\s\"'`)]+", answer.text)) <= {SVG_NAMESPACE}
    assert not re.findall(r"https?://", page.text)
    missing = httpx.get(f"{server.url}/console/../flux-edge.db")
    assert missing.status_code == 404
    unknown = httpx.get(f"{server.url}/console/settings.py")
    assert unknown.status_code == 404
    assert unknown.json()["error"]
