#!/usr/bin/env python3
"""A case's tracking page opened as the applicant's phone opens it: Debian's Chromium, headless,
at a phone's size, from the address a QR reader took off the printed receipt.

Run by app/tests/application.rs, which passes:
URL SCREENSHOT [+TEXT...] [-TEXT...]

+TEXT must be in what the page shows (its rendered text, Ukrainian); -TEXT must be nowhere in
the page as the server sent it, in Ukrainian or in English (the applicant's name, tax number,
address and phone are planted by the test). The first screen at 390×844 CSS pixels, scale 2,
is saved as SCREENSHOT. The page is also followed to its English version through its own
language link, as a person would tap it. Each problem is listed, then the script fails; the
last line names the bytes each version had.
"""

import base64
import sys

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

PHONE = {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True}


def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        # The test server's CA is made by the test; the browser is told to accept it.
        "--ignore-certificate-errors",
        "--lang=uk",
        "--hide-scrollbars",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.set_page_load_timeout(60)
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", PHONE)
    driver.execute_cdp_cmd("Emulation.setTouchEmulationEnabled", {"enabled": True})
    return driver


def main():
    url, shot = sys.argv[1], sys.argv[2]
    shown = [a[1:] for a in sys.argv[3:] if a.startswith("+")]
    absent = [a[1:] for a in sys.argv[3:] if a.startswith("-")]
    problems = []
    sizes = []
    driver = browser()
    try:
        driver.get(url)
        text = driver.find_element(By.TAG_NAME, "body").text
        for expected in shown:
            if expected not in text:
                problems.append("not shown: %r" % expected)
        data = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png"})["data"]
        with open(shot, "wb") as out:
            out.write(base64.b64decode(data))
        pages = [("uk", driver.page_source)]
        # The English switch, tapped as a link on the page.
        links = [a for a in driver.find_elements(By.TAG_NAME, "a")
                 if (a.get_attribute("lang") == "en" or a.text.strip() == "English")]
        if not links:
            problems.append("no link to the English version")
        else:
            links[0].click()
            if "lang=en" not in driver.current_url:
                problems.append("the English link went to %s" % driver.current_url)
            pages.append(("en", driver.page_source))
        for lang, source in pages:
            sizes.append("%s %d" % (lang, len(source.encode("utf-8"))))
            for secret in absent:
                if secret in source:
                    problems.append("%s page carries %r" % (lang, secret))
    finally:
        driver.quit()
    if problems:
        print("FAILED: %s" % url)
        for line in problems:
            print("    " + line)
        print("what the page showed:\n" + text)
        sys.exit(1)
    print("tracking page ok in the browser: %s (bytes: %s)" % (url, ", ".join(sizes)))


main()
