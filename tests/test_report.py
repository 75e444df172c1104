"""The HTML report: built on a simulated design, parsed, and opened in a real headless browser.

The browser part runs Chromium (installed by ``make test``) on a copy of the report with a
probe script injected before everything else: it records script errors, failed resource loads
and Content-Security-Policy violations (any network request), then writes them and the decoded
size of every image into the DOM, which ``--dump-dom`` prints.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest

from deepcause.cli import main
from deepcause.estimate import estimate_effect
from deepcause.report import build_report, plot_graph
from deepcause.results import EffectEstimate
from deepcause.simulate import make_confounded_binary

matplotlib.use("Agg")

GRAPH = "x1 -> t; x2 -> t; x3 -> t; x1 -> y; x2 -> y; x3 -> y; t -> y; x1 -> n; x1 <-> x2"
FIGURES = {
    "causal graph",
    "propensity overlap plot",
    "covariate balance plot",
    "refutation plot",
    "sensitivity contour plot",
}
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _design(n: int = 1500, seed: int = 0) -> tuple[pd.DataFrame, float]:
    ds = make_confounded_binary(n, n_covariates=3, random_state=seed, population_truth=False)
    df = ds.data.copy()
    rng = np.random.default_rng(seed + 1)
    # a negative-control outcome: caused by a confounder, not by the treatment
    df["n"] = df["x1"] + rng.standard_normal(len(df))
    return df, float(ds.truth["ATE"])


@pytest.fixture(scope="module")
def design() -> tuple[pd.DataFrame, float]:
    return _design()


@pytest.fixture(scope="module")
def report_file(tmp_path_factory, design) -> Path:
    df, _ = design
    folder = tmp_path_factory.mktemp("report")
    df.to_csv(folder / "data.csv", index=False)
    out = folder / "report.html"
    argv = ["report", str(folder / "data.csv"), "-g", GRAPH, "-t", "t", "-o", "y", "-m", "ipw"]
    assert main([*argv, "--simulations", "10", "--out", str(out)]) == 0  # 4: sd(new) too noisy
    return out


class _Collector(HTMLParser):
    """Every tag with its attributes, the ``<style>`` text and the section ids."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.style = ""
        self._in_style = False

    def handle_starttag(self, tag, attrs):  # noqa: D102
        self.tags.append((tag, {k: v or "" for k, v in attrs}))
        self._in_style = tag == "style"

    def handle_endtag(self, tag):  # noqa: D102
        self._in_style = False

    def handle_data(self, data):  # noqa: D102
        if self._in_style:
            self.style += data


def _parse(text: str) -> _Collector:
    c = _Collector()
    c.feed(text)
    return c


def test_every_figure_is_inline_and_nothing_points_outside(report_file):
    text = report_file.read_text(encoding="utf-8")
    parsed = _parse(text)
    images = [a for t, a in parsed.tags if t == "img"]
    alts = {a["alt"] for a in images}
    assert alts >= FIGURES, f"missing figures: {FIGURES - alts}"
    for a in images:
        head, _, payload = a["src"].partition(",")
        assert head in ("data:image/png;base64", "data:image/svg+xml;base64"), head
        raw = base64.b64decode(payload, validate=True)
        if head.endswith("png;base64"):
            assert raw[:8] == b"\x89PNG\r\n\x1a\n" and len(raw) > 2000
        else:  # the SVG may name its XML namespaces, but reference nothing
            assert b"<svg" in raw and not re.search(rb"(href|src)=\"(https?:)?//", raw)
    # no reference to anything outside the file: no http(s), no protocol-relative URL, no script
    assert not re.search(r"https?:|\bsrc=\"//|\bhref=\"//", text)
    assert not any(t in ("script", "link", "iframe", "object", "embed") for t, _ in parsed.tags)
    for tag, attrs in parsed.tags:
        for name in ("src", "href"):
            if name in attrs:
                assert attrs[name].startswith(("data:", "#")), (tag, attrs[name][:40])
    assert "url(" not in parsed.style and "@import" not in parsed.style
    csp = [a for t, a in parsed.tags if a.get("http-equiv") == "Content-Security-Policy"]
    assert csp and "default-src 'none'" in csp[0]["content"]


def test_the_report_shows_the_analysis(report_file, design):
    df, truth = design
    text = report_file.read_text(encoding="utf-8")
    ids = re.findall(r'<section id="([^"]+)">', text)
    assert ids == [
        "causal-graph",
        "estimand",
        "estimate",
        "diagnostics",
        "refutations",
        "sensitivity",
        "reproduce",
    ]
    # the estimate table of EffectEstimate.summary().as_html(), and it is close to the truth
    row = re.search(r"<td>ATE</td><td>([-0-9.e]+)</td><td>([-0-9.e]+)</td>", text)
    value, se = float(row.group(1)), float(row.group(2))
    assert abs(value - truth) < 4 * se
    # the graph names a negative-control outcome (n): it is run, and this valid design passes
    assert "negative-control outcome" in text
    assert text.count('class="badge pass"') == 6 and 'class="badge fail"' not in text
    assert "robustness value" in text and "E-value" in text
    # the exact command, with the data file's hash
    assert "deepcause report" in text and "--simulations 10" in text and "sha256" in text


def test_an_omitted_confounder_fails_the_negative_control():
    df, _ = _design(2000, seed=3)
    # x1 causes t, y and n, but the analyst's graph leaves it out
    graph = "x2 -> t; x3 -> t; x2 -> y; x3 -> y; t -> y; x2 -> n"
    rep = build_report(df, graph, "t", "y", method="ipw", refuters=["negative_control_outcome"])
    assert 'class="badge fail"' in rep.html and 'class="badge pass"' not in rep.html


def test_estimate_only_report(tmp_path, design):
    df, _ = design
    est = estimate_effect(df, GRAPH, "t", "y", method="ipw")
    out = tmp_path / "estimate.html"
    rep = est.report(out, code="estimate_effect(df, GRAPH, 't', 'y', method='ipw')")
    assert out.read_text(encoding="utf-8") == rep.html
    assert rep.titles == ["Estimand", "Estimate", "Diagnostics", "Reproduce"]
    alts = {a["alt"] for t, a in _parse(rep.html).tags if t == "img"}
    assert {"propensity overlap plot", "covariate balance plot"} <= alts
    assert "method=&#x27;ipw&#x27;" in rep.html
    bare = EffectEstimate(1.0, 0.2, method="X", n=10).report()
    assert "no overlap or balance diagnostics" in bare.html


def test_bidirected_edges_are_dashed():
    ax = plot_graph("a -> b; a <-> b", treatment="a", outcome="b")
    dashed = [p for p in ax.patches if p.get_linestyle() not in ("-", "solid")]
    assert len(dashed) == 1 and len(ax.patches) == 2


def test_cli_refuses_before_any_work(tmp_path, capsys):
    data = tmp_path / "d.csv"
    _design(200)[0].to_csv(data, index=False)
    base = ["report", str(data), "-t", "t", "-o", "y"]
    assert main([*base, "--out", str(data), "--force"]) == 1
    assert "is the input file" in capsys.readouterr().err
    (tmp_path / "r.html").write_text("keep")
    assert main([*base, "--out", str(tmp_path / "r.html")]) == 1
    assert (tmp_path / "r.html").read_text() == "keep"
    assert main([*base, "--out", str(tmp_path / "no" / "r.html")]) == 1
    assert main(base) == 2  # --out is required
    assert main(["report", str(data), "-g", "t -> y; t <-> y", "-t", "t", "-o", "y",
                 "--out", str(tmp_path / "x.html")]) == 3  # fmt: skip


_PROBE = """<script>
window.__probe = [];
window.addEventListener("error", function (e) {
  var t = e.target;
  window.__probe.push(t && t !== window ? "resource " + (t.src || t.href || t.tagName).slice(0, 60)
                                        : "error " + e.message);
}, true);
document.addEventListener("securitypolicyviolation", function (e) {
  window.__probe.push("blocked " + e.violatedDirective + " " + e.blockedURI);
});
["error", "warn"].forEach(function (level) {
  var original = console[level];
  console[level] = function () {
    window.__probe.push("console." + level + " " + Array.prototype.join.call(arguments, " "));
    original.apply(console, arguments);
  };
});
window.addEventListener("load", function () {
  var out = document.createElement("pre");
  out.id = "__probe";
  out.textContent = JSON.stringify({
    problems: window.__probe,
    images: Array.prototype.map.call(document.images, function (i) {
      return {alt: i.alt, width: i.naturalWidth, height: i.naturalHeight, complete: i.complete};
    })
  });
  document.body.appendChild(out);
});
</script>"""


def _open_in_chromium(path: Path, tmp_path: Path) -> tuple[dict, str]:
    """Load a probed copy of ``path`` in headless Chromium: (probe record, browser log)."""
    probed = tmp_path / "probed.html"
    text = path.read_text(encoding="utf-8")
    probed.write_text(text.replace("<head>", "<head>" + _PROBE, 1), encoding="utf-8")
    run = subprocess.run(
        [CHROMIUM, "--headless", "--disable-gpu", "--no-sandbox", "--enable-logging=stderr",
         "--v=0", "--virtual-time-budget=5000", f"--user-data-dir={tmp_path / 'profile'}",
         "--dump-dom", probed.as_uri()],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    m = re.search(r'<pre id="__probe">(.*?)</pre>', run.stdout, re.S)
    assert m, f"the probe did not report (rc {run.returncode}): {run.stderr[-2000:]}"
    record = json.loads(m.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    return record, run.stderr


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not found (make test installs it as root)")
def test_renders_in_a_headless_browser(report_file, tmp_path):
    record, log = _open_in_chromium(report_file, tmp_path)
    assert record["problems"] == []
    console = [line for line in log.splitlines() if ":CONSOLE" in line]
    assert console == [], console
    images = {i["alt"]: i for i in record["images"]}
    assert set(images) >= FIGURES
    for alt, img in images.items():
        assert img["complete"] and img["width"] > 0 and img["height"] > 0, alt


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not found (make test installs it as root)")
def test_the_probe_sees_a_broken_report(tmp_path):
    """The browser check can fail: a network image, a broken image and a script error."""
    bad = tmp_path / "bad.html"
    bad.write_text(
        '<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; img-src data:; style-src 'unsafe-inline'\"></head><body>"
        '<img alt="remote" src="https://example.org/x.png">'
        '<img alt="broken" src="data:image/png;base64,AAAA"></body></html>',
        encoding="utf-8",
    )
    record, _ = _open_in_chromium(bad, tmp_path)
    assert any(p.startswith("blocked img-src") for p in record["problems"])
    assert all(i["width"] == 0 for i in record["images"])
