"""The pages in a real browser: Debian's headless Chromium, driven by selenium through chromedriver, against a
real ``voxwatch web`` server. Analyze judges a real and a synthetic voice (REAL, FAKE, with the plot); Live shows
an alert that a real ``voxwatch replay`` publishes; an Evidence label round-trips to the store.

Screenshots go to a temporary directory, or to $VOXWATCH_SCREENSHOTS (``VOXWATCH_SCREENSHOTS=docs`` refreshes
the README's pictures).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import require_tool
from daemon_helpers import free_port
from web_helpers import REPO, WebServer, evidence_clips, real_clip, synthetic_clip

pytest.importorskip("fastapi")
webdriver = pytest.importorskip("selenium.webdriver")
from selenium.common.exceptions import StaleElementReferenceException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as ec  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    require_tool(CHROMIUM, CHROMEDRIVER)
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                "--window-size=1100,900", f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
                "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"):  # a test microphone
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A server with an evidence store of three clips and a live feed on a free port."""
    root = tmp_path_factory.mktemp("site")
    evidence = root / "evidence"
    clips = evidence_clips(evidence, 3)
    publish = f"tcp://127.0.0.1:{free_port()}"
    server = WebServer("--connect", publish, "--evidence-dir", str(evidence), "--stale", "8")  # > 5 s heartbeat
    yield {"url": server.url, "publish": publish, "evidence": evidence, "clips": clips, "root": root}
    err = server.close()
    assert "Traceback" not in err


def wait(driver, timeout: float = 60.0) -> WebDriverWait:
    """Waits that look again when the page has just redrawn what they were reading (Live redraws every second)."""
    return WebDriverWait(driver, timeout, ignored_exceptions=(StaleElementReferenceException,))


def texts(driver, selector: str) -> list[str]:
    """The text of every element matching ``selector``, read in one step (nothing can go stale in between)."""
    return driver.execute_script("return [...document.querySelectorAll(arguments[0])].map(e => e.innerText)",
                                 selector)


def screenshot(driver, name: str, tmp_path: Path) -> Path:
    """The whole page (up to about 1700 px tall); for the docs, reduced to 256 colours to keep the PNG small."""
    folder = Path(os.environ.get("VOXWATCH_SCREENSHOTS") or tmp_path)
    folder = folder if folder.is_absolute() else REPO / folder
    path = folder / f"web-{name}.png"
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1100, min(height + 160, 1800))  # the window includes a little browser chrome
    try:
        driver.save_screenshot(str(path))
    finally:
        driver.set_window_size(1100, 900)
    if os.environ.get("VOXWATCH_SCREENSHOTS"):
        from PIL import Image

        Image.open(path).convert("RGB").quantize(256).save(path, optimize=True)
    return path


def browser_errors(driver) -> list[str]:
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def analyze(driver, path: Path) -> dict:
    """Choose the file, press Analyze, wait for the verdict; returns what the page drew."""
    driver.find_element(By.ID, "file").send_keys(str(path))
    wait(driver).until(lambda d: d.find_element(By.ID, "status").text.startswith(f"Ready: {path.name}"))
    driver.find_element(By.ID, "analyze").click()
    wait(driver).until(lambda d: d.find_element(By.ID, "status").text == f"Analyzed {path.name}")
    return {
        "verdict": driver.find_element(By.ID, "verdict").text,
        "points": len(driver.find_elements(By.CSS_SELECTOR, "#score-plot circle.window-point")),
        "lines": len(driver.find_elements(By.CSS_SELECTOR, "#score-plot polyline.score-line")),
        "threshold": len(driver.find_elements(By.CSS_SELECTOR, "#score-plot line.threshold")),
        "spans": [e.get_attribute("class") for e in driver.find_elements(By.CSS_SELECTOR, "#score-plot rect.span")],
        "rows": len(driver.find_elements(By.CSS_SELECTOR, "#utterances tbody tr")),
        "stages": texts(driver, "#utterances tbody td.stage"),
        "spectrogram": driver.execute_script("const c = document.getElementById('spectrogram');"
                                             "return [c.width, c.height];"),
        "download": driver.execute_script("return document.getElementById('download').href"),
    }


def score_json(path: Path) -> dict:
    out = subprocess.run([sys.executable, "-m", "voxwatch", "score", "--json", str(path)], capture_output=True,
                         text=True, check=True).stdout
    return json.loads(out)


def test_analyze_shows_real_and_fake_with_the_plot(browser, site, tmp_path):
    real, synthetic = real_clip(), synthetic_clip(site["root"])
    browser.get(f"{site['url']}/")
    for path, verdict in ((real, "REAL"), (synthetic, "FAKE")):
        expected = score_json(path)
        shown = analyze(browser, path)
        assert shown["verdict"] == verdict
        windows = sum(span["windows"] for span in expected["spans"])
        assert shown["points"] == windows > 0  # one point per scored window
        assert shown["lines"] == len(expected["spans"]) and shown["threshold"] == 1
        assert shown["spans"] == [f"span {span['verdict']}" for span in expected["spans"]]
        assert shown["rows"] == len(expected["spans"])
        assert shown["stages"] == [span["stage"] for span in expected["spans"]]  # which stage decided each
        assert shown["spectrogram"][0] > 100 and shown["spectrogram"][1] == 128
        assert shown["download"].startswith("blob:")
    assert browser.find_element(By.ID, "player").get_attribute("src").startswith("blob:")
    assert browser_errors(browser) == []
    screenshot(browser, "analyze", tmp_path)


def test_a_recording_from_the_microphone_is_sent_as_a_wav_and_judged(browser, site):
    """Chromium's test microphone (a beeping tone) through the page's recorder: the WAV it builds is decoded by
    the server and judged (a tone is no voice: whatever the verdict, the file must have been read)."""
    browser.get(f"{site['url']}/")
    browser.find_element(By.ID, "record").click()
    wait(browser, 20).until(lambda d: re.fullmatch(r"Recording… ([2-9]|\d\d)\.\d s",
                                                   d.find_element(By.ID, "status").text))
    browser.find_element(By.ID, "record").click()
    wait(browser, 20).until(lambda d: d.find_element(By.ID, "status").text.startswith("Ready: recording.wav"))
    browser.find_element(By.ID, "analyze").click()
    wait(browser).until(lambda d: d.find_element(By.ID, "status").text == "Analyzed recording.wav")
    assert browser.find_element(By.ID, "verdict").text in ("REAL", "FAKE", "NO SPEECH")
    assert float(re.search(r"· ([\d.]+) s ·", browser.find_element(By.ID, "summary").text).group(1)) >= 2.0
    assert browser_errors(browser) == []


def test_live_shows_an_alert_that_replay_publishes(browser, site, tmp_path):
    synthetic, real = synthetic_clip(site["root"]), real_clip()
    browser.get(f"{site['url']}/live")
    wait(browser, 20).until(lambda d: d.find_element(By.ID, "feed-status").text.startswith("Connected to"))
    replay = subprocess.run([sys.executable, "-m", "voxwatch", "replay", "--fast", "--publish", site["publish"],
                             "--wait-subscribers", "20", "--daemon-id", "front-desk", str(synthetic), str(real)],
                            capture_output=True, text=True, timeout=120)
    assert replay.returncode == 0, replay.stderr
    alerts = wait(browser).until(ec.visibility_of_all_elements_located((By.CSS_SELECTOR, "#alerts li.alert")))
    assert "ALERT · FAKE" in alerts[0].text and "synthetic" in alerts[0].text and "front-desk" in alerts[0].text
    assert all(real.stem not in alert.text for alert in alerts)  # the real voice raised none
    # the replay's last heartbeat says it stopped; the cards show each stream's utterance scores by then
    wait(browser, 20).until(lambda d: "stopping" in d.find_element(By.ID, "daemons").text)
    cards = browser.execute_script("""  // read at once: the cards are redrawn with every snapshot
        return Object.fromEntries([...document.querySelectorAll(".stream-card")].map(c => [c.dataset.stream,
            {text: c.innerText, real: c.querySelectorAll("circle.window-point.real").length,
             fake: c.querySelectorAll("circle.window-point.fake").length}]));""")
    assert set(cards) == {"synthetic", real.stem}
    assert cards[real.stem]["real"] == 2 and cards[real.stem]["fake"] == 0  # its two utterances, both real
    assert cards["synthetic"]["fake"] >= 1
    assert "1 alerts" in cards["synthetic"]["text"] and "0 alerts" in cards[real.stem]["text"]
    assert browser_errors(browser) == []
    screenshot(browser, "live", tmp_path)


def test_a_daemon_that_falls_silent_is_marked_stale(browser, site):
    """A replay killed mid-stream (no "stopping" heartbeat) is marked stale once its heartbeat is overdue."""
    browser.get(f"{site['url']}/live")
    replay = subprocess.Popen([sys.executable, "-m", "voxwatch", "replay", "--realtime", "--publish", site["publish"],
                               "--wait-subscribers", "20", "--daemon-id", "back-office", str(real_clip())],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        row = wait(browser, 30).until(lambda d: next(
            (t for t in texts(d, "#daemons tbody tr") if "back-office" in t and "s ago" in t), None))
        assert "stale" not in row  # heard from just now
    finally:
        replay.kill()
        replay.wait()
    wait(browser, 30).until(lambda d: any("back-office" in t and "stale" in t for t in texts(d, "#daemons tbody tr")))
    card = wait(browser, 10).until(lambda d: texts(d, ".stream-card.stale[data-stream='103-1240-0000']"))
    assert "stale" in card[0]


def test_the_plot_draws_the_verifier_score_when_the_record_has_one(browser, site):
    """The verifier cascade adds ``verifier_score`` to windows; the plot draws that series beside the score."""
    browser.get(f"{site['url']}/")
    drawn = browser.execute_script("""
        const svg = document.createElementNS(SVG_NS, "svg");
        const w = {utterance: 0, verdict: "fake"};
        const record = {duration_s: 4, threshold: 0.5, spans: [{start_s: 0, end_s: 4, verdict: "fake"}],
                        windows: [{...w, start_s: 0, end_s: 2, score: 0.9, verifier_score: 0.7},
                                  {...w, start_s: 1, end_s: 3, score: 0.8, verifier_score: 0.6}]};
        drawScorePlot(svg, record);
        const without = document.createElementNS(SVG_NS, "svg");
        drawScorePlot(without, {...record, windows: record.windows.map(({verifier_score, ...w}) => w)});
        return [svg.querySelectorAll("polyline.verifier-line").length,
                svg.querySelector("polyline.verifier-line").getAttribute("points").split(" ").length,
                without.querySelectorAll("polyline.verifier-line").length, legendHtml(record).includes("verifier")];
    """)
    assert drawn == [1, 2, 0, True]


def test_the_utterance_table_and_the_alert_list_show_the_stages_and_why(browser, site):
    """Analyze: each utterance's stage, both stages' scores and its reason; Live: an alert's reason under it. The
    reason is text, never markup."""
    why = "verifier 0.97 >= 0.90 on 0.0-2.0 s; filter 0.62 <b>x</b>"
    browser.get(f"{site['url']}/")
    cells = browser.execute_script("""
        const span = {utterance: 0, start_s: 0, end_s: 2, score: 0.97, threshold: 0.9, verdict: "fake", windows: 3,
                      early: false, stage: "verifier", filter_score: 0.62, verifier_score: 0.95, why: arguments[0]};
        show({file: "x.wav", verdict: "fake", score: 0.62, threshold: 0.837, utterances: 2, fake_utterances: 1,
              duration_s: 4, model: "m", verifier: "v", verified_utterances: 1, windows: [],
              spans: [span, {...span, utterance: 1, start_s: 2.5, end_s: 4, score: 0.1, threshold: 0.019,
                             verdict: "real", stage: "filter", filter_score: 0.1, verifier_score: null,
                             why: undefined}]});
        return [...document.querySelectorAll("#utterances tbody tr")].map(r => [...r.cells].map(c => c.innerText));
    """, why)
    headers = texts(browser, "#utterances thead th")
    rows = [dict(zip(headers, row, strict=True)) for row in cells]
    assert [(r["Stage"], r["Filter"], r["Verifier"], r["Threshold"]) for r in rows] == \
        [("verifier", "0.620", "0.950", "0.900"), ("filter", "0.100", "-", "0.019")]
    assert rows[0]["Why"] == why and rows[1]["Why"] == ""
    browser.get(f"{site['url']}/live")
    shown = browser.execute_script("""
        addAlert({daemon: {id: "desk-1"}, stream: "call-7", start_s: 0, end_s: 2, score: 0.97, early: false,
                  ts: 1800000000, verdict: "fake", why: arguments[0]}, false);
        const item = document.querySelector("#alerts li.alert");
        return [item.querySelector(".why").innerText, item.querySelectorAll(".why b").length];
    """, why)
    assert shown == [why, 0]
    assert browser_errors(browser) == []


def test_an_evidence_label_round_trips(browser, site, tmp_path):
    evidence, clips = site["evidence"], site["clips"]
    browser.get(f"{site['url']}/evidence")
    rows = wait(browser, 20).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#clips tbody tr[data-id]"))
    assert [row.get_attribute("data-id") for row in rows] == [p.stem for p in reversed(clips)]  # newest first
    row = rows[1]
    row.find_element(By.CSS_SELECTOR, "button.review").click()
    wait(browser, 20).until(lambda d: d.find_element(By.ID, "clip-detail").is_displayed())
    player = browser.find_element(By.ID, "clip-player")
    assert player.get_attribute("src").endswith(f"/api/evidence/{clips[1].stem}/audio")
    assert browser.execute_script("return document.getElementById('clip-spectrogram').width") > 10
    row.find_element(By.CSS_SELECTOR, "button.mark-fake").click()
    wait(browser, 20).until(lambda d: row.find_element(By.CSS_SELECTOR, ".label").text == "fake")
    moved = evidence / "fake" / clips[1].name
    assert moved.is_file() and json.loads(moved.with_suffix(".json").read_text())["label"] == "fake"
    browser.refresh()
    labels = wait(browser, 20).until(lambda d: {
        r.get_attribute("data-id"): r.find_element(By.CSS_SELECTOR, ".label").text
        for r in d.find_elements(By.CSS_SELECTOR, "#clips tbody tr[data-id]")})
    assert labels[clips[1].stem] == "fake" and labels[clips[0].stem] == "not reviewed"
    browser.find_elements(By.CSS_SELECTOR, "#clips tbody tr[data-id]")[1].find_element(
        By.CSS_SELECTOR, "button.review").click()
    wait(browser, 20).until(lambda d: d.find_element(By.ID, "clip-detail").is_displayed())
    assert browser_errors(browser) == []
    screenshot(browser, "evidence", tmp_path)


def test_a_voice_is_enrolled_checked_and_removed_on_the_voices_page(browser, tmp_path):
    """Clone watch from the browser: enrol a voice from three uploaded recordings, check a fourth against it
    (GENUINE), remove it; the page's requests carry the header the server wants."""
    from voice_helpers import SENTENCES, espeak

    spoken = [espeak(tmp_path / f"s{i}.wav", text) for i, text in enumerate(SENTENCES)]
    voices = tmp_path / "voices"
    server = WebServer("--voices-dir", str(voices), "--evidence-dir", str(tmp_path))
    try:
        browser.get(f"{server.url}/voices")
        wait(browser, 20).until(lambda d: "0 voice(s) enrolled" in d.find_element(By.ID, "voices-summary").text)
        browser.find_element(By.ID, "enrol-name").send_keys("bob")
        browser.find_element(By.ID, "enrol-files").send_keys("\n".join(str(p) for p in spoken[:3]))
        browser.find_element(By.CSS_SELECTOR, "#enrol-form button").click()
        wait(browser, 60).until(lambda d: d.find_element(By.ID, "enrol-result").text.startswith("Enrolled bob"))
        assert len(list(voices.iterdir())) == 1  # the voiceprint
        rows = wait(browser, 20).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#voices tbody tr[data-name]"))
        assert [r.get_attribute("data-name") for r in rows] == ["bob"]
        browser.find_element(By.ID, "check-file").send_keys(str(spoken[3]))
        browser.find_element(By.CSS_SELECTOR, "#check-form button").click()
        wait(browser, 60).until(lambda d: "GENUINE" in d.find_element(By.ID, "check-result").text)
        assert "bob" in browser.find_element(By.ID, "check-result").text
        screenshot(browser, "voices", tmp_path)
        browser.execute_script("window.confirm = () => true")
        rows[0].find_element(By.CSS_SELECTOR, "button.remove").click()
        wait(browser, 20).until(lambda d: "0 voice(s) enrolled" in d.find_element(By.ID, "voices-summary").text)
        assert not any(voices.iterdir())
        assert browser_errors(browser) == []
    finally:
        err = server.close()
    assert "Traceback" not in err
