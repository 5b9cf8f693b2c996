"""Open an HTML report in headless Chromium (Debian's package) and report what loaded: shared by tests."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")


def screenshot(page: Path, shot: Path, tmp_path: Path, size: str = "1200,2400") -> Path:
    """A PNG screenshot of the page."""
    subprocess.run([str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    f"--user-data-dir={tmp_path / 'chromium-profile'}", "--hide-scrollbars", f"--window-size={size}",
                    f"--screenshot={shot}", page.as_uri()], capture_output=True, timeout=90)
    return shot


def browser_check(page: Path, tmp_path: Path, width: int = 1280) -> dict:
    """Open a copy of the page with a checker script in headless Chromium at ``width`` px; return what it
    found: images, broken ones, script errors, the viewport and page widths and the elements that stick out
    of the viewport (outside a scrolling box)."""
    checker = """<script>
window.__errors = [];
window.addEventListener('error', function (e) {
  window.__errors.push('error: ' + (e.message || (e.target && (e.target.src || e.target.href)))); }, true);
(function () { var orig = console.error; console.error = function () {
  window.__errors.push('console.error: ' + Array.prototype.join.call(arguments, ' '));
  return orig.apply(console, arguments); }; })();
window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images);
  var broken = imgs.filter(function (i) { return !(i.complete && i.naturalWidth > 0); })
                   .map(function (i) { return i.getAttribute('src'); });
  var out = document.createElement('pre');
  var vw = window.innerWidth;
  var wide = Array.prototype.slice.call(document.body.querySelectorAll('*')).filter(function (e) {
    for (var p = e.parentElement; p; p = p.parentElement) {
      if (getComputedStyle(p).overflowX === 'auto' || getComputedStyle(p).overflowX === 'scroll') return false; }
    return e.getBoundingClientRect().right > vw + 1; }).map(function (e) { return e.tagName.toLowerCase(); });
  out.textContent = 'ADSGEN_CHECK' + JSON.stringify({images: imgs.length, broken: broken, errors: window.__errors,
    viewport: vw, page_width: document.documentElement.scrollWidth, overflowing: wide}) + 'END_CHECK';
  document.body.appendChild(out);
});
</script>"""
    check = page.with_name("browser-check.html")
    check.write_text(page.read_text().replace("<head>", "<head>" + checker, 1))
    base = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            f"--user-data-dir={tmp_path / 'chromium-profile'}", "--virtual-time-budget=15000",
            f"--window-size={width},900"]
    dom = subprocess.run([*base, "--dump-dom", check.as_uri()], capture_output=True, text=True, timeout=90)
    check.unlink()
    text = dom.stdout
    start = text.rfind("ADSGEN_CHECK{")
    assert start >= 0, dom.stderr[-2000:]
    return json.loads(text[start + len("ADSGEN_CHECK"): text.index("END_CHECK", start)])
