"""Portal pages in real Chromium against `wfe dev`: layout, definitions, instances."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import screenshot

pytestmark = pytest.mark.e2e


def test_login_page_keeps_a_pasted_token_and_returns(page: Page) -> None:
    page.goto("/#/login?next=/definitions")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    screenshot(page, "login")
    page.get_by_label("Access token").fill("not a token")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("This is not a JWT")).to_be_visible()
