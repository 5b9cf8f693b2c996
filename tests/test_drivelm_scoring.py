"""DriveLM scoring: the challenge's rules on hand-computed cases, and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adsgen.drivelm.challenge import formats as F
from adsgen.drivelm.challenge.scoring import evaluate, language_term, match_points, question_in_graph
from adsgen.drivelm.challenge.scoring.judge import parse_rating
from adsgen.errors import InputError

FIX = Path(__file__).parent / "fixtures" / "drivelm"
SCENE = "5ce7e1000000000000000000000000a1"
F1 = "f0000000000000000000000000000001"


class ConstJudge:
    """A judge that rates everything the same (the official script with its GPT call stubbed)."""

    def __init__(self, rating: float | None):
        self.rating = rating
        self.name = f"const:{rating}"
        self.seen: list[tuple[str, str]] = []

    def rate(self, pairs):
        self.seen.extend(pairs)
        return [self.rating] * len(pairs)


def _f1(tp: int, fp: int, fn: int) -> float:
    """The challenge's F1 with its epsilons."""
    p = tp / (tp + fp + 1e-8)
    r = tp / (tp + fn + 1e-8)
    return 2 * p * r / (p + r + 1e-8)


@pytest.fixture
def gt() -> F.NestedDataset:
    return F.load_nested(FIX / "mini_eval.json")


def test_match_points_hand_cases():
    truth = "Objects <c1,CAM_FRONT,800.0,450.0> and <c2,CAM_FRONT_RIGHT,300.0,500.0>."
    # one point 7 px away (match), one point 30 px away (no match)
    res = match_points("<c1,CAM_FRONT,805.0,452.0> <c2,CAM_FRONT_RIGHT,330.0,500.0>", truth)
    assert (res.true_positives, res.false_positives, res.false_negatives) == (1, 1, 1)
    assert res.matched_truth == [(800.0, 450.0)]
    assert res.f1 == pytest.approx(0.5, abs=1e-6) and res.f1 == _f1(1, 1, 1)
    # 16 px is not below 16 px
    assert match_points("810.0,456.0", "800.0,450.0").true_positives == 0
    assert match_points("810.0,455.5", "800.0,450.0").true_positives == 1
    # a trailing odd decimal of an answer is dropped; integers are not coordinates
    assert match_points("800.0,450.0,3.5", "800.0,450.0").f1 == _f1(1, 0, 0)
    assert match_points("800,450", "800.0,450.0").f1 == _f1(0, 0, 1) == 0.0
    # greedy: the first predicted point takes the nearest truth point, the second gets what is left
    res = match_points("100.0,100.0 101.0,100.0", "100.5,100.0 200.0,200.0")
    assert res.matched_truth == [(100.5, 100.0)] and res.true_positives == 1


def test_question_gate():
    found = [(800.0, 450.0)]
    assert question_in_graph("What is <c1,CAM_FRONT,800.0,450.0> doing?", found)
    assert not question_in_graph("Is <c2,CAM_FRONT_RIGHT,300.0,500.0> a sign?", found)
    assert question_in_graph("In this scenario, what are safe actions?", found)
    with pytest.raises(InputError, match="odd number of decimals"):
        question_in_graph("Is the gap 2.5 m?", found)


def test_partial_predictions_hand_computed(gt):
    """mini_pred_partial.json: frame 1 finds only c1, frame 2 finds nothing.
    Frame 1: q0 (language) scored; q1 about c1 scored (correct); q2 has no point -> scored, match F1 = 0.5;
    q3 about c2 skipped; q4 about c1 and q5 (no point) go to the judge; q6 wrong letter.
    Frame 2: q0 scored; q1, q2 about c1 skipped; q3 (behaviour, no point) scored, correct."""
    preds = F.load_predictions(FIX / "mini_pred_partial.json")
    res = evaluate(preds, gt)
    assert res["counts"] == {"accuracy": 3, "chatgpt": 2, "language": 2, "match": 1}
    assert res["skipped"] == 3
    assert res["accuracy"] == pytest.approx(2 / 3)
    assert res["match_f1"] == pytest.approx(100 * _f1(1, 1, 1), rel=1e-12)
    assert res["chatgpt"] is None and res["match"] is None and res["final"] is None
    assert res["partial"] is True
    assert set(res["language"]) == {"Bleu_1", "Bleu_2", "Bleu_3", "Bleu_4", "ROUGE_L", "CIDEr"}
    assert 0 < res["language"]["Bleu_1"] < 1


def test_judge_fills_gpt_parts_and_final(gt):
    preds = F.load_predictions(FIX / "mini_pred_partial.json")
    judge = ConstJudge(80.0)
    res = evaluate(preds, gt, judge=judge)
    assert res["chatgpt"] == 80.0
    assert res["match"] == pytest.approx((100 * _f1(1, 1, 1) + 80.0) / 2)
    expected = 0.4 * 0.8 + 0.2 * language_term(res["language"]) + 0.2 * res["match"] / 100 + 0.2 * (2 / 3)
    assert res["final"] == pytest.approx(expected, rel=1e-12)
    assert res["partial"] is False and res["judge"] == "const:80.0"
    # the judge saw the two planning questions and the match question, truth second
    assert len(judge.seen) == 3
    assert judge.seen[0] == ("Keep going.", "The action is to decelerate gradually. The reason is to keep a safe "
                                            "distance, high probability.")


def test_the_judges_ratings_report_their_progress(gt):
    """A judge model rates answers slowly: each rated pair advances a bar of the part it scores."""
    opened: dict[str, int] = {}
    done: dict[str, int] = {}

    def phases(name, total):
        opened[name], done[name] = total, 0
        return lambda n: done.__setitem__(name, done[name] + n)

    res = evaluate(F.load_predictions(FIX / "mini_pred_partial.json"), gt, judge=ConstJudge(80.0), progress=phases)
    assert opened == done == {"judge: GPT-scored answers": res["counts"]["chatgpt"], "judge: match answers": 1}
    opened.clear()
    evaluate(F.load_predictions(FIX / "mini_pred_partial.json"), gt, progress=phases)
    assert opened == {}  # no judge, no slow phase


def test_unreadable_ratings_are_not_invented(gt):
    preds = F.load_predictions(FIX / "mini_pred_partial.json")
    res = evaluate(preds, gt, judge=ConstJudge(None))
    assert res["chatgpt"] is None and res["final"] is None and res["partial"] is True
    assert res["judge_unrated"] == 3


def test_oracle_predictions_score_full(gt):
    oracle = {r.id: r.qa.answer for r in gt.iter_questions()}
    res = evaluate(oracle, gt, judge=ConstJudge(100.0))
    assert res["accuracy"] == 1.0 and res["skipped"] == 0
    assert res["counts"] == {"accuracy": 6, "chatgpt": 2, "language": 2, "match": 1}
    assert res["match_f1"] == pytest.approx(100.0, abs=1e-5)
    assert res["language"]["Bleu_4"] == pytest.approx(1.0, abs=1e-9)
    assert res["language"]["ROUGE_L"] == 1.0
    # identical texts: cosine 1 for every n (each text has n-grams the other lacks), times 10
    assert res["language"]["CIDEr"] == pytest.approx(10.0, abs=1e-9)
    # final = 0.4 * 1 + 0.2 * (1/3 + 1/3 + 10/30) + 0.2 * 1 + 0.2 * 1
    assert res["final"] == pytest.approx(1.0, abs=1e-6)


def test_accuracy_is_exact_string_equality(gt):
    answers = {r.id: r.qa.answer for r in gt.iter_questions()}
    answers[f"{SCENE}_{F1}_1"] = "The answer is B"
    answers[f"{SCENE}_{F1}_3"] = "No"
    res = evaluate(answers, gt)
    assert res["accuracy"] == pytest.approx(4 / 6)


@pytest.mark.parametrize("reply,rating", [("78", 78.0), (" 62.", 62.0), ("Score: 100", 100.0), ("0", 0.0),
                                          ("I cannot rate this", None), ("", None)])
def test_parse_rating(reply, rating):
    assert parse_rating(reply) == rating


def test_cli_evaluate_json(cli, tmp_path):
    code, out, err = cli(["drivelm", "evaluate", FIX / "mini_pred_partial.json", "--gt", FIX / "mini_eval.json",
                          "--json", tmp_path / "s.json"])
    assert code == 0, err
    assert "partial" in out and "skipped   3" in out
    res = json.loads((tmp_path / "s.json").read_text())
    assert set(res) >= {"accuracy", "match_f1", "language", "chatgpt", "match", "final", "partial", "counts"}
    assert res["chatgpt"] is None and res["final"] is None and res["partial"] is True
    assert res["counts"] == {"accuracy": 3, "chatgpt": 2, "language": 2, "match": 1}
    assert res["provenance"]["inputs"]["ground_truth"]["fingerprint"].startswith("sha256:")


def test_cli_evaluate_json_to_stdout_is_clean_json(cli):
    code, out, err = cli(["drivelm", "evaluate", FIX / "mini_pred_partial.json", "--gt", FIX / "mini_eval.json",
                          "--json", "-"])
    assert code == 0, err
    res = json.loads(out)  # the scores' lines went to standard error
    assert res["counts"]["accuracy"] == 3 and "skipped   3" in err


def test_cli_rejects_training_file_as_ground_truth(cli):
    code, _, err = cli(["drivelm", "evaluate", FIX / "mini_pred_partial.json", "--gt", FIX / "mini_train.json"])
    assert code == 2 and "has no 'tag'" in err


def test_cli_bad_judge_path(cli, tmp_path):
    code, _, err = cli(["drivelm", "evaluate", FIX / "mini_pred_partial.json", "--gt", FIX / "mini_eval.json",
                        "--judge", tmp_path / "no_model"])
    assert code == 2 and "--judge" in err


@pytest.mark.slow
def test_local_transformers_judge_runs_from_a_folder(tmp_path, gt):
    """A tiny random causal LM saved to a folder serves as judge; its replies are parsed or counted as unrated."""
    pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    from adsgen.drivelm.challenge.scoring import TransformersJudge

    corpus = [q.qa.question + " " + q.qa.answer for q in gt.iter_questions()] + [str(i) for i in range(101)]
    tok = Tokenizer(models.WordLevel(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator(corpus, trainers.WordLevelTrainer(special_tokens=["<pad>", "<unk>", "</s>"]))
    fast = transformers.PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", unk_token="<unk>",
                                                eos_token="</s>")
    fast.save_pretrained(tmp_path)
    config = transformers.LlamaConfig(vocab_size=fast.vocab_size, hidden_size=32, intermediate_size=64,
                                      num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=2,
                                      pad_token_id=fast.pad_token_id, eos_token_id=fast.eos_token_id)
    transformers.LlamaForCausalLM(config).save_pretrained(tmp_path)

    judge = TransformersJudge(tmp_path, max_new_tokens=3, batch_size=2)
    ratings = judge.rate([("Stop.", "Stop."), ("Go.", "Stop."), ("No.", "Yes.")])
    assert len(ratings) == 3 and all(r is None or 0 <= r <= 100 for r in ratings)
    res = evaluate(F.load_predictions(FIX / "mini_pred_partial.json"), gt, judge=judge)
    assert res["judge"] == f"transformers:{tmp_path.name}"
    rated_or_not = res["judge_unrated"] <= 3
    assert rated_or_not and (res["chatgpt"] is None or 0 <= res["chatgpt"] <= 100)
    assert (res["final"] is None) == (res["chatgpt"] is None or res["match"] is None)


def test_predictions_for_unknown_ids_are_ignored_and_counted(gt):
    answers = {r.id: r.qa.answer for r in gt.iter_questions()}
    answers["other_scene_frame_0"] = "A"
    res = evaluate(answers, gt)
    assert res["ignored_predictions"] == 1 and res["accuracy"] == 1.0
