#!/usr/bin/env python3
"""A real browser test of the hub's operator dashboard (/ui) with headless Chromium.

Starts the real `hub` on a free loopback port and two real `station` databases, makes a manual
conflict (mediation_cases status) and an lww conflict (hotline_calls notes) by concurrent offline
edits, then drives Debian's Chromium through Selenium: signs in (a wrong token first), checks the
open conflicts with their competing values side by side, resolves one through the CLI at a station
and one from the page, and checks what each side shows afterwards. Screenshots go to
<repo>/.artifacts/. Needs `chromium`, `chromium-driver` and the PyPI package `selenium`
(tools/lib/browser.sh: ensure_browser installs them).

Usage: browser_test.py BIN_DIR
Environment: CHROMIUM_BIN (default /usr/bin/chromium), CHROMEDRIVER_BIN (default /usr/bin/chromedriver).
"""
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request

import servers

# Selenium Manager must never try to download a browser or a driver: nothing outside is reachable.
os.environ.setdefault("SE_OFFLINE", "true")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ARTIFACTS = os.path.join(ROOT, ".artifacts")
CHROMIUM = os.environ.get("CHROMIUM_BIN", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER_BIN", "/usr/bin/chromedriver")
GREEN, RED, BOLD, RESET = ("\033[32m", "\033[31m", "\033[1m", "\033[0m") if sys.stdout.isatty() else ("",) * 4

# Values of the two conflicts.
CASE = ("mediation_cases", "med-2026-031")
CALL = ("hotline_calls", "call-2026-0412")
STATUS_HOTLINE, STATUS_CIVIL = "closed", "referred"
NOTES_HOTLINE = "Caller asked for a callback on Monday morning"
# Non-ASCII and URL-special characters: the dashboard carries the resolution message in a redirect URL.
NOTES_CIVIL = "Visited on Saturday: leak fixed & 50% repaid (民政科已上门走访)"


class TestFailure(Exception):
    pass


def check(condition, message):
    """A plain assert that survives `python3 -O` and says what was expected."""
    if not condition:
        raise TestFailure(message)


class Harness:
    def __init__(self, bin_dir):
        self.station_bin = os.path.join(bin_dir, "station")
        self.hub_bin = os.path.join(bin_dir, "hub")
        for b in (self.station_bin, self.hub_bin):
            check(os.access(b, os.X_OK), f"{b} is not an executable (run swift build first)")
        self.work = tempfile.mkdtemp(prefix="stationsync-browser-")
        self.hub_db = os.path.join(self.work, "hub.sqlite")
        self.dbs = {n: os.path.join(self.work, f"{n}.sqlite") for n in ("hotline", "civil-affairs")}
        self.tokens = {}
        self.hub = None
        self.url = None
        self.driver = None
        self.passed = []

    # ---- processes ------------------------------------------------------------------------------

    def run(self, binary, *args, db=None):
        cmd = [binary, *args] + (["--db", db] if db else [])
        p = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120)
        if p.returncode != 0:
            raise TestFailure(f"command failed ({p.returncode}): {' '.join(cmd)}\n{p.stdout}{p.stderr}")
        return p.stdout

    def station(self, node, *args):
        return self.run(self.station_bin, *args, db=self.dbs[node])

    def station_json(self, node, *args):
        return json.loads(self.station(node, *args, "--json"))

    def sync(self, node):
        return self.station_json(node, "sync", "--peer", self.url, "--token", self.tokens[node])

    def start_hub(self):
        server = servers.Server([self.hub_bin, "serve", "--db", self.hub_db, "--listen", "127.0.0.1:0"],
                                os.path.join(self.work, "hub.out"), os.path.join(self.work, "hub.err"))
        try:
            server.start(timeout=30)
        except servers.ServerError as e:
            raise TestFailure(str(e))
        self.hub, self.url = server.proc, server.url

    def tail(self, name, lines=20):
        try:
            return "".join(open(os.path.join(self.work, name)).readlines()[-lines:])
        except OSError:
            return ""

    # ---- the browser ----------------------------------------------------------------------------

    def start_browser(self):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        check(os.access(CHROMIUM, os.X_OK), f"{CHROMIUM} missing: apt-get install chromium (tools/lib/browser.sh)")
        check(os.access(CHROMEDRIVER, os.X_OK), f"{CHROMEDRIVER} missing: apt-get install chromium-driver")
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--window-size=1400,1000", "--no-first-run", "--no-default-browser-check",
                    "--disable-extensions", "--disable-background-networking", "--disable-sync",
                    "--password-store=basic", "--lang=en-US", "--force-device-scale-factor=1",
                    f"--user-data-dir={os.path.join(self.work, 'chromium-profile')}"):
            options.add_argument(arg)
        service = Service(executable_path=CHROMEDRIVER, log_output=os.path.join(self.work, "chromedriver.log"))
        self.driver = webdriver.Chrome(service=service, options=options)
        self.driver.set_window_size(1400, 1000)
        self.driver.set_page_load_timeout(30)

    def css(self, selector, within=None):
        from selenium.webdriver.common.by import By
        return (within or self.driver).find_elements(By.CSS_SELECTOR, selector)

    def one(self, selector, within=None, what=None):
        found = self.css(selector, within)
        check(len(found) == 1, f"expected exactly one {what or selector} on {self.driver.current_url}, found {len(found)}")
        return found[0]

    def wait_for(self, selector, timeout=10):
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as EC
        from selenium.webdriver.support.ui import WebDriverWait
        try:
            return WebDriverWait(self.driver, timeout).until(EC.presence_of_element_located((By.CSS_SELECTOR, selector)))
        except Exception:
            raise TestFailure(f"{selector} did not appear within {timeout} s on {self.driver.current_url}")

    def click_and_wait(self, find, selector):
        """Clicks the submit button `find()` returns and waits for the next page (the old one goes
        stale first). The button is found again if the page was replaced before the click."""
        from selenium.common.exceptions import StaleElementReferenceException
        from selenium.webdriver.support import expected_conditions as EC
        from selenium.webdriver.support.ui import WebDriverWait
        for attempt in range(5):
            element = find()
            try:
                label = element.text
                element.click()
                break
            except StaleElementReferenceException:
                if attempt == 4:
                    raise TestFailure(f"the button to click kept going stale on {self.driver.current_url}")
                time.sleep(0.3)
        try:
            WebDriverWait(self.driver, 10).until(EC.staleness_of(element))
            WebDriverWait(self.driver, 10).until(
                lambda d: d.execute_script("return document.readyState") == "complete")
        except Exception:
            raise TestFailure(f"clicking {label!r} did not load a new page")
        return self.wait_for(selector)

    def reading(self, what, read, attempts=5):
        """Runs `read` (checks that only look at the page) again if the page was replaced under it.

        After a form's POST, redirect and GET, Chromium can still swap the document once more while
        the test reads it; an element found a moment earlier is then stale. The checks are reads, so
        running them again on the page now shown is sound.
        """
        from selenium.common.exceptions import StaleElementReferenceException
        for attempt in range(attempts):
            try:
                return read()
            except StaleElementReferenceException:
                if attempt == attempts - 1:
                    raise TestFailure(f"{what}: the page kept changing while it was read "
                                      f"({attempts} attempts, {self.driver.current_url})")
                time.sleep(0.3)

    def screenshot(self, name):
        """The whole page, beyond the 1400x1000 window, through the DevTools protocol."""
        import base64
        os.makedirs(ARTIFACTS, exist_ok=True)
        path = os.path.join(ARTIFACTS, name)
        metrics = self.driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
        size = metrics.get("cssContentSize") or metrics["contentSize"]
        width, height = max(1400, int(size["width"])), int(size["height"])
        shot = self.driver.execute_cdp_cmd("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}})
        data = base64.b64decode(shot["data"])
        with open(path, "wb") as f:
            f.write(data)
        check(data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG")
        w, h = struct.unpack(">II", data[16:24])
        check(w >= 1000 and h >= 600, f"{path} is only {w}x{h}")
        return path, w, h

    # ---- the dashboard ------------------------------------------------------------------------

    def open_conflict_ids(self):
        return {e.get_attribute("data-conflict") for e in self.css("#conflicts div.conflict")}

    def resolved_row(self, conflict_id):
        rows = self.css(f'#resolved tr.resolved[data-conflict="{conflict_id}"]')
        check(len(rows) == 1, f"expected one row for {conflict_id} in #resolved, found {len(rows)}; "
                              f"#resolved reads: {self.one('#resolved').text!r}")
        cells = [td.text.strip() for td in self.css("td", rows[0])]
        check(len(cells) == 6, f"a #resolved row has Record, Field, How, By, When, Kept; got {cells}")
        return dict(zip(["record", "field", "how", "by", "when", "kept"], cells))

    def cleanup(self):
        if self.driver is not None:
            try:
                self.driver.quit()
            except Exception as e:  # the driver may already be gone
                print(f"  (chromedriver quit: {e})", file=sys.stderr)
        if self.hub is not None and self.hub.poll() is None:
            self.hub.terminate()
            try:
                self.hub.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.hub.kill()
                self.hub.wait()
        shutil.rmtree(self.work, ignore_errors=True)


def ok(h, text):
    h.passed.append(text)
    print(f"  {GREEN}✓{RESET} {text}")


def scenario(h):
    # 1. A hub, tokens, two stations, a shared record, concurrent offline edits.
    h.run(h.hub_bin, "init", db=h.hub_db)
    for n in h.dbs:
        h.tokens[n] = h.run(h.hub_bin, "token", "add", n, db=h.hub_db).strip()
        h.station(n, "init", "--node", n)
    operator = h.run(h.hub_bin, "token", "add", "duty-operator", "--operator", db=h.hub_db).strip()
    check(operator and " " not in operator, f"hub token add --operator printed {operator!r}, not a token")
    h.start_hub()
    ok(h, f"hub serving at {h.url}, stations hotline and civil-affairs, an operator token")

    h.station("hotline", "put", *CASE, json.dumps({"status": "open", "partyA": "Lin Guoqiang", "partyB": "Wu Lihua",
                                                   "disputeType": "neighbours: water leak"}))
    h.station("hotline", "put", *CALL, json.dumps({"callerName": "Wu Lihua", "category": "dispute",
                                                   "summary": "Water leaking from the flat upstairs", "notes": "first call"}))
    for n in ("hotline", "civil-affairs"):
        h.sync(n)
    got = h.station_json("civil-affairs", "get", *CASE)
    check(got["fields"].get("partyA") == "Lin Guoqiang", f"civil-affairs did not receive {CASE}: {got}")

    # Offline at both stations: the same fields edited concurrently.
    h.station("hotline", "put", *CASE, json.dumps({"status": STATUS_HOTLINE}))
    h.station("civil-affairs", "put", *CASE, json.dumps({"status": STATUS_CIVIL}))
    h.station("hotline", "put", *CALL, json.dumps({"notes": NOTES_HOTLINE}))
    h.station("civil-affairs", "put", *CALL, json.dumps({"notes": NOTES_CIVIL}))
    for n in ("hotline", "civil-affairs", "hotline"):
        h.sync(n)

    conflicts = h.station_json("hotline", "conflicts", "list")
    check(len(conflicts) == 2, f"expected 2 open conflicts at hotline, got {json.dumps(conflicts)}")
    by_field = {c["field"]: c for c in conflicts}
    check(set(by_field) == {"status", "notes"}, f"expected conflicts on status and notes, got {sorted(by_field)}")
    manual, lww = by_field["status"], by_field["notes"]
    check(manual["policy"] == "manual" and not manual["automatic"], f"status conflict should be manual: {manual}")
    check(lww["policy"] == "lww" and lww["automatic"], f"notes conflict should be lww: {lww}")
    at_civil = {c["id"] for c in h.station_json("civil-affairs", "conflicts", "list")}
    check(at_civil == {manual["id"], lww["id"]}, f"civil-affairs names other conflicts: {at_civil}")
    details = {c["id"]: h.station_json("hotline", "conflicts", "show", c["id"]) for c in conflicts}
    ok(h, f"conflicts at both stations: manual {manual['id']} (status), lww {lww['id']} (notes)")

    # 2. The browser: the login page, a wrong token, the right one.
    h.start_browser()
    d = h.driver
    d.get(h.url + "/ui")
    h.wait_for("#token")
    check("sign in" in d.title.lower(), f"login page title: {d.title!r}")
    check(h.one("#token").get_attribute("type") == "password", "the token field should be a password field")
    check(not h.css("#conflicts"), "the dashboard must not show conflicts before sign-in")
    h.one("#token").send_keys("not-a-real-token")
    h.click_and_wait(lambda: h.one("#sign-in"), "#login-error")

    def refused_wrong_token():
        err = h.one("#login-error").text
        check("not a valid operator token" in err, f"wrong-token message: {err!r}")
        check(h.css("#token") and h.css("#sign-in") and not h.css("#conflicts"), "a wrong token must leave us on the login page")
        check(d.get_cookie("stationsync_session") is None, "a wrong token must not set the session cookie")
    h.reading("the wrong-token page", refused_wrong_token)
    # A station's token is valid but not an operator's.
    h.reading("the token field", lambda: h.one("#token").send_keys(h.tokens["hotline"]))
    h.click_and_wait(lambda: h.one("#sign-in"), "#login-error")
    h.reading("the station-token page", lambda: check(not h.css("#conflicts"), "a station token must not open the dashboard"))
    ok(h, "login page; a wrong token and a station token are refused with a message")

    h.reading("the token field", lambda: h.one("#token").send_keys(operator))
    h.click_and_wait(lambda: h.one("#sign-in"), "#conflicts")

    def signed_in():
        cookie = d.get_cookie("stationsync_session")
        check(cookie is not None and cookie.get("httpOnly"), f"the session cookie should be HttpOnly: {cookie}")
        check(d.execute_script("return document.cookie").find("stationsync_session") < 0, "the cookie must be hidden from scripts")
        for section in ("#stations", "#conflicts", "#resolved", "#collections"):
            h.one(section)
    h.reading("the dashboard after sign-in", signed_in)
    ok(h, "signed in with the operator token (HttpOnly cookie); all four sections present")

    # 3. The open conflicts, values side by side, with the stations that wrote them.
    def conflicts_shown():
        check(h.open_conflict_ids() == {manual["id"], lww["id"]},
              f"#conflicts shows {h.open_conflict_ids()}, expected {manual['id']} and {lww['id']}")
        check("Open conflicts (2)" in h.one("#conflicts h2").text, f"heading: {h.one('#conflicts h2').text!r}")
        for c in (manual, lww):
            box = h.one(f'#conflicts div.conflict[data-conflict="{c["id"]}"]')
            check(box.is_displayed(), f"conflict {c['id']} is not visible")
            text = box.text
            check(f"{c['collection']}/{c['record']}" in text and c["field"] in text, f"conflict {c['id']} does not name its record and field: {text!r}")
            check(c["policy"] in text, f"conflict {c['id']} does not show its policy {c['policy']}")
            values = h.css("div.value", box)
            expected = details[c["id"]]["values"]
            check(len(values) == len(expected) == 2, f"conflict {c['id']}: {len(values)} values on the page, {len(expected)} from the CLI")
            for i, (v, e) in enumerate(zip(values, expected)):
                check(v.get_attribute("data-index") == str(i), f"value {i} of {c['id']} has data-index {v.get_attribute('data-index')}")
                shown = h.one("pre", v).text
                check(shown == e["value"], f"conflict {c['id']} value [{i}]: page shows {shown!r}, CLI has {e['value']!r}")
                check(f"from {e['node']}" in v.text, f"conflict {c['id']} value [{i}] does not name its station {e['node']}: {v.text!r}")
                check(v.is_displayed() and v.size["width"] > 150, f"conflict {c['id']} value [{i}] is not legible ({v.size})")
                check(any(b.text == "Keep this" for b in h.css("button", v)), f"value [{i}] of {c['id']} has no Keep this button")
            a, b = values[0].rect, values[1].rect
            check(abs(a["y"] - b["y"]) < 2 and b["x"] >= a["x"] + a["width"],
                  f"the values of {c['id']} are not side by side: {a} and {b}")
            check({e["node"] for e in expected} == {"hotline", "civil-affairs"}, f"{c['id']} values come from {[e['node'] for e in expected]}")
            buttons = [x.text for x in h.css("button", box)]
            accept_label = "Keep the shown value" if c["id"] == manual["id"] else "Accept the automatic decision"
            for label in (accept_label, "Write this value"):
                check(label in buttons, f"conflict {c['id']} has no {label!r} button: {buttons}")
        check({manual["id"]: "waits for a person", lww["id"]: "decided automatically"} ==
              {c["id"]: ("waits for a person" if "waits for a person" in h.one(f'div.conflict[data-conflict="{c["id"]}"]').text
                         else "decided automatically") for c in (manual, lww)}, "the manual/automatic tags are wrong")
    h.reading("the open conflicts", conflicts_shown)
    ok(h, "both conflicts shown with their two values side by side, from hotline and civil-affairs")

    def stations_listed():
        rows = {r.get_attribute("data-station"): r for r in h.css("#stations tr.station")}
        for n in ("hotline", "civil-affairs"):
            check(n in rows, f"#stations does not list {n}: {sorted(rows)}")
            check(rows[n].text.strip().startswith(n), f"#stations row for {n}: {rows[n].text!r}")
        check("duty-operator" not in rows, "the operator token must not be listed as a station")
        counts = {r.get_attribute("data-collection"): [td.text for td in h.css("td", r)] for r in h.css("#collections tr[data-collection]")}
        check(counts.get(CASE[0], [None, None])[1] == "1" and counts.get(CALL[0], [None, None])[1] == "1",
              f"#collections should count one {CASE[0]} and one {CALL[0]}: {counts.get(CASE[0])}, {counts.get(CALL[0])}")
    h.reading("the stations and collections", stations_listed)
    ok(h, "stations table lists hotline and civil-affairs; collection counts right")

    shot1 = h.screenshot("dashboard-conflicts.png")
    ok(h, f"screenshot {shot1[0]} ({shot1[1]}x{shot1[2]})")

    # 4. The manual conflict, resolved through the CLI at civil-affairs, reaches the hub by sync.
    keep = details[manual["id"]]["values"][1]
    h.station_json("civil-affairs", "conflicts", "resolve", manual["id"], "--choose", "1")
    h.sync("civil-affairs")
    d.refresh()
    h.wait_for("#conflicts")
    def cli_resolution_shown():
        check(manual["id"] not in h.open_conflict_ids(), f"{manual['id']} is still open on the page after civil-affairs synced")
        check(lww["id"] in h.open_conflict_ids(), f"{lww['id']} disappeared though nobody resolved it")
        row = h.resolved_row(manual["id"])
        check(row["how"] == "choose", f"#resolved says how={row['how']!r}, expected choose")
        check(row["by"] == "civil-affairs", f"#resolved says by={row['by']!r}, expected civil-affairs")
        check(row["record"] == f"{CASE[0]}/{CASE[1]}" and row["field"] == "status", f"#resolved row: {row}")
        check(row["kept"] == keep["value"], f"#resolved kept {row['kept']!r}, expected {keep['value']!r}")
        return row
    row = h.reading("the page after the CLI resolution", cli_resolution_shown)
    ok(h, f"CLI resolution (--choose 1 at civil-affairs) shown in #resolved: kept {row['kept']!r}")

    # 5. The conflicts filtered (by policy, through the page's filter form), and the lww one
    # resolved from the page with "accept every automatic decision in this filter".
    def choose_policy(policy):
        from selenium.webdriver.support.ui import Select
        Select(h.one("#filter-policy")).select_by_value(policy)
    h.reading("the policy filter (manual)", lambda: choose_policy("manual"))
    h.click_and_wait(lambda: h.one("#apply-filter"), "#clear-filter")
    def manual_filter_shown():
        check(not h.open_conflict_ids(), f"the manual filter shows {h.open_conflict_ids()} (the manual conflict was resolved)")
        check("No open conflicts in this filter." in h.one("#conflicts").text, f"#conflicts reads {h.one('#conflicts').text!r}")
        check(not h.css("#accept-all"), "no automatic decision to accept in the manual filter")
        check("policy=manual" in d.current_url, f"the filter is not in the address: {d.current_url}")
    h.reading("the manual filter", manual_filter_shown)
    h.reading("the policy filter (lww)", lambda: choose_policy("lww"))
    h.click_and_wait(lambda: h.one("#apply-filter"), "#accept-all")
    def lww_filter_shown():
        check(h.open_conflict_ids() == {lww["id"]}, f"the lww filter shows {h.open_conflict_ids()}, expected {lww['id']}")
        label = h.one("#accept-all button").text
        check(label == "Accept every automatic decision in this filter (1)", f"accept-all reads {label!r}")
    h.reading("the lww filter", lww_filter_shown)
    ok(h, "filtered by policy: manual shows none (resolved at civil-affairs), lww shows its conflict and an accept-all of 1")
    decision = details[lww["id"]]["values"][0]["value"]
    h.click_and_wait(lambda: h.one("#accept-all button"), "#flash")
    def accepted_flash():
        flash = h.one("#flash").text
        expected_flash = "Accepted 1 automatic decision (one resolution write each, by duty-operator)."
        check(flash == expected_flash, f"flash message: {flash!r}, expected {expected_flash!r}")
        return flash
    flash = h.reading("the flash after accepting", accepted_flash)
    h.click_and_wait(lambda: h.one("#clear-filter"), "#resolved")
    def page_resolution_shown():
        check(not h.open_conflict_ids(), f"conflicts still open after both resolutions: {h.open_conflict_ids()}")
        check("No open conflicts." in h.one("#conflicts").text, f"#conflicts reads {h.one('#conflicts').text!r}")
        row = h.resolved_row(lww["id"])
        check(row["how"] == "accept" and row["kept"] == decision, f"#resolved row for {lww['id']}: {row}")
        hub_node = h.one("header h1 .tag").text
        check(row["by"] == f"duty-operator ({hub_node})", f"#resolved by={row['by']!r}, expected the operator and the hub node: duty-operator ({hub_node})")
        return hub_node
    hub_node = h.reading("the page after the dashboard resolution", page_resolution_shown)
    ok(h, f"dashboard resolution: flash {flash!r}")

    h.sync("hotline")
    everything = {c["id"]: c for c in h.station_json("hotline", "conflicts", "list", "--status", "all")}
    check(everything.get(lww["id"], {}).get("status") == "resolved",
          f"after syncing, hotline lists {lww['id']} as {everything.get(lww['id'])}")
    check(everything.get(manual["id"], {}).get("status") == "resolved",
          f"after syncing, hotline lists {manual['id']} as {everything.get(manual['id'])}")
    check(h.station_json("hotline", "conflicts", "list") == [], "hotline still has open conflicts")
    shown = h.station_json("hotline", "conflicts", "show", lww["id"])
    check(shown["resolution"]["how"] == "accept" and shown["resolution"]["by"] == hub_node,
          f"hotline's view of the dashboard resolution: {shown['resolution']}")
    fields = h.station_json("hotline", "get", *CALL)["fields"]
    check(fields["notes"] == decision, f"hotline reads notes {fields['notes']!r}, expected {decision!r}")
    fields = h.station_json("hotline", "get", *CASE)["fields"]
    check(fields["status"] == keep["value"], f"hotline reads status {fields['status']!r}, expected {keep['value']!r}")
    ok(h, "after syncing, hotline shows both conflicts resolved (accept by the hub, choose by civil-affairs)")

    shot2 = h.screenshot("dashboard-resolved.png")
    ok(h, f"screenshot {shot2[0]} ({shot2[1]}x{shot2[2]})")
    return shot1[0], shot2[0]


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: browser_test.py BIN_DIR")
    # A terminated run still cleans up (finally blocks run on SystemExit).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.time()
    print(f"{BOLD}dashboard browser test (headless Chromium){RESET}")
    h = None
    try:
        h = Harness(os.path.abspath(sys.argv[1]))
        shots = scenario(h)
    except Exception as e:
        print(f"  {RED}✗ {e if isinstance(e, TestFailure) else repr(e)}{RESET}", file=sys.stderr)
        if h is not None:
            if h.driver is not None:
                try:
                    path, _, _ = h.screenshot("dashboard-failure.png")
                    print(f"  page at failure: {path} ({h.driver.current_url})", file=sys.stderr)
                except Exception:
                    pass
            err = h.tail("hub.err")
            if err:
                print(f"  hub stderr (last lines):\n{err}", file=sys.stderr)
            log = h.tail("chromedriver.log", 10) if not isinstance(e, TestFailure) else ""
            if log:
                print(f"  chromedriver log (last lines):\n{log}", file=sys.stderr)
        print(f"browser: {len(h.passed) if h else 0} passed, 1 failed", file=sys.stderr)
        return 1
    finally:
        if h is not None:
            h.cleanup()
    print(f"  screenshots: {shots[0]}\n               {shots[1]}")
    print(f"  {time.time() - started:.1f} s")
    print(f"browser: {len(h.passed)} passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
