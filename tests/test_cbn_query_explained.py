"""`adsgen cbn query` explains an intervention that cannot reach the target, and writes --json FILE or -."""

from __future__ import annotations

import json

import pytest

from adsgen.cbn.causal_paths import missing_paths
from adsgen.crashdata.synth import sample_canonical


def test_missing_path_names_the_arcs_that_would_carry_an_effect():
    edges = [("weather", "surface"), ("light", "severity"), ("surface", "collision_type")]
    tiers = {"light": 0, "weather": 0, "surface": 1, "collision_type": 3, "severity": 4}
    (gap,) = missing_paths(edges, "severity", ["weather", "light"], tiers)  # light -> severity has a path
    assert gap.variable == "weather" and gap.out_arcs == [("weather", "surface")]
    assert gap.carriers[0] == ("weather", "severity")  # the direct arc first
    assert ("collision_type", "severity") in gap.carriers  # from what weather reaches
    assert ("surface", "light") not in gap.carriers and ("severity", "light") not in gap.carriers  # tiers
    assert "no directed path from weather to severity" in gap.sentence()
    assert missing_paths(edges + [("collision_type", "severity")], "severity", ["weather"], tiers) == []


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    from adsgen.cli import main

    tmp = tmp_path_factory.mktemp("query")
    sample_canonical(3000, 5).to_csv(tmp / "crashes.csv", index=False)
    assert main(["cbn", "learn", str(tmp / "crashes.csv"), "--out", str(tmp / "model"), "--no-pc"]) == 0
    return tmp / "model"


def test_query_says_when_do_cannot_change_the_target_and_writes_json(cli, model_dir, tmp_path):
    card = json.loads((model_dir / "card.json").read_text())
    edges = [tuple(e) for e in card["edges"]]
    reaching = {a for a, b in edges if b == "severity"}
    unreached = [v for v in ("weather", "light", "driver_impaired", "surface")
                 if missing_paths(edges, "severity", [v], card.get("tiers"))]
    assert unreached, edges  # this sample's graph, like the shipped one, has no path from weather to severity
    state = card["states"][unreached[0]][-1]
    code, out, err = cli(["cbn", "query", model_dir, "--do", f"{unreached[0]}={state}", "--json", tmp_path / "q.json"])
    assert code == 0, err
    assert f"no directed path from {unreached[0]} to severity" in " ".join(out.split())
    plain = json.loads((tmp_path / "q.json").read_text())
    code, _, _ = cli(["cbn", "query", model_dir, "--json", tmp_path / "p.json"])
    assert plain["probability"] == pytest.approx(json.loads((tmp_path / "p.json").read_text())["probability"])
    parent = sorted(reaching)[0]
    code, out, err = cli(["cbn", "query", model_dir, "--do", f"{parent}={card['states'][parent][0]}", "--json", "-"])
    assert code == 0 and "no directed path" not in out + err
    result = json.loads(out)  # clean JSON on stdout, the table on stderr
    assert result["states"] == card["states"]["severity"] and sum(result["probability"]) == pytest.approx(1)
