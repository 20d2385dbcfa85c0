"""The console in a real browser against a real server: headless chromium, gunicorn on
loopback with token authentication, a database set up by the `pdp` command line.

The database holds three versions: the shipped policies with one more resource whose
descriptions carry markup (1), the full Altinn catalog (2), and the shipped policies without
LEDE's grant of Programmeringsgrensesnitt (3, active). The register is the example one plus an
organisation named `<script>alert(1)</script>`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select

from pdp.identifiers import complete_organization_number
from tests.conftest import DATA_DIR, EXAMPLES_DIR, POLICY_DIR
from tests.e2e.browser import chromium, fill, no_alert, screenshot, screenshot_directory, wait_for
from tests.e2e.servers import BIN, running_server
from tests.security.tokens import AUDIENCE, EVERY_SCOPE, ISSUER, Issuer

PAULA, ELENA = "02056260016", "01025161013"  # DAGL of 910459880, and of 810418672
PARTY = "910459880"
PACKAGE = "urn:altinn:accesspackage:maskinlesbarehendelser"
XSS_NAME = "<script>alert(1)</script>"
XSS_ORGANIZATION = complete_organization_number("91234568") or ""
MARKUP_RESOURCE = "ttd-markup-test"
MARKUP = '<img src=x onerror="window.pdpXss=1"><script>window.pdpXss=2</script>'
#: A resource policy whose descriptions (of the policy and of its rule) are this markup.
MARKUP_POLICY = DATA_DIR / "console" / "markup-policy.xml"


@dataclass(frozen=True)
class Console:
    base: str
    issuer: Issuer
    screenshots: Path

    def url(self, path: str) -> str:
        return f"{self.base}/console{path}"

    def token(self, scopes: str = EVERY_SCOPE) -> str:
        return self.issuer.token(scopes, lifetime=1800, subject="policy-team")


def _pdp(env: dict[str, str], workdir: Path, *arguments: str) -> None:
    subprocess.run([BIN / "pdp", *arguments], env=env, cwd=workdir, check=True, timeout=120)


@pytest.fixture(scope="module")
def console(tmp_path_factory) -> Console:
    workdir = tmp_path_factory.mktemp("console")
    policies = workdir / "policies"
    shutil.copytree(POLICY_DIR, policies, ignore=shutil.ignore_patterns("altinn-catalog"))
    (policies / "resources" / MARKUP_RESOURCE).mkdir()
    shutil.copy(MARKUP_POLICY, policies / "resources" / MARKUP_RESOURCE / "policy.xml")
    edited = workdir / "policies-edited"
    shutil.copytree(policies, edited)
    grants = edited / "packages" / "integrasjoner.yaml"
    grants.write_text(
        grants.read_text().replace(
            "roles: [DAGL, LEDE, INNH", "roles: [DAGL, INNH", 1
        ),  # Programmeringsgrensesnitt, the first package
    )
    register = json.loads((EXAMPLES_DIR / "register.json").read_text())
    register["organizations"].append(
        {"organization_number": XSS_ORGANIZATION, "name": XSS_NAME, "org_form": "AS", "roles": []}
    )
    (workdir / "register.json").write_text(json.dumps(register))
    env = {
        **os.environ,
        "PDP_DATABASE_URL": f"sqlite:///{workdir / 'pdp.sqlite3'}",
        "PDP_POLICY_DIR": str(policies),
        "PDP_AUTH_DISABLED": "true",
        "PDP_DECISION_LOG": "off",
        "PDP_AUDIT_LOG": str(workdir / "audit.log"),
    }
    _pdp(env, workdir, "init")
    catalog = str(POLICY_DIR / "altinn-catalog")
    _pdp(env, workdir, "compile", catalog, "--message", "The full Altinn catalog", "--author", "ci")
    _pdp(
        env,
        workdir,
        "compile",
        str(edited),
        "--message",
        "LEDE no longer gives Programmeringsgrensesnitt",
        "--author",
        "policy-team",
    )
    _pdp(env, workdir, "register", "import", str(workdir / "register.json"))
    issuer = Issuer()
    env.pop("PDP_AUTH_DISABLED")
    env |= {
        "PDP_JWKS_FILE": str(issuer.write_jwks(workdir / "jwks.json")),
        "PDP_JWT_ISSUER": ISSUER,
        "PDP_JWT_AUDIENCE": AUDIENCE,
    }
    with running_server(env, workdir) as base:
        yield Console(base, issuer, screenshot_directory(workdir))


@pytest.fixture(scope="module")
def browser(console: Console):
    """A browser signed in with a token holding every scope."""
    with chromium() as driver:
        driver.get(console.url("/"))
        wait_for(driver, "textarea#token")
        screenshot(driver, console.screenshots, "sign-in")
        _sign_in(driver, console.token())
        yield driver


def _sign_in(driver: WebDriver, token: str) -> None:
    field = wait_for(driver, "textarea#token")
    field.clear()
    field.send_keys(token)
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()


def _ask(driver: WebDriver, console: Console, **values: str) -> str:
    driver.get(console.url("/ask"))
    fill(driver, values)
    driver.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    return wait_for(driver, ".decision").get_attribute("data-decision")


def test_signing_in_with_a_token_opens_the_overview(browser, console):
    browser.get(console.url("/"))
    assert wait_for(browser, "h1").text == "Overview"
    assert "Version 3" in browser.find_element(By.CSS_SELECTOR, "main").text
    assert "LEDE no longer gives Programmeringsgrensesnitt" in browser.page_source
    assert "policy-team" in browser.find_element(By.CSS_SELECTOR, ".who").text


def test_a_refused_token_is_named_next_to_the_field(console):
    with chromium() as driver:
        driver.get(console.url("/sign-in"))
        _sign_in(driver, Issuer().token())  # a stranger's key
        error = wait_for(driver, "#token-error")
        assert "signature does not verify" in error.text
        assert driver.find_element(By.ID, "token").get_attribute("aria-invalid") == "true"


def test_asking_a_question_shows_the_decision_and_the_exact_xacml(browser, console):
    question = {"subject": PAULA, "party": PARTY, "target": "maskinlesbarehendelser"}
    assert _ask(browser, console, **question, action="access") == "Permit"
    request = json.loads(browser.find_element(By.ID, "xacml-request").text)
    response = json.loads(browser.find_element(By.ID, "xacml-response").text)
    assert request["Request"]["AccessSubject"][0]["Attribute"][0]["Value"] == PAULA
    assert response["Response"][0]["Decision"] == "Permit"
    assert "ØRSTA OG HEGGEDAL REGNSKAP AS" in browser.find_element(By.CSS_SELECTOR, ".answer").text
    assert "Grant policy grant:maskinlesbarehendelser:DAGL:access" in (
        browser.find_element(By.ID, "why-1").text
    )
    screenshot(browser, console.screenshots, "ask")
    screenshot(browser, console.screenshots, "ask-narrow", width=390)


def test_the_keyboard_alone_skips_to_the_content_and_asks_a_question(browser, console):
    browser.get(console.url("/ask"))
    body = wait_for(browser, "body")
    body.send_keys(Keys.TAB)
    focused = browser.switch_to.active_element
    assert focused.text == "Skip to content"
    focused.send_keys(Keys.ENTER)
    assert browser.switch_to.active_element.get_attribute("id") == "main"
    for value in (PAULA, PARTY, "maskinlesbarehendelser", "delegate"):
        browser.switch_to.active_element.send_keys(Keys.TAB)
        browser.switch_to.active_element.send_keys(value)
    browser.switch_to.active_element.send_keys(Keys.ENTER)  # submits the form
    assert wait_for(browser, ".decision").get_attribute("data-decision") == "Permit"


def test_a_malformed_field_is_named_next_to_it(browser, console):
    browser.get(console.url("/ask"))
    fill(browser, {"subject": "12345678901", "party": PARTY, "target": "x", "action": "access"})
    browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    assert "check digit" in wait_for(browser, "#subject-error").text
    assert (
        "no access package or service resource" in browser.find_element(By.ID, "target-error").text
    )


def test_a_delegation_made_and_revoked_changes_the_next_decision(browser, console):
    question = {"subject": ELENA, "party": PARTY, "target": "maskinlesbarehendelser"}
    assert _ask(browser, console, **question, action="access") == "NotApplicable"

    browser.get(console.url("/delegations"))
    fill(browser, {"party": PARTY, "delegator": ELENA, "recipient": PAULA})
    Select(browser.find_element(By.ID, "package")).select_by_value(PACKAGE)
    browser.find_element(By.CSS_SELECTOR, "#new-delegation button[type=submit]").click()
    assert "may not delegate" in wait_for(browser, "#problem").text  # Elena holds no role here

    fill(browser, {"party": PARTY, "delegator": PAULA, "recipient": ELENA})
    Select(browser.find_element(By.ID, "package")).select_by_value(PACKAGE)
    browser.find_element(By.CSS_SELECTOR, "#new-delegation button[type=submit]").click()
    assert "created" in wait_for(browser, ".notice.ok").text
    screenshot(browser, console.screenshots, "delegations")
    assert _ask(browser, console, **question, action="access") == "Permit"
    browser.get(console.url(f"/parties/holders?party={PARTY}&package=maskinlesbarehendelser"))
    elena = wait_for(browser, "#holders").text
    assert f"person {ELENA}\ndelegation" in elena and f"from {PAULA}" in elena
    screenshot(browser, console.screenshots, "holders")

    browser.get(console.url("/delegations"))
    browser.find_element(By.CSS_SELECTOR, "table.delegations a.danger").click()
    assert wait_for(browser, "h1").text == "Revoke this delegation?"
    screenshot(browser, console.screenshots, "revoke")
    browser.find_element(By.CSS_SELECTOR, "main form button.danger").click()
    assert "revoked" in wait_for(browser, ".notice.ok").text
    assert _ask(browser, console, **question, action="access") == "NotApplicable"


def test_the_parties_a_person_may_act_for_are_listed_with_what_they_hold(browser, console):
    browser.get(console.url("/parties"))
    fill(browser, {"value": PAULA})
    browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    parties = wait_for(browser, "#parties").text
    assert "may act for 1 party" in parties
    assert (
        f"{PARTY} ØRSTA OG HEGGEDAL REGNSKAP AS" in parties and "Maskinlesbare hendelser" in parties
    )
    screenshot(browser, console.screenshots, "parties")


def test_previewing_a_version_shows_its_impact_and_activating_it_rolls_back(browser, console):
    browser.get(console.url("/versions"))
    screenshot(browser, console.screenshots, "versions")
    browser.find_element(By.CSS_SELECTOR, "a[href$='/console/versions/1']").click()
    gained = wait_for(browser, ".n.gained").text
    assert gained == "+2"  # LEDE of 910459880 gains access and delegate again
    assert "LEDE may access" in browser.find_element(By.CSS_SELECTOR, "ul.diff").text
    screenshot(browser, console.screenshots, "preview")

    browser.find_element(By.CSS_SELECTOR, ".confirm button[type=submit]").click()
    assert "tick the box" in wait_for(browser, "#confirm-error").text  # not confirmed yet
    browser.find_element(By.ID, "confirm").click()
    browser.find_element(By.CSS_SELECTOR, ".confirm button[type=submit]").click()
    assert "Version 1 is now active" in wait_for(browser, ".notice.ok").text
    browser.get(console.url("/"))
    assert "Version 1" in wait_for(browser, "main").text
    assert "policy_set.activate" in browser.find_element(By.CSS_SELECTOR, "main").text
    screenshot(browser, console.screenshots, "overview")  # with the audit events of the tests


def test_the_grants_page_shows_the_full_catalog_and_filters_by_area(browser, console):
    started = time.perf_counter()
    browser.get(console.url("/grants?version=2"))
    rows = browser.find_elements(By.CSS_SELECTOR, "table.matrix tbody th.pkg")
    assert len(rows) == 223
    assert time.perf_counter() - started < 10
    screenshot(browser, console.screenshots, "grants")
    Select(browser.find_element(By.ID, "area")).select_by_visible_text("Integrasjoner")
    browser.find_element(By.CSS_SELECTOR, "form.toolbar button").click()
    wait_for(browser, "table.matrix")
    names = [row.text for row in browser.find_elements(By.CSS_SELECTOR, "table.matrix .name")]
    assert "Maskinlesbare hendelser" in names and len(names) < 10


def test_resource_rules_read_as_sentences_with_the_xacml_source_one_click_away(browser, console):
    browser.get(console.url("/resources"))
    text = wait_for(browser, "#resource-ttd-example-api").text
    assert (
        "DAGL (Daglig leder) may read; requires authentication level 3." in text
        or "Holders of Programmeringsgrensesnitt (API) may read and write; requires "
        "authentication level 3."
        in text
    )
    screenshot(browser, console.screenshots, "resources")
    browser.find_element(By.CSS_SELECTOR, "#resource-ttd-example-api a.button").click()
    assert wait_for(browser, "pre#source").text.startswith('<?xml version="1.0"')


def test_markup_from_the_register_and_from_policies_is_shown_as_text_and_never_runs(
    browser, console
):
    browser.get(console.url("/resources"))
    section = wait_for(browser, f"#resource-{MARKUP_RESOURCE}")
    assert f"Policy {MARKUP}" in section.text and f"Rule {MARKUP}" in section.text
    assert browser.execute_script("return window.pdpXss") is None
    assert not browser.find_elements(By.CSS_SELECTOR, "main img, main script")

    _ask(
        browser,
        console,
        subject=PAULA,
        party=XSS_ORGANIZATION,
        target="maskinlesbarehendelser",
        action="access",
    )
    assert XSS_NAME in browser.find_element(By.CSS_SELECTOR, ".answer").text
    assert no_alert(browser)
    assert [s.get_attribute("src") for s in browser.find_elements(By.TAG_NAME, "script")] == [
        console.url("/static/console.js")
    ]


def test_a_page_that_needs_pdp_admin_is_refused_without_it(console):
    with chromium() as driver:
        driver.get(console.url("/versions"))
        _sign_in(driver, console.token("altinn:authorization/authorize"))
        assert wait_for(driver, "h1").text == "This page is not for your token"
        assert "pdp:admin" in driver.find_element(By.CSS_SELECTOR, "main").text
        screenshot(driver, console.screenshots, "refused")
        driver.get(console.url("/ask"))
        assert wait_for(driver, "h1").text == "Ask the PDP"  # what the token may do still opens
