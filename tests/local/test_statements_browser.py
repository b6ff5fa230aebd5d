"""The statements page in a real browser: what a customer sees at GET /statements after a month close, and
the 今月のご利用状況 card of the month under way above the statements.

Headless Chromium (Debian's ``chromium`` and ``chromium-driver``, never a
downloaded browser) opens the page with the customer's bearer token, as a
browser extension or an app's web view would send it. Screenshots go to
``artifacts/browser/`` for a human to look at.
"""

from __future__ import annotations

import base64
import shutil
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement

from local.client import SignedSession
from tests.local.support import TOKYO, new_account_id, profile, recent_times
from tests.stacks import ROOT, RunningStack, run_cli, start_local_up, stop_local_up

ARTIFACTS = ROOT / "artifacts" / "browser"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
PHONE = {"width": 390, "height": 844}
SMALL_PHONE = {"width": 375, "height": 812}
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--window-size=1280,900",
)
# Day of the month and count. The 12th's spike is the month's peak, though the
# account cleaned up the next day: the page must show where the bill came from.
MONTH_OF_COUNTS = ((3, 8_200), (7, 9_100), (12, 14_500), (13, 9_300), (21, 11_000), (27, 10_400))
THIS_MONTH_COUNTS = (12_000, 15_300)  # reported this month, in the last hours: the later one is the peak so far


def month_before_last() -> str:
    """Two Tokyo months ago."""
    last_month = datetime.now(TOKYO).date().replace(day=1) - timedelta(days=1)
    return (last_month.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")


def jp_date(iso: str) -> str:
    day = date.fromisoformat(iso)
    return f"{day.year}年{day.month}月{day.day}日"


def bearer_token(stack: RunningStack, account: str) -> str:
    result = run_cli(stack, "token", account)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.fixture(scope="module")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """A stack of this module's own: it closes a month with accounts it creates for it, and once a month's close
    has run no new contract may start in or before it, so it cannot share a stack another module closed."""
    stack = start_local_up(tmp_path_factory.mktemp("statements-up"), log_name="statements-up.log")
    yield stack
    stop_local_up(stack.process)


@pytest.fixture(scope="module")
def closed_month(local_stack: RunningStack) -> dict:
    """Two customers who reported counts in a past month, then `python -m local close-month` for it."""
    api = SignedSession.from_config(local_stack.config)
    month = month_before_last()
    year, number = (int(part) for part in month.split("-"))
    mine, theirs = new_account_id("page"), new_account_id("page")
    assert api.put(f"/v1/accounts/{mine}", json=profile("bank_transfer", "web")).status_code == 201
    assert api.put(f"/v1/accounts/{theirs}", json=profile("direct_debit", "postal")).status_code == 201
    for day, count in MONTH_OF_COUNTS:
        for account, scale in ((mine, 1), (theirs, 2)):
            at = datetime(year, number, day, 10, 0, tzinfo=TOKYO).isoformat()
            response = api.post(
                f"/v1/accounts/{account}/record-counts", json={"count": count * scale, "observed_at": at}
            )
            assert response.status_code == 200, response.text
    closed = run_cli(local_stack, "close-month", month)
    assert closed.returncode == 0, f"{closed.stdout}\n{closed.stderr}"
    token = bearer_token(local_stack, mine)
    statements = {}
    for account, account_token in ((mine, token), (theirs, bearer_token(local_stack, theirs))):
        listed = requests.get(
            f"{local_stack.config['url']}/v1/statements",
            headers={"Authorization": f"Bearer {account_token}"},
            timeout=30,
        )
        assert listed.status_code == 200, listed.text
        (statements[account],) = [item for item in listed.json()["statements"] if item["month"] == month]
    usage = api.get(f"/v1/accounts/{mine}/usage/{month}")
    assert usage.status_code == 200, usage.text
    return {
        "month": month,
        "mine": mine,
        "theirs": theirs,
        "token": token,
        "statements": statements,
        "usage": usage.json(),
    }


@pytest.fixture(scope="module")
def this_month(local_stack: RunningStack, closed_month: dict) -> dict:
    """The customer's counts of the month under way, and GET /v1/usage/current's answer with their token."""
    api = SignedSession.from_config(local_stack.config)
    account = closed_month["mine"]
    for count, at in zip(THIS_MONTH_COUNTS, recent_times(len(THIS_MONTH_COUNTS)), strict=True):
        response = api.post(
            f"/v1/accounts/{account}/record-counts", json={"count": count, "observed_at": at.isoformat()}
        )
        assert response.status_code == 200, response.text
    current = requests.get(
        f"{local_stack.config['url']}/v1/usage/current",
        headers={"Authorization": f"Bearer {closed_month['token']}"},
        timeout=30,
    )
    assert current.status_code == 200, current.text
    return current.json()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdriver.Chrome]:
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.skip(f"needs Debian's chromium and chromium-driver ({CHROMIUM}, {CHROMEDRIVER}); run `make system-deps`")
    options = webdriver.ChromeOptions()
    # Both paths are given, so selenium never looks for (or downloads) a browser or a driver.
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def page(
    browser: webdriver.Chrome, local_stack: RunningStack, closed_month: dict, this_month: dict
) -> webdriver.Chrome:
    """The customer's statements page, opened with their bearer token (after this month's counts)."""
    browser.execute_cdp_cmd("Network.enable", {})
    browser.execute_cdp_cmd(
        "Network.setExtraHTTPHeaders", {"headers": {"Authorization": f"Bearer {closed_month['token']}"}}
    )
    browser.get(f"{local_stack.config['url']}/statements")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    full_page_screenshot(browser, ARTIFACTS / "statements-desktop.png")
    return browser


def full_page_screenshot(driver: webdriver.Chrome, path: Path) -> None:
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
    path.write_bytes(base64.b64decode(shot["data"]))


def section(driver: webdriver.Chrome, month: str) -> WebElement:
    (found,) = driver.find_elements(By.CSS_SELECTOR, f'section.statement[data-month="{month}"]')
    return found


def texts(element: WebElement, selector: str) -> list[str]:
    return [item.text for item in element.find_elements(By.CSS_SELECTOR, selector)]


def test_the_customer_sees_the_months_statement(page: webdriver.Chrome, closed_month: dict):
    # Given a closed month / When the customer opens the page / Then the month's row reads as on the invoice
    month, statement = closed_month["month"], closed_month["statements"][closed_month["mine"]]
    year, number = (int(part) for part in month.split("-"))
    card = section(page, month)
    assert page.title == "ご請求明細"
    assert texts(card, "h2") == [f"{year}年{number}月ご利用分"]
    assert texts(card, "dd.number") == [statement["invoice_number"]]
    assert texts(card, "dd.amount") == [f"¥{statement['total']:,}"]
    assert "お振込期限" in texts(card, "dt")
    assert texts(card, "dd.pay-date") == [jp_date(statement["due_on"])]
    assert texts(card, "dd.peak") == [f"{closed_month['usage']['peak']:,}件"]


def test_the_chart_marks_the_peak_day_and_the_brackets(page: webdriver.Chrome, closed_month: dict):
    # Given a month whose peak was a one-day spike / Then the chart shows that day as the peak, under the brackets
    card = section(page, closed_month["month"])
    usage = closed_month["usage"]
    bars = card.find_elements(By.CSS_SELECTOR, "svg rect.day")
    peaks = card.find_elements(By.CSS_SELECTOR, "svg rect.day.peak")
    # One bar per reported day, exactly one of them the peak, and that one is the usage API's peak
    assert len(bars) == len(usage["daily"]) == len(MONTH_OF_COUNTS)
    assert len(peaks) == 1
    assert int(peaks[0].get_attribute("data-high")) == usage["peak"] == max(count for _, count in MONTH_OF_COUNTS)
    assert card.find_elements(By.CSS_SELECTOR, "svg line.bracket")
    (label,) = texts(card, "svg text.peak-label")
    assert f"{usage['peak']:,}件" in label
    # The peak bar is drawn: it has a size on screen, taller than every other bar
    assert peaks[0].rect["height"] == max(bar.rect["height"] for bar in bars) > 0


def test_the_pdf_link_is_a_short_lived_link_to_this_accounts_pdf(page: webdriver.Chrome, closed_month: dict):
    # Given the page's PDF button / Then it points at this account's own archived PDF, signed for 300 s at most
    month, account = closed_month["month"], closed_month["mine"]
    number = closed_month["statements"][account]["invoice_number"]
    (link,) = section(page, month).find_elements(By.CSS_SELECTOR, "a.pdf")
    href = urlparse(link.get_attribute("href"))
    query = parse_qs(href.query)
    assert href.hostname == "127.0.0.1"
    assert href.path.endswith(f"/invoices/{month}/{account}/{number}.pdf")
    assert "X-Amz-Signature" in query and 0 < int(query["X-Amz-Expires"][0]) <= 300
    # Following it (as a click would, with no bearer header) gets the PDF itself
    document = requests.get(link.get_attribute("href"), timeout=30)
    assert document.status_code == 200
    assert document.content.startswith(b"%PDF")


def test_another_accounts_statement_never_shows(page: webdriver.Chrome, closed_month: dict):
    # Given another customer's invoice for the same month / Then nothing of it is on this customer's page
    theirs = closed_month["statements"][closed_month["theirs"]]["invoice_number"]
    assert closed_month["statements"][closed_month["mine"]]["invoice_number"] != theirs
    assert theirs not in page.page_source
    assert closed_month["theirs"] not in page.page_source


def test_the_page_fits_a_phone_without_sideways_scrolling(page: webdriver.Chrome, closed_month: dict):
    # Given a phone-sized screen
    page.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {**PHONE, "deviceScaleFactor": 2, "mobile": True})
    try:
        page.refresh()  # a fresh presigned link; the bearer header is still set
        full_page_screenshot(page, ARTIFACTS / "statements-phone.png")
        # Then nothing is wider than the screen, and the chart still shows
        assert page.execute_script("return window.innerWidth") == PHONE["width"]
        assert page.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
        chart = section(page, closed_month["month"]).find_element(By.CSS_SELECTOR, "svg")
        assert 0 < chart.rect["width"] <= PHONE["width"]
    finally:
        page.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def test_the_month_so_far_opens_the_page_and_fits_a_375_px_phone(page: webdriver.Chrome, this_month: dict):
    # Given a 375 px wide phone, and the customer's month under way (the same stack, page and token)
    page.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {**SMALL_PHONE, "deviceScaleFactor": 2, "mobile": True})
    try:
        page.refresh()
        full_page_screenshot(page, ARTIFACTS / "statements-phone-375.png")
        # Then the first thing under the title is the 今月のご利用状況 card, on the first screen, above every statement
        card = page.find_element(By.CSS_SELECTOR, "main > section")
        assert card.get_attribute("class") == "current"
        assert card.is_displayed() and 0 <= card.rect["y"] < SMALL_PHONE["height"]
        assert all(card.rect["y"] < s.rect["y"] for s in page.find_elements(By.CSS_SELECTOR, "section.statement"))
        # And it says what GET /v1/usage/current says: the month, the peak so far, the bracket and the estimate
        year, number = (int(part) for part in this_month["month"].split("-"))
        assert this_month["peak"] == max(THIS_MONTH_COUNTS)
        (title,) = texts(card, "h2")
        assert title.startswith("今月のご利用状況") and title.endswith(f"{year}年{number}月")
        assert texts(card, "dd.current-peak")[0].startswith(f"{this_month['peak']:,}件")
        bracket, estimate = this_month["bracket"], this_month["estimate"]
        assert texts(card, "dd.current-bracket") == [f"{bracket['from']:,}〜{bracket['to']:,}件"]
        assert texts(card, "dd.current-estimate .amount") == [f"¥{estimate['total']:,}"]
        assert f"小計 ¥{estimate['subtotal']:,} ・ 消費税 ¥{estimate['tax']:,}" in card.text
        assert "ピークは下がりません" in card.text
        # And the statements' chart draws its days, inside the screen
        bars = card.find_elements(By.CSS_SELECTOR, "svg rect.day")
        assert len(bars) == len(this_month["daily"]) and all(bar.rect["height"] > 0 for bar in bars)
        if bars:
            assert 0 < card.find_element(By.CSS_SELECTOR, "svg").rect["width"] <= SMALL_PHONE["width"]
        # And nothing is wider than the screen: no sideways scrolling
        assert page.execute_script("return window.innerWidth") == SMALL_PHONE["width"]
        assert page.execute_script("return document.documentElement.scrollWidth") <= SMALL_PHONE["width"]
    finally:
        page.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def test_the_page_without_a_token_is_unauthorized(local_stack: RunningStack):
    # Given no sign-in / When the page is asked for / Then the gateway refuses it, as API Gateway's JWT authorizer does
    response = requests.get(f"{local_stack.config['url']}/statements", timeout=30)
    assert response.status_code == 401
    assert response.json() == {"message": "Unauthorized"}


def test_the_web_statement_email_links_to_the_local_page(local_stack: RunningStack, closed_month: dict):
    # Given the month close sent the web customer a notice (SES on the local AWS endpoint)
    number = closed_month["statements"][closed_month["mine"]]["invoice_number"]
    models = requests.get(f"{local_stack.config['endpoint']}/moto-api/data.json", timeout=30).json()
    notices = [message for message in models["ses"]["Message"] if number in message["body"]]
    # Then its link is the statements page this stack serves, not a cloud URL that does not exist
    assert len(notices) == 1
    assert f"{local_stack.config['url']}/statements" in notices[0]["body"]
