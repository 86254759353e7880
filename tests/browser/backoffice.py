#!/usr/bin/env python3
"""The back-office in a real browser: Debian's Chromium, headless, driven through ChromeDriver.

Run by tests/tests/backoffice_browser.rs, which starts a server with real synced cases and
passes: BASE_URL OPERATOR SUPERVISOR PASSWORD FIRST_CASE SECOND_CASE SCREENSHOT_DIR.
A person's path: sign in, filter the inbox, open a case with its pages, accept it, return
another with a reason; then the refusals a browser can show: a form posted without its CSRF
token from another origin, and a page the role does not allow.
"""

import os
import sys
import urllib.parse

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

base, operator, supervisor, password, first, second, shots = sys.argv[1:8]


def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        # The test server's CA is made by the test; the browser is told to accept it.
        "--ignore-certificate-errors",
        "--window-size=1400,1000",
        "--lang=uk",
    ):
        options.add_argument(argument)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def check(condition, message):
    if not condition:
        print("FAILED:", message)
        sys.exit(1)


def wait_text(driver, text, message):
    """Wait for the next page to show `text` (a click navigates; the old page goes stale)."""
    try:
        WebDriverWait(driver, 30).until(lambda d: text in d.page_source)
    except Exception:
        check(False, message)


def sign_in(driver, user):
    driver.get(base + "/office/login")
    driver.find_element(By.NAME, "username").send_keys(user)
    driver.find_element(By.NAME, "password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "button.primary").click()
    wait_text(driver, "Вхідні справи", "signed in as " + user)


def case_link(case_number):
    return base + "/office/case?n=" + urllib.parse.quote(case_number, safe="")


driver = browser()
try:
    # The session cookie is invisible to scripts (HttpOnly).
    sign_in(driver, operator)
    check(driver.execute_script("return document.cookie").find("fk_session") < 0,
          "the session cookie is readable by scripts")
    body = driver.find_element(By.TAG_NAME, "body").text
    check(first in body and second in body, "both cases in the inbox")
    driver.save_screenshot(os.path.join(shots, "inbox.png"))

    # Filter: received cases of the first case's centre.
    Select(driver.find_element(By.NAME, "state")).select_by_value("received")
    Select(driver.find_element(By.NAME, "centre")).select_by_value(first.split("/")[0])
    driver.find_element(By.CSS_SELECTOR, "form[method=get] button").click()
    try:
        WebDriverWait(driver, 30).until(lambda d: "state=received" in d.current_url)
    except Exception:
        check(False, "the filter is in the address")
    rows = driver.find_elements(By.CSS_SELECTOR, "table tbody tr")
    check(len(rows) == 2, "two received cases, got %d" % len(rows))

    # Open the first case: pages load as images, signatures pass their check.
    driver.find_element(By.LINK_TEXT, first).click()
    pages = driver.find_elements(By.CSS_SELECTOR, "img.page")
    check(len(pages) >= 2, "the pages are shown")
    for image in pages:
        driver.execute_script("arguments[0].scrollIntoView()", image)
    all_loaded = ("return Array.from(document.querySelectorAll('img.page'))"
                  ".every(i => i.complete && i.naturalWidth > 100)")
    try:
        WebDriverWait(driver, 60).until(lambda d: d.execute_script(all_loaded))
    except Exception:
        check(False, "every page image loaded")
    check("штрихи відповідають зображенню" in driver.page_source, "signatures checked")
    driver.save_screenshot(os.path.join(shots, "case.png"))

    # Before acting, while both cases can still be marked duplicates (so these checks can
    # fail): CSRF. A page on another origin posts a form at the back-office; the browser sends no
    # session cookie (SameSite=Strict) and no token, and nothing happens.
    driver.get("data:text/html,<form id=f method=post action='" + base +
               "/office/case/duplicate'><input name=n value='" + first +
               "'><input name=original value='" + second + "'></form><script>f.submit()</script>")
    driver.get(case_link(first))
    check(len(driver.find_elements(By.XPATH, "//button[normalize-space()='Прийняти й передати']")) == 1,
          "a cross-site form changed the case")
    # The same form from a tampered page of our own origin, without the token: refused.
    driver.execute_script(
        "var f=document.createElement('form');f.method='post';f.action='/office/case/duplicate';"
        "for (const [k,v] of [['n',arguments[0]],['original',arguments[1]]]){"
        "var i=document.createElement('input');i.name=k;i.value=v;f.appendChild(i);}"
        "document.body.appendChild(f);f.submit();", first, second)
    wait_text(driver, "Форма застаріла", "CSRF refusal shown")
    driver.get(case_link(first))
    check(len(driver.find_elements(By.XPATH, "//button[normalize-space()='Прийняти й передати']")) == 1,
          "a form without its token changed the case")

    # Accept it.
    driver.find_element(By.XPATH, "//button[normalize-space()='Прийняти й передати']").click()
    # Accepted; the connector may already have forwarded it by the time the page shows.
    try:
        WebDriverWait(driver, 30).until(lambda d: "Прийнято, чекає передачі" in d.page_source
                                        or "Передано до центральної системи" in d.page_source)
    except Exception:
        check(False, "accepted")

    # Return the second with a reason.
    driver.get(case_link(second))
    driver.find_element(By.NAME, "reason").send_keys("Бракує другої сторінки паспорта")
    driver.find_element(By.XPATH, "//button[normalize-space()='Повернути адміністратору']").click()
    wait_text(driver, "Повернуто адміністратору", "returned")
    check("Бракує другої сторінки паспорта" in driver.page_source, "the reason is on the case")

    # Roles: a supervisor reads but has no actions and cannot post one.
    driver.delete_all_cookies()
    # Login CSRF: with the sign-in page open (its form token in a SameSite=Strict cookie), a page
    # on another origin posts a sign-in form with known credentials; the browser sends no form
    # cookie, the sign-in is refused and nobody is signed in.
    driver.get(base + "/office/login")
    driver.get("data:text/html,<form id=f method=post action='" + base +
               "/office/login'><input name=username value='" + supervisor +
               "'><input name=password value='" + password + "'></form><script>f.submit()</script>")
    wait_text(driver, "Форму входу відхилено", "cross-site sign-in refused")
    driver.get(base + "/office/inbox")
    check("name=\"password\"" in driver.page_source and "Вхідні справи" not in driver.page_source,
          "a cross-site form signed someone in")
    sign_in(driver, supervisor)
    driver.get(case_link(second))
    check(len(driver.find_elements(By.XPATH, "//button[normalize-space()='Прийняти й передати']")) == 0,
          "no actions for a supervisor")
    driver.get(base + "/office/visits")
    check("Ваша роль не дозволяє" in driver.find_element(By.TAG_NAME, "body").text, "role refusal shown")
    driver.get(base + "/office/reconciliation")
    check("Звірка" in driver.title, "the supervisor's report")
    driver.save_screenshot(os.path.join(shots, "reconciliation.png"))
    print("browser: every step passed")
finally:
    driver.quit()
