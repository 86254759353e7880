#!/usr/bin/env python3
"""Every public page in a real browser, checked for accessibility: Debian's Chromium, headless,
driven through ChromeDriver, with axe-core (npm, pinned in package.json beside this file).

Run by tests/tests/public_browser.rs, which starts a server with the demo catalog and passes:
BASE_URL SCREENSHOT_DIR NAME=PATH...

Each page is opened at a phone's size (390×844 CSS pixels, device scale 2, touch) and at a
desktop's (1280×900). At each size axe-core runs over the whole document with the WCAG 2.0 and
2.1 A and AA rules, and two things a person with a phone meets that axe does not measure are
checked: the page is not wider than the screen, and no button or field is smaller than a finger
(44 CSS pixels tall; links at least 24, a link in a line of text as tall as the line). Every problem is listed (the rule, its impact and the
elements), then the script fails. At phone size it saves NAME.png (the first screen, as the
phone shows it) and NAME-full.png (the whole page) into SCREENSHOT_DIR.
"""

import base64
import json
import os
import sys
import urllib.parse

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

HERE = os.path.dirname(os.path.abspath(__file__))
AXE = os.path.join(HERE, "node_modules", "axe-core", "axe.min.js")
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
PHONE = {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True}
DESKTOP = (1280, 900)
# A finger's size for buttons and fields (WCAG 2.5.5's 44 px); 24 for a link (2.5.8).
CONTROL_MIN = 44
LINK_MIN = 24

RUN_AXE = """
const done = arguments[arguments.length - 1];
axe.run(document, {runOnly: {type: 'tag', values: arguments[0]}, resultTypes: ['violations']})
  .then(r => done(JSON.stringify(r.violations.map(v => ({
      id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.map(n => ({target: n.target.join(' '), summary: n.failureSummary}))})))))
  .catch(e => done(JSON.stringify({error: String(e)})));
"""

# What axe does not measure: a page wider than the screen, and targets too small to touch.
LAYOUT = """
const problems = [];
const root = document.documentElement;
// clientWidth is the screen's width in CSS pixels (a phone's innerWidth grows with the page).
if (root.scrollWidth > root.clientWidth + 1) {
  problems.push('the page is ' + root.scrollWidth + ' px wide on a ' + root.clientWidth +
                ' px screen: it scrolls sideways');
}
const name = e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
  (e.getAttribute('name') ? '[name=' + e.getAttribute('name') + ']' : '') +
  ' «' + (e.innerText || e.value || '').trim().slice(0, 40) + '»';
const visible = e => { const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
for (const e of document.querySelectorAll(
    'button, select, textarea, input:not([type=hidden]):not([type=checkbox]):not([type=radio])')) {
  if (visible(e) && e.getBoundingClientRect().height < arguments[0]) {
    problems.push(name(e) + ' is ' + Math.round(e.getBoundingClientRect().height) +
                  ' px tall, under ' + arguments[0]);
  }
}
// A link inside a line of text is as tall as the line it sits in (WCAG 2.5.8's inline case).
for (const e of document.querySelectorAll('a[href]')) {
  if (!visible(e)) continue;
  const style = getComputedStyle(e);
  let height = e.getBoundingClientRect().height;
  if (style.display === 'inline') height = Math.max(height, parseFloat(style.lineHeight) || 0);
  if (height < arguments[1]) {
    problems.push(name(e) + ' is ' + Math.round(height) + ' px tall, under ' + arguments[1]);
  }
}
return problems;
"""


# A page with faults planted: no language, a field without a label, grey on grey, a box wider
# than a phone and a button too small to touch.
CANARY = """<!doctype html><html><head><title>canary</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head><body><main><h1>Canary</h1>
<input type="text"><p style="color:#aaa;background:#bbb">faint text</p>
<div style="width:900px">wide</div><button style="font-size:8px;padding:0">x</button>
</main></body></html>"""


def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        # The test server's CA is made by the test; the browser is told to accept it.
        "--ignore-certificate-errors",
        "--window-size=%d,%d" % DESKTOP,
        "--lang=uk",
        "--hide-scrollbars",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.set_script_timeout(120)
    driver.set_page_load_timeout(60)
    return driver


def as_phone(driver):
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", PHONE)
    driver.execute_cdp_cmd("Emulation.setTouchEmulationEnabled", {"enabled": True})


def as_desktop(driver):
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    driver.execute_cdp_cmd("Emulation.setTouchEmulationEnabled", {"enabled": False})


def screenshot(driver, path, whole):
    """A PNG of the first screen, or of the whole page at the same width."""
    params = {"format": "png"}
    if whole:
        size = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
        params["captureBeyondViewport"] = True
        params["clip"] = {"x": 0, "y": 0, "width": PHONE["width"],
                          "height": size["height"], "scale": 1}
    data = driver.execute_cdp_cmd("Page.captureScreenshot", params)["data"]
    with open(path, "wb") as out:
        out.write(base64.b64decode(data))


def check(driver, axe_source, label):
    """axe's violations and the layout problems of the page open now, as lines."""
    driver.execute_script(axe_source)
    raw = driver.execute_async_script(RUN_AXE, WCAG_AA)
    result = json.loads(raw)
    lines = []
    if isinstance(result, dict):
        return ["%s: axe did not run: %s" % (label, result.get("error"))]
    for violation in result:
        lines.append("%s: %s (%s): %s" % (label, violation["id"], violation["impact"], violation["help"]))
        for node in violation["nodes"]:
            lines.append("    %s — %s" % (node["target"], (node["summary"] or "").replace("\n", " ")))
    for problem in driver.execute_script(LAYOUT, CONTROL_MIN, LINK_MIN):
        lines.append("%s: layout: %s" % (label, problem))
    return lines


def main():
    base, shots = sys.argv[1], sys.argv[2]
    pages = []
    for argument in sys.argv[3:]:
        name, _, path = argument.partition("=")
        if not name or not path.startswith("/"):
            print("FAILED: pages are given as NAME=/path, got %r" % argument)
            sys.exit(2)
        pages.append((name, path))
    if not os.path.exists(AXE):
        print("FAILED: axe-core is not installed: npm ci --prefix tests/browser (tests/run.sh does)")
        sys.exit(2)
    with open(AXE, encoding="utf-8") as source:
        axe_source = source.read()
    problems = []
    driver = browser()
    try:
        # First a page with faults planted, so a run that finds nothing means the pages are
        # clean, not that axe or the layout check saw nothing.
        as_phone(driver)
        driver.get("data:text/html;charset=utf-8," + urllib.parse.quote(CANARY))
        seen = " ".join(check(driver, axe_source, "canary"))
        for fault in ("label", "color-contrast", "html-has-lang", "scrolls sideways", "px tall"):
            if fault not in seen:
                print("FAILED: the planted fault %r was not found: %s" % (fault, seen))
                sys.exit(1)
        print("ok   the planted faults are found (axe %s)" %
              driver.execute_script("return axe.version"))
        for name, path in pages:
            # The address as a browser's address bar sends it (Ukrainian words percent-encoded).
            url = base + urllib.parse.quote(path, safe="/?=&%")
            for size in ("phone", "desktop"):
                (as_phone if size == "phone" else as_desktop)(driver)
                driver.get(url)
                label = "%s %s (%s)" % (name, path, size)
                found = check(driver, axe_source, label)
                problems.extend(found)
                print("%s %s" % ("FAIL" if found else "ok  ", label))
                if size == "phone":
                    driver.execute_script("window.scrollTo(0, 0)")
                    screenshot(driver, os.path.join(shots, name + ".png"), whole=False)
                    screenshot(driver, os.path.join(shots, name + "-full.png"), whole=True)
    finally:
        driver.quit()
    if problems:
        print("FAILED: %d problem lines on the public pages:" % len(problems))
        for line in problems:
            print(line)
        sys.exit(1)
    print("public pages: every page passed (%d pages, phone and desktop)" % len(pages))


main()
