"""Language metrics against coco-caption (pycocoevalcap) and the tokenizer against Java PTBTokenizer output."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pytest

from adsgen.drivelm.challenge.scoring.language import bleu, cider_d, language_scores, lcs_length, rouge_l_item
from adsgen.drivelm.challenge.scoring.tokenizer import ptb_tokens, tokenize

FIX = Path(__file__).parent / "fixtures" / "drivelm"

_VOCAB = ("the ego vehicle car sedan truck pedestrian front back left right of to a is and should "
          "notice first second stop keep going ahead turn slowly lane c1 c2 cam_front <").split()


def _pairs(n: int, seed: int) -> tuple[list[str], list[list[str]]]:
    """Tokenised (hypothesis, [reference]) pairs; references share words with hypotheses, lengths vary."""
    rng = random.Random(seed)
    hyps, refs = [], []
    for _ in range(n):
        ref = [rng.choice(_VOCAB) for _ in range(rng.randint(3, 30))]
        hyp = [w if rng.random() < 0.6 else rng.choice(_VOCAB) for w in ref]
        hyp = hyp[: rng.randint(1, len(hyp))] + [rng.choice(_VOCAB) for _ in range(rng.randint(0, 6))]
        hyps.append(" ".join(hyp))
        refs.append([" ".join(ref)])
    return hyps, refs


def test_hand_computed_small_cases():
    # hyp "a b c d" vs ref "a b c e": 3/4 unigrams, 2/3 bigrams, 1/2 trigrams, 0/1 4-grams
    b = bleu(["a b c d"], [["a b c e"]])
    assert b[0] == pytest.approx(0.75, abs=1e-9)
    assert b[1] == pytest.approx((0.75 * 2 / 3) ** 0.5, abs=1e-9)
    assert b[2] == pytest.approx((0.75 * 2 / 3 * 0.5) ** (1 / 3), abs=1e-9)
    assert b[3] < 1e-3
    # brevity penalty: hyp of 2 words against ref of 4, all matching -> exp(1 - 4/2)
    assert bleu(["a b"], [["a b c d"]])[0] == pytest.approx(2.718281828 ** (1 - 2), rel=1e-6)
    assert lcs_length("a b c e".split(), "a x c e".split()) == 3
    assert rouge_l_item("a b c d", ["a b c e"]) == pytest.approx(0.75)
    # recall 3/6, precision 3/3: F = (1 + 1.44) * 1 * 0.5 / (0.5 + 1.44 * 1)
    assert rouge_l_item("a b c", ["a b c d e f"]) == pytest.approx(2.44 * 0.5 / 1.94)
    # one item: idf log(1) - log(1) = 0 -> CIDEr 0
    assert cider_d(["a b c"], [["a b c"]])[0] == 0.0


def test_agrees_with_pycocoevalcap_on_generated_pairs():
    pytest.importorskip("pycocoevalcap")
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.rouge.rouge import Rouge

    for seed in range(3):
        hyps, refs = _pairs(60, seed)
        res = {i: [h] for i, h in enumerate(hyps)}
        gts = {i: r for i, r in enumerate(refs)}
        mine = language_scores(hyps, refs)
        ref_bleu, _ = Bleu(4).compute_score(gts, res, verbose=0)
        ref_rouge, _ = Rouge().compute_score(gts, res)
        ref_cider, _ = Cider().compute_score(gts, res)
        for k in range(4):
            assert mine[f"Bleu_{k + 1}"] == pytest.approx(ref_bleu[k], abs=1e-9)
        assert mine["ROUGE_L"] == pytest.approx(float(ref_rouge), abs=1e-9)
        assert mine["CIDEr"] == pytest.approx(float(ref_cider), abs=1e-9)


def test_multiple_references_agree_with_pycocoevalcap():
    pytest.importorskip("pycocoevalcap")
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.rouge.rouge import Rouge

    hyps, refs1 = _pairs(20, 7)
    _, refs2 = _pairs(20, 8)
    refs = [a + b for a, b in zip(refs1, refs2, strict=False)]
    res = {i: [h] for i, h in enumerate(hyps)}
    gts = {i: r for i, r in enumerate(refs)}
    mine = language_scores(hyps, refs)
    assert [mine[f"Bleu_{k}"] for k in range(1, 5)] == pytest.approx(Bleu(4).compute_score(gts, res, verbose=0)[0],
                                                                      abs=1e-9)
    assert mine["ROUGE_L"] == pytest.approx(float(Rouge().compute_score(gts, res)[0]), abs=1e-9)
    assert mine["CIDEr"] == pytest.approx(float(Cider().compute_score(gts, res)[0]), abs=1e-9)


def test_tokenizer_reproduces_recorded_java_output():
    cases = json.loads((FIX / "ptb_cases.json").read_text())["cases"]
    assert len(cases) >= 10
    for case, nxt in zip(cases, cases[1:] + [{"text": ""}], strict=False):  # recorded as one file, one case a line
        assert " ".join(t.lower() for t in ptb_tokens(case["text"], nxt["text"])) == case["tokens"], case["text"]


def test_tokenize_drops_punctuation_like_coco_caption():
    text = "The IDs are <c1,CAM_BACK,1088.3,497.5> and <c2,CAM_FRONT,7.0,12.5>. It's (maybe) fine!"
    assert tokenize(text) == ("the ids are < c1 cam_back ,1088.3,497.5 > and < c2 cam_front ,7.0,12.5 > "
                              "it 's -lrb- maybe -rrb- fine")
    assert tokenize("Yes.") == "yes" and tokenize("A") == "a" and tokenize("A. Stopped.") == "a. stopped"




@pytest.mark.slow
@pytest.mark.skipif(shutil.which("java") is None, reason="needs java for the reference tokenizer")
def test_tokenizer_matches_java_on_generated_answers(tmp_path):
    import importlib.util
    import subprocess

    spec = importlib.util.find_spec("pycocoevalcap")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("pycocoevalcap not installed")
    jar = Path(list(spec.submodule_search_locations)[0]) / "tokenizer" / "stanford-corenlp-3.4.1.jar"
    if not jar.is_file():
        pytest.skip("no PTBTokenizer jar")
    rng = random.Random(0)
    words = ("There is a white sedan truck pedestrian to the front left right back of ego vehicle's it's don't "
             "Firstly notice that so should keep going ahead, stop; slowly. The IDs objects are and: (now) "
             "\"quoted\" e.g. 12.5m/s 100% 3-4 U.S. A. B. Yes. No. etc. decision-making "
             "café it’s don’t “quoted” naïve — … 👍🏽 ❤️ stop\u200bnow a\ufffdb ½ €5 10°C O’Neil "
             "co\u00adoperative non\u2011stop «x» Müllerstraße 車").split()
    lines = []
    for _ in range(200):
        parts = []
        for _ in range(rng.randint(3, 25)):
            if rng.random() < 0.15:
                cam = rng.choice(["CAM_FRONT", "CAM_BACK_LEFT", "CAM_FRONT_RIGHT"])
                parts.append(f"<c{rng.randint(1, 9)},{cam},{rng.uniform(0, 1600):.1f},{rng.uniform(0, 900):.1f}>"
                             + rng.choice(["", ",", "."]))
            else:
                parts.append(rng.choice(words))
        lines.append(" ".join(parts))
    src = tmp_path / "in.txt"
    src.write_text("\n".join(lines))
    out = subprocess.run(["java", "-cp", str(jar), "edu.stanford.nlp.process.PTBTokenizer", "-preserveLines",
                          "-lowerCase", str(src)], capture_output=True, text=True, timeout=120, check=True).stdout
    java_lines = out.rstrip("\n").split("\n")
    assert len(java_lines) == len(lines)
    following = lines[1:] + [""]
    mismatches = [(a, b) for a, b, nxt in zip(lines, java_lines, following, strict=False)
                  if " ".join(t.lower() for t in ptb_tokens(a, nxt)) != b.rstrip()]
    assert not mismatches, mismatches[:3]


def _nonascii_files(tmp_path):
    data = json.loads((FIX / "nonascii_eval.json").read_text(encoding="utf-8"))
    gt, pred = tmp_path / "gt.json", tmp_path / "pred.json"
    gt.write_text(json.dumps(data["ground_truth"], ensure_ascii=False), encoding="utf-8")
    pred.write_text(json.dumps(data["predictions"], ensure_ascii=False), encoding="utf-8")
    return data, gt, pred


def test_evaluate_equals_the_official_script_on_non_ascii_answers(cli, tmp_path):
    """café, it’s, “quotes”, emoji, zero-width spaces, U+FFFD, ½, €, soft hyphens: the scores the official
    pipeline (Java PTBTokenizer + pycocoevalcap, recorded by fixtures/drivelm/make_nonascii.py) gives."""
    data, gt, pred = _nonascii_files(tmp_path)
    code, _, err = cli(["drivelm", "evaluate", pred, "--gt", gt, "--json", tmp_path / "s.json"])
    assert code == 0, err
    mine = json.loads((tmp_path / "s.json").read_text())["language"]
    official = data["official"]["scores"]
    assert mine["ROUGE_L"] == pytest.approx(official["ROUGE_L"], abs=1e-9)
    for key in ("Bleu_1", "Bleu_2", "Bleu_3", "Bleu_4", "CIDEr"):
        assert mine[key] == pytest.approx(official[key], abs=1e-9), key


def test_non_ascii_tokens_equal_the_java_tokens_and_the_table_matters(monkeypatch):
    from adsgen.drivelm.challenge.scoring import ptb_chars
    from adsgen.drivelm.challenge.scoring.evaluate import language_part
    from adsgen.drivelm.challenge.scoring.tokenizer import tokenize_all

    data = json.loads((FIX / "nonascii_eval.json").read_text(encoding="utf-8"))
    truths = [f["QA"]["perception"][0]["A"] for f in data["ground_truth"][next(iter(data["ground_truth"]))]
              ["key_frames"].values()]
    preds = [p["answer"] for p in data["predictions"]]
    assert tokenize_all(truths) == data["official"]["reference_tokens"]
    assert tokenize_all(preds) == data["official"]["prediction_tokens"]
    # the control: every non-ASCII character a token of its own (no measured table) scores differently
    monkeypatch.setattr(ptb_chars, "char_class", lambda ch: ("T", None))
    naive = language_part(list(zip(preds, truths, strict=True)))
    assert abs(naive["ROUGE_L"] - data["official"]["scores"]["ROUGE_L"]) > 1e-4


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("java") is None, reason="needs java for the reference tokenizer")
def test_the_recorded_official_scores_are_what_the_official_pipeline_gives_now():
    import importlib.util

    pytest.importorskip("pycocoevalcap")
    spec = importlib.util.spec_from_file_location("make_nonascii", FIX / "make_nonascii.py")
    make = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make)
    live = make.official()
    recorded = json.loads((FIX / "nonascii_eval.json").read_text(encoding="utf-8"))["official"]
    assert live["reference_tokens"] == recorded["reference_tokens"]
    assert live["scores"] == pytest.approx(recorded["scores"], abs=1e-12)
