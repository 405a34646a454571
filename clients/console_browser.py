"""The sandbox console in real headless Chromium, driven by Selenium over WebDriver (issue 24).

Steps, as a person would take them: sign in; create an organization and copy its owner's
token; lock a card and see it paused; start an unlock over HTTP, approve it in the console
(the pending session appears without a reload) and see the waiting request succeed; simulate
a payment declined for card_not_active; advance the clock; find a failed request by its
request id; retry a failed webhook delivery. On the way, every page is checked for labelled
controls and for fitting a phone's width, and screenshots of the main pages are written at
1280x800 and 390x844 (docs/console/ by default: the pictures docs/console.md shows).

Environment: CARDINAL_BASE_URL, CARDINAL_CREDENTIALS (the first start's credentials file),
CONSOLE_SCREENSHOTS (a folder), CHROMEDRIVER (default /usr/bin/chromedriver).
"""

import http.server
import json
import os
import re
import sys
import threading
import time
import uuid

import requests
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

BASE = os.environ["CARDINAL_BASE_URL"].rstrip("/")
CREDENTIALS = json.load(open(os.environ["CARDINAL_CREDENTIALS"]))
SHOTS = os.environ.get("CONSOLE_SCREENSHOTS", "docs/console")
SIZES = {"desktop": (1280, 800), "phone": (390, 844)}
SIZES_SEEN = {}


def step(text):
    print(f"ok - {text}", flush=True)


class Receiver(http.server.BaseHTTPRequestHandler):
    """A webhook receiver that fails until told to succeed."""

    healthy = False
    received = 0

    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        Receiver.received += 1
        self.send_response(200 if Receiver.healthy else 500)
        self.end_headers()
        self.wfile.write(b"ok" if Receiver.healthy else b"not yet")

    def log_message(self, *args):
        pass


def browser():
    options = webdriver.ChromeOptions()
    for flag in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"]:
        options.add_argument(flag)
    options.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_window_size(*SIZES["desktop"])
    return driver


def wait(driver, condition, seconds=10):
    # A page replaced under a waiting condition is waited out, not a failure.
    return WebDriverWait(driver, seconds, ignored_exceptions=[StaleElementReferenceException]).until(condition)


def notice(driver):
    return driver.find_element(By.CSS_SELECTOR, ".notice").text


def check_page(driver, name):
    """Every visible control has a label, the page fits a phone's width, nothing failed to
    load under the CSP, and the page is under 100 KB; then the screenshots."""
    unlabelled = driver.execute_script(
        """
        return [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
          .filter(e => e.offsetParent !== null)
          .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))
          .map(e => e.name || e.id);
        """
    )
    assert not unlabelled, f"{name}: controls without a label: {unlabelled}"
    # The page as served (the API reference's renderer is an asset, cached, not the page).
    size = driver.execute_script("return performance.getEntriesByType('navigation')[0].decodedBodySize")
    assert 0 < size < 100_000, f"{name}: {size} bytes"
    SIZES_SEEN[name] = size
    problems = [
        entry["message"]
        for entry in driver.get_log("browser")
        if entry["level"] == "SEVERE" and "Content Security Policy" in entry["message"]
    ]
    assert not problems, f"{name}: CSP refusals: {problems}"
    os.makedirs(SHOTS, exist_ok=True)
    for label, (width, height) in SIZES.items():
        driver.set_window_size(width, height)
        time.sleep(0.2)
        overflow = driver.execute_script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 1, f"{name} at {width}px: {overflow}px wider than the screen"
        driver.save_screenshot(os.path.join(SHOTS, f"{name}-{label}.png"))
    driver.set_window_size(*SIZES["desktop"])


def only_rows_with(driver, text):
    """The request rows, once every one of them shows `text` (False meanwhile)."""
    try:
        rows = driver.find_elements(By.CSS_SELECTOR, "#request-rows tr")
        return rows if rows and all(text in row.text for row in rows) else False
    except StaleElementReferenceException:
        return False


def api(method, path, token, **kwargs):
    headers = kwargs.pop("headers", {})
    headers["Authorization"] = f"Bearer {token}"
    return requests.request(method, BASE + path, headers=headers, timeout=10, **kwargs)


def main():
    receiver = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    driver = browser()
    try:
        run(driver, receiver.server_address[1])
    except Exception:
        path = os.path.join(SHOTS, "failure.png")
        os.makedirs(SHOTS, exist_ok=True)
        driver.save_screenshot(path)
        print(f"not ok - the page at the failure: {driver.current_url} (screenshot {path})", file=sys.stderr)
        raise
    finally:
        driver.quit()
        receiver.shutdown()


def run(driver, receiver_port):
    # 1. Sign in: `/` leads to the console, which asks for the admin token.
    driver.get(BASE + "/")
    wait(driver, EC.presence_of_element_located((By.ID, "token")))
    assert driver.current_url.endswith("/console/sign-in"), driver.current_url
    check_page(driver, "sign-in")
    driver.find_element(By.ID, "token").send_keys("not the token")
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    refused = wait(driver, EC.presence_of_element_located((By.CSS_SELECTOR, "[role=alert]")))
    assert "not the admin token" in refused.text
    driver.find_element(By.ID, "token").send_keys(CREDENTIALS["operator_token"])
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(driver, EC.presence_of_element_located((By.ID, "legal_name")))
    step("signed in with the admin token (a wrong one is refused)")

    # 2. Create an organization, with an HTML name that must come back as text.
    name = f"<b>Browser</b> & Co {int(time.time())}"
    driver.find_element(By.ID, "legal_name").send_keys(name)
    Select(driver.find_element(By.ID, "sca_mode")).select_by_value("required")
    driver.find_element(By.CSS_SELECTOR, "form.card-form button[type=submit]").click()
    wait(driver, EC.presence_of_element_located((By.ID, "sca-pending")))
    assert driver.find_element(By.TAG_NAME, "h1").text == name, "the name is shown as text, escaped"
    assert not driver.find_elements(By.CSS_SELECTOR, "h1 b"), "no markup from a name"
    org_url = driver.current_url
    org_id = org_url.rsplit("/", 1)[1]
    owner_token = None
    for block in driver.find_elements(By.CSS_SELECTOR, ".copy"):
        if "(owner)" in block.find_element(By.TAG_NAME, "label").text:
            owner_token = block.find_element(By.TAG_NAME, "input").get_attribute("value")
            block.find_element(By.TAG_NAME, "button").click()
    assert owner_token, "the owner's token is shown once, copyable"
    assert api("GET", "/v2/organization", owner_token).status_code == 200
    check_page(driver, "organization-created")
    step(f"created organization {org_id}; its owner's token works on /v2")

    # 3. Lock a card and see it paused.
    # A live card (the demo cards include pending physical ones, which only activation changes).
    live = [
        row for row in driver.find_elements(By.CSS_SELECTOR, "#cards-h ~ div table tbody tr")
        if row.find_element(By.CSS_SELECTOR, ".status").text == "live"
    ]
    live[0].find_element(By.TAG_NAME, "a").click()
    wait(driver, EC.presence_of_element_located((By.ID, "member")))
    card_url = driver.current_url
    card_id = card_url.rsplit("/", 1)[1]
    driver.find_element(By.CSS_SELECTOR, "button[formaction$='/lock']").click()
    wait(driver, EC.presence_of_element_located((By.CSS_SELECTOR, ".notice.ok")))
    assert "paused" in notice(driver), notice(driver)
    assert driver.find_element(By.CSS_SELECTOR, "p.meta .status").text == "paused"
    assert api("GET", f"/v2/cards/{card_id}", owner_token).json()["card"]["status"] == "paused"
    check_page(driver, "card")
    step(f"locked card {card_id} in the console: paused, as the API sees it")

    # 4. An unlock over HTTP waits on SCA; the console shows the session live and approves it.
    driver.get(org_url)
    wait(driver, EC.presence_of_element_located((By.ID, "sca-pending")))
    check_page(driver, "organization")
    driver.execute_script("window.stillTheSamePage = true")
    time.sleep(0.5)  # the live list's stream is open
    first = api("PUT", f"/v2/cards/{card_id}/unlock", owner_token)
    assert first.status_code == 428, first.text
    sca_token = first.json()["sca_session_token"]
    approve = wait(driver, EC.element_to_be_clickable((By.CSS_SELECTOR, "#sca-pending button.primary")))
    assert driver.execute_script("return window.stillTheSamePage === true"), "shown without a reload"
    assert "card.unlock" in driver.find_element(By.ID, "sca-pending").text
    driver.save_screenshot(os.path.join(SHOTS, "sca-pending-desktop.png"))
    approve.click()
    wait(driver, EC.presence_of_element_located((By.CSS_SELECTOR, ".notice.ok")))
    assert "approved" in notice(driver), notice(driver)
    retried = api("PUT", f"/v2/cards/{card_id}/unlock", owner_token, headers={"X-Qonto-Sca-Session-Token": sca_token})
    assert retried.status_code == 200 and retried.json()["card"]["status"] == "live", retried.text
    step("an unlock waiting on SCA appeared live, was approved in the console, and succeeded")

    # 5. A payment on a locked card is declined for card_not_active.
    driver.get(card_url)
    wait(driver, EC.presence_of_element_located((By.ID, "member")))
    driver.find_element(By.CSS_SELECTOR, "button[formaction$='/lock']").click()
    wait(driver, EC.presence_of_element_located((By.CSS_SELECTOR, ".notice")))
    amount = driver.find_element(By.ID, "pay-amount")
    amount.clear()
    amount.send_keys("42.50")
    driver.find_element(By.CSS_SELECTOR, "form[action$='/payment'] button[type=submit]").click()
    wait(driver, EC.presence_of_element_located((By.CSS_SELECTOR, ".notice.refused")))
    assert "card_not_active" in notice(driver), notice(driver)
    assert "card_not_active" in driver.find_element(By.ID, "tx-h").find_element(By.XPATH, "..").text
    step("a simulated payment on the locked card was declined: card_not_active")

    # 6. Advance the organization's clock.
    driver.get(org_url)
    before = api("GET", "/v2/organization", owner_token).headers.get("date")
    amount = wait(driver, EC.presence_of_element_located((By.ID, "amount")))
    amount.clear()
    amount.send_keys("3")
    Select(driver.find_element(By.ID, "unit")).select_by_value("86400")
    driver.find_element(By.CSS_SELECTOR, "form[action$='/clock'] button[type=submit]").click()
    wait(driver, EC.presence_of_element_located((By.CSS_SELECTOR, ".notice.ok")))
    shown = re.search(r"(\d{4}-\d{2}-\d{2}) ", notice(driver)).group(1)
    expected = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 3 * 86400))
    assert shown == expected, f"{shown} != {expected} (the server's date was {before})"
    step(f"advanced the clock by 3 days: it reads {shown}")

    # 7. A failed request, found by the request id of its error answer.
    failed = api("GET", f"/v2/cards/{uuid.uuid4()}", owner_token)
    assert failed.status_code == 404, failed.text
    request_id = failed.headers["x-request-id"]
    driver.get(f"{org_url}/requests")
    field = wait(driver, EC.presence_of_element_located((By.ID, "f-id")))
    driver.execute_script("window.stillTheSamePage = true")
    time.sleep(0.5)  # the live rows' stream is open
    api("GET", "/v2/memberships", owner_token)
    wait(driver, lambda d: "/v2/memberships" in d.find_element(By.ID, "request-rows").text)
    assert driver.execute_script("return window.stillTheSamePage === true"), "a new request shown without a reload"
    field = driver.find_element(By.ID, "f-id")
    field.send_keys(request_id)
    driver.find_element(By.CSS_SELECTOR, "form[role=search] button[type=submit]").click()
    # The filtered page, not the rows of the page before it (which go stale as it leaves).
    wait(driver, EC.url_contains("request_id=" + request_id))
    rows = wait(driver, lambda d: only_rows_with(d, request_id))
    assert len(rows) == 1 and request_id in rows[0].text and str(failed.status_code) in rows[0].text, rows[0].text
    rows[0].find_element(By.TAG_NAME, "summary").click()
    assert "errors" in rows[0].text, "the answer body is shown"
    check_page(driver, "requests")
    step(f"a new request appeared live; found the failed request {request_id} ({failed.status_code}) by its request id")

    # 8. A webhook delivery that failed, retried from the console once the receiver is well.
    callback = f"http://127.0.0.1:{receiver_port}/hook"
    made = api("POST", "/v2/webhook_subscriptions", owner_token, json={"callback_url": callback, "types": ["v1/cards"]})
    assert made.status_code == 201, made.text
    api("PUT", f"/v2/cards/{card_id}/lock", owner_token)
    api("POST", f"/_sandbox/cards/{card_id}/authorizations", CREDENTIALS["operator_token"])
    unlock = api("PUT", f"/v2/cards/{card_id}/unlock", owner_token)
    requests.post(f"{BASE}/v2/mocked_sca_sessions/{unlock.json()['sca_session_token']}/allow", timeout=10)
    api("PUT", f"/v2/cards/{card_id}/unlock", owner_token, headers={"X-Qonto-Sca-Session-Token": unlock.json()["sca_session_token"]})
    deadline = time.time() + 20
    while Receiver.received == 0 and time.time() < deadline:
        time.sleep(0.2)
    assert Receiver.received > 0, "the delivery was attempted"
    Receiver.healthy = True
    driver.get(f"{org_url}/webhooks")
    link = wait(driver, EC.element_to_be_clickable((By.CSS_SELECTOR, "#deliveries-h ~ div table tbody tr td a")))
    link.click()
    retry = wait(driver, EC.element_to_be_clickable((By.CSS_SELECTOR, "form[action$='/retry'] button")))
    assert "answered 500" in driver.find_element(By.CSS_SELECTOR, "ol.attempts").text
    check_page(driver, "webhook-delivery")
    retry = driver.find_element(By.CSS_SELECTOR, "form[action$='/retry'] button")
    retry.click()
    wait(driver, EC.presence_of_element_located((By.CSS_SELECTOR, ".notice.ok")))
    deadline = time.time() + 20
    while time.time() < deadline:
        driver.refresh()
        if "answered 200" in driver.find_element(By.CSS_SELECTOR, "ol.attempts").text:
            break
        time.sleep(0.5)
    assert "delivered" in driver.find_element(By.CSS_SELECTOR, "p.meta").text, driver.find_element(By.CSS_SELECTOR, "p.meta").text
    step("a failed webhook delivery was retried from the console and delivered")

    # The other pages: OAuth clients, the API reference (vendored Swagger UI).
    driver.get(BASE + "/console/oauth")
    wait(driver, EC.presence_of_element_located((By.TAG_NAME, "h1")))
    check_page(driver, "oauth")
    driver.get(BASE + "/console/reference")
    wait(driver, EC.presence_of_element_located((By.CSS_SELECTOR, "#swagger-ui .opblock")), 20)
    assert "lockCard" in driver.page_source or "/v2/cards/{id}/lock" in driver.page_source
    check_page(driver, "reference")
    step("the OAuth clients page and the API reference (rendered from /openapi.json) show")

    # Keyboard: the sign-out button is reachable and works with Enter.
    driver.get(BASE + "/console")
    wait(driver, EC.presence_of_element_located((By.ID, "legal_name")))
    check_page(driver, "organizations")
    sign_out = driver.find_element(By.CSS_SELECTOR, "form[action='/console/sign-out'] button")
    sign_out.send_keys("\n")
    wait(driver, EC.presence_of_element_located((By.ID, "token")))
    driver.get(org_url)
    assert driver.current_url.endswith("/console/sign-in"), "signed out: the old cookie opens nothing"
    step("signed out with the keyboard; the old session opens nothing")


if __name__ == "__main__":
    main()
    print("page sizes (bytes, as served): " + ", ".join(f"{k} {v}" for k, v in SIZES_SEEN.items()))
    print("console browser tests: 8 steps passed")
