"""The change confirmation page in a real browser: from the emailed link to the applied change, on a phone.

The platform requests a change over the signed API; the link comes out of
the email that the stack sent (SES on the local AWS endpoint); headless
Chromium opens it at a phone's width and presses the button. Screenshots go
to ``artifacts/browser/``.
"""

from __future__ import annotations

import re

import pytest
import requests
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from local.client import SignedSession
from tests.local import test_statements_browser as statements_browser
from tests.local.test_statements_browser import ARTIFACTS, full_page_screenshot
from tests.stacks import RunningStack

browser = statements_browser.browser  # the same headless Chromium (Debian's), one per module
PHONE = {"width": 375, "height": 812}
ADDRESS = '東京都港区芝公園4-2-8 <b>本館</b> "3F" & 別館'  # customer text with markup, quotes and an ampersand
NEW_NAME = "鈴木 一郎"


@pytest.fixture(scope="module")
def emailed_link(local_stack: RunningStack) -> dict:
    """A change requested over the signed platform API, and the link in the email the stack sent for it."""
    api = SignedSession.from_config(local_stack.config)
    from tests.local.support import new_account_id, profile

    account = new_account_id("confirm")
    created = api.put(f"/v1/accounts/{account}", json=profile())
    assert created.status_code == 201, created.text
    changes = {"billing_contact": {"person_name": NEW_NAME, "address": ADDRESS}, "delivery_method": "web"}
    response = api.post(f"/v1/accounts/{account}/change-requests", json={"changes": changes})
    assert response.status_code == 201, response.text
    change_id = response.json()["change_request_id"]
    models = requests.get(f"{local_stack.config['endpoint']}/moto-api/data.json", timeout=30).json()
    (email,) = [message for message in models["ses"]["Message"] if change_id in message["body"]]
    link = re.search(rf"(\S+/change-requests/{change_id}\?token=\S+)", email["body"]).group(1)
    return {"api": api, "account": account, "change_id": change_id, "link": link}


@pytest.fixture(scope="module")
def phone(browser: webdriver.Chrome) -> webdriver.Chrome:
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {**PHONE, "deviceScaleFactor": 2, "mobile": True})
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return browser


def heading(driver: webdriver.Chrome) -> str:
    return driver.find_element(By.TAG_NAME, "h1").text


def test_the_email_links_to_the_page_this_stack_serves(local_stack: RunningStack, emailed_link: dict):
    assert emailed_link["link"].startswith(f"{local_stack.config['url']}/change-requests/")


def test_opening_the_link_shows_the_change_and_applies_nothing(emailed_link: dict):
    # Given the link, opened without a browser (as a mail scanner does)
    response = requests.get(emailed_link["link"], timeout=30)
    # Then it is a page that keeps the token to itself
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    # And nothing changed
    terms = emailed_link["api"].get(f"/v1/accounts/{emailed_link['account']}").json()
    assert terms["billing_contact"]["person_name"] == "山田 太郎"
    assert terms["delivery_method"] == "postal"


def test_the_customer_confirms_the_change_on_a_phone(phone: webdriver.Chrome, emailed_link: dict):
    # Given the customer opens the emailed link on a phone
    phone.get(emailed_link["link"])
    full_page_screenshot(phone, ARTIFACTS / "change-confirmation-phone.png")
    # Then the page shows each change, before → after, the customer's text as they typed it
    assert phone.title == "ご請求先情報の変更の確認"
    changes = {
        item.find_element(By.CSS_SELECTOR, ".label").text: (
            item.find_element(By.CSS_SELECTOR, ".before .value").text,
            item.find_element(By.CSS_SELECTOR, ".after .value").text,
        )
        for item in phone.find_elements(By.CSS_SELECTOR, ".change")
    }
    assert changes == {
        "ご担当者名": ("山田 太郎", NEW_NAME),
        "住所": ("東京都千代田区丸の内1-1-1", ADDRESS),
        "請求書の受け取り方法": ("郵送", "WEB明細"),
    }
    # And it fits the phone, with a button big enough to tap
    assert phone.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
    button = phone.find_element(By.CSS_SELECTOR, "form button")
    assert button.rect["height"] >= 44 and button.rect["width"] >= PHONE["width"] * 0.8

    # When they press 変更を確定する
    button.click()
    # (the click navigates: an h1 read from the page being left goes stale, and the wait reads again)
    WebDriverWait(phone, 30, ignored_exceptions=(StaleElementReferenceException,)).until(
        lambda driver: heading(driver) == "変更を確定しました"
    )
    full_page_screenshot(phone, ARTIFACTS / "change-confirmed-phone.png")
    # Then the platform sees the change applied
    terms = emailed_link["api"].get(f"/v1/accounts/{emailed_link['account']}").json()
    assert terms["billing_contact"]["person_name"] == NEW_NAME
    assert terms["billing_contact"]["address"] == ADDRESS
    assert terms["delivery_method"] == "web"


def test_the_link_works_once(phone: webdriver.Chrome, emailed_link: dict):
    # Given the change was confirmed (the test above) / When the link is opened again
    phone.get(emailed_link["link"])
    full_page_screenshot(phone, ARTIFACTS / "change-already-applied-phone.png")
    # Then the page says it is already done, and a second confirmation is refused the same way
    assert heading(phone) == "この変更はすでに確定しています"
    token = emailed_link["link"].split("token=", 1)[1]
    again = requests.post(emailed_link["link"].split("?")[0] + "/confirm", data={"token": token}, timeout=30)
    assert again.status_code == 409
    assert again.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "この変更はすでに確定しています" in again.text
