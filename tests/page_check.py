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


def browser_check(page: Path, tmp_path: Path) -> dict:
    """Open a copy of the page with a checker script in headless Chromium; return what it found."""
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
  out.textContent = 'ADSGEN_CHECK' + JSON.stringify({images: imgs.length, broken: broken, errors: window.__errors}) + 'END_CHECK';
  document.body.appendChild(out);
});
</script>"""
    check = page.with_name("browser-check.html")
    check.write_text(page.read_text().replace("<head>", "<head>" + checker, 1))
    base = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            f"--user-data-dir={tmp_path / 'chromium-profile'}", "--virtual-time-budget=15000"]
    dom = subprocess.run([*base, "--dump-dom", check.as_uri()], capture_output=True, text=True, timeout=90)
    check.unlink()
    text = dom.stdout
    start = text.rfind("ADSGEN_CHECK{")
    assert start >= 0, dom.stderr[-2000:]
    return json.loads(text[start + len("ADSGEN_CHECK"): text.index("END_CHECK", start)])
