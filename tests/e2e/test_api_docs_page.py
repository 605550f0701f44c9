"""The API docs page at /schema, as a person opens it: in a real headless Chromium, with every
asset from the server itself (an appliance without internet shows the same page)."""

from __future__ import annotations

from urllib.parse import urlsplit

from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from tests.conftest import ADMIN_TOKEN


def test_the_docs_page_renders_the_operations_and_takes_a_bearer_token(
    server, browser: WebDriver, tmp_path
) -> None:
    browser.get(f"{server.url}/schema")
    wait = WebDriverWait(browser, 30)
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".opblock")) > 10)
    titles = browser.find_element(By.CSS_SELECTOR, ".information-container").text
    assert "flux-edge" in titles.lower()
    paths = [e.text for e in browser.find_elements(By.CSS_SELECTOR, ".opblock-summary-path")]
    assert "/api/v1/functions/{name}/invoke" in "\n".join(paths).replace("\u200b", "")

    # "Authorize" takes the bearer token, as the security scheme declares.
    browser.find_element(By.CSS_SELECTOR, "button.authorize").click()
    field = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, ".auth-container input"))
    field.send_keys(ADMIN_TOKEN)
    browser.find_element(By.CSS_SELECTOR, ".auth-container button.authorize").click()
    logout = "//div[contains(@class, 'auth-container')]//button[normalize-space() = 'Logout']"
    wait.until(lambda d: d.find_elements(By.XPATH, logout))
    assert "Authorized" in browser.find_element(By.CSS_SELECTOR, ".auth-container").text
    browser.save_screenshot(str(tmp_path / "api-docs.png"))

    # Every script, style sheet, font and image came from the server: nothing from a CDN.
    loaded = browser.execute_script(
        "return performance.getEntriesByType('resource').map((e) => e.name)"
    )
    origins = {urlsplit(url).netloc for url in [browser.current_url, *loaded]}
    assert origins == {urlsplit(server.url).netloc}, loaded
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []
