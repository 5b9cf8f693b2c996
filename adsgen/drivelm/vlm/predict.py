"""Answering DriveLM questions with a (fine-tuned) LLaVA: batched greedy generation with left padding.

Multiple-choice and yes/no answers are reduced to the exact form the metric compares ("A", "Yes.");
with chain-of-thought the model reasons first and the answer after its last "Answer:" is taken.
Output: the ``[{id, question, answer}]`` list that ``adsgen drivelm submit`` takes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal, get_args

from adsgen.drivelm.progress import Advance, Phases, silent
from adsgen.drivelm.vlm.adapters import check_card_matches, load_adapter, read_card
from adsgen.drivelm.vlm.budget import context_length
from adsgen.drivelm.vlm.data import Sample, check_images, read_samples
from adsgen.drivelm.vlm.inputs import InputBuilder
from adsgen.drivelm.vlm.model import VLM, encode_prompts, inspect_base, load_base, require_vlm
from adsgen.drivelm.vlm.prompts import MC, YES_NO, exact_answer, options_of, question_kind
from adsgen.drivelm.vlm.tiny import TINY, ensure_tiny
from adsgen.drivelm.vlm.zoom import ZOOM_CALL_NEW_TOKENS, parse_zoom
from adsgen.errors import InputError

McAnswerForm = Literal["letter", "text"]  # what an adapter was trained to say for multiple choice (its card)
MC_ANSWER_FORMS: tuple[McAnswerForm, ...] = get_args(McAnswerForm)


@dataclass(frozen=True)
class GenerationOptions:
    """How answers are generated."""

    batch_size: int = 8
    """Questions per generate() call."""
    max_new_tokens: int = 64
    """Token budget for open questions."""
    short_new_tokens: int = 8
    """Token budget for multiple-choice / yes/no questions without chain-of-thought."""
    cot_new_tokens: int = 128
    """Token budget for multiple-choice / yes/no questions with chain-of-thought."""


def resolve_base(base: str | None, adapter: str | Path | None, corpus: Callable[[], list[str]]) -> str:
    """The base model folder: a path; for None (or 'tiny' with an adapter) the base the adapter's card names
    (a relative path there is relative to the adapter folder); for 'tiny' alone a tiny built on corpus()."""
    if base is None or (base == TINY and adapter is not None):
        if adapter is None:
            raise InputError("--base: give a local LLaVA folder or 'tiny' (or an --adapter, whose card names its base)")

        card = read_card(adapter)
        if not Path(card.base_path).is_dir():
            raise InputError(f"adapter {adapter}: its base {card.base_path} is not there; give the base with --base PATH")
        return card.base_path
    if base != TINY:
        inspect_base(base)  # fail before anything heavy
        return base

    return str(ensure_tiny(corpus()))


def load_for_inference(base: str | None, adapter: str | Path | None, corpus: Callable[[], list[str]],
                       progress: Phases | None = None) -> VLM:
    """Base (path, 'tiny', or None for the adapter card's base) plus optional adapter, checked against each
    other before weights load. Progress: one phase 'load model' (base checked, weights, adapter)."""
    step = (progress or silent)("load model", 2 if adapter is None else 3)
    path = resolve_base(base, adapter, corpus)
    info = inspect_base(path)
    if adapter is not None:

        check_card_matches(read_card(adapter), info, adapter)
    step(1)
    vlm = load_base(path)
    step(1)
    if adapter is not None:

        vlm.model = load_adapter(vlm.model, adapter, info)
        vlm.model.eval()
        step(1)
    return vlm


def _budget(sample: Sample, cot: bool, options: GenerationOptions) -> int:
    if question_kind(sample.question) in (MC, YES_NO):
        return options.cot_new_tokens if cot else options.short_new_tokens
    return options.max_new_tokens


def generate_texts(vlm: VLM, texts: Sequence[str], images: Sequence[Sequence[Any]], max_new_tokens: int) -> list[str]:
    """Greedy answers to one batch of user texts, each with its camera images (left padded)."""
    torch, _ = require_vlm()
    tokenizer = vlm.processor.tokenizer

    enc = encode_prompts(vlm, texts, images, padding_side="left")
    room = context_length(vlm.model) - enc["input_ids"].shape[1]  # positions left after the longest prompt
    with torch.no_grad():
        out = vlm.model.generate(**enc, max_new_tokens=max(1, min(max_new_tokens, room)), do_sample=False,
                                 pad_token_id=tokenizer.pad_token_id)
    new_tokens = out[:, enc["input_ids"].shape[1]:]  # (batch, generated)
    return [t.strip() for t in tokenizer.batch_decode(new_tokens, skip_special_tokens=True)]


def generate_answers(vlm: VLM, samples: Sequence[Sample], builder: InputBuilder,
                     options: GenerationOptions = GenerationOptions(),
                     progress: Advance | None = None) -> list[str]:
    """Raw generated text per sample (batched by token budget, left padded, greedy); ``progress`` is
    advanced by each batch's size."""
    order = sorted(range(len(samples)), key=lambda i: _budget(samples[i], builder.cot, options))
    answers: list[str] = [""] * len(samples)
    for start in range(0, len(order), options.batch_size):
        idx = order[start:start + options.batch_size]
        batch = [samples[i] for i in idx]
        budget = max(_budget(s, builder.cot, options) for s in batch)
        texts = generate_texts(vlm, [builder.text(s) for s in batch], [builder.load_images(s) for s in batch],
                               budget)
        for i, text in zip(idx, texts, strict=True):
            answers[i] = text
        if progress:
            progress(len(batch))
    return answers


def predictions(samples: Sequence[Sample], raw: Sequence[str]) -> list[dict[str, str]]:
    """The {id, question, answer} list, MC / yes-no answers reduced to the exact form."""
    return [{"id": s.id, "question": s.question, "answer": exact_answer(text, s.question)}
            for s, text in zip(samples, raw, strict=True)]


def exact_candidates(question: str) -> list[str] | None:
    """The answers in the metric's exact form for a MC / yes-no question (None for open questions)."""
    kind = question_kind(question)
    if kind == MC:
        return list(options_of(question)) or ["A", "B", "C", "D"]
    if kind == YES_NO:
        return ["Yes.", "No."]
    return None


def most_likely(vlm: VLM, text: str, images: Sequence[Any], prefix: str, candidates: Sequence[str]) -> str:
    """The candidate the model finds most likely after the prompt and ``prefix``."""
    scores = candidate_scores(vlm, text, images, prefix, candidates)
    return candidates[max(range(len(candidates)), key=scores.__getitem__)]


def candidate_scores(vlm: VLM, text: str, images: Sequence[Any], prefix: str, candidates: Sequence[str]
                     ) -> list[float]:
    """Per candidate, the log-probability of saying exactly it after the prompt and ``prefix`` (its tokens
    and the end-of-sequence token). One batched forward pass over every candidate (right padded)."""
    torch, _ = require_vlm()
    tokenizer = vlm.processor.tokenizer
    enc = encode_prompts(vlm, [text], [list(images)])
    prompt = enc["input_ids"][0]  # (P,)
    lead = tokenizer(prefix, add_special_tokens=False)["input_ids"] if prefix else []
    tails = [lead + tokenizer(" " + c, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
             for c in candidates]
    n, p, longest = len(candidates), len(prompt), max(len(t) for t in tails)
    ids = torch.full((n, p + longest), tokenizer.pad_token_id, dtype=torch.long, device=prompt.device)  # (N, L)
    mask = torch.zeros_like(ids)
    for k, tail in enumerate(tails):
        ids[k, :p] = prompt
        ids[k, p:p + len(tail)] = torch.tensor(tail, device=prompt.device)
        mask[k, :p + len(tail)] = 1
    images_enc = {key: torch.cat([v] * n) for key, v in enc.items() if key not in ("input_ids", "attention_mask")}
    with torch.no_grad():
        logp = torch.log_softmax(vlm.model(input_ids=ids, attention_mask=mask, **images_enc).logits.float(),
                                 dim=-1)  # (N, L, V)
    scores = []
    for k, tail in enumerate(tails):
        start = p + len(lead)  # first candidate token
        positions = torch.arange(start - 1, p + len(tail) - 1, device=ids.device)  # logits that predict it
        scores.append(float(logp[k, positions, ids[k, start:p + len(tail)]].sum()))
    return scores


def most_likely_option(vlm: VLM, text: str, images: Sequence[Any], question: str, prefix: str = "") -> str:
    """The letter of the listed option whose text the model finds most likely (how an adapter trained on
    option texts answers multiple choice)."""
    options = options_of(question)
    letters, texts = list(options), list(options.values())
    scores = candidate_scores(vlm, text, images, prefix, texts)
    return letters[max(range(len(texts)), key=scores.__getitem__)]


def _scores_options(sample: Sample, mc_answers: McAnswerForm) -> bool:
    """A multiple-choice question answered by scoring its options' texts (adapters trained on texts)."""
    return mc_answers == "text" and question_kind(sample.question) == MC and bool(options_of(sample.question))


def _needs_scoring(sample: Sample, answer: str, cot: bool, mc_answers: McAnswerForm) -> bool:
    """The answer is read by scoring candidates: options' texts (mc_answers='text', unless the reasoning
    ended on a listed letter), or the exact forms when the text gave none."""
    if _scores_options(sample, mc_answers) and not (cot and answer in options_of(sample.question)):
        return True
    candidates = exact_candidates(sample.question)
    return candidates is not None and answer not in candidates


def answer_rows(vlm: VLM, samples: Sequence[Sample], raw: Sequence[str], builder: InputBuilder,
                mc_answers: McAnswerForm = "letter", progress: Phases | None = None,
                inputs: dict[int, tuple[str, list[Any]]] | None = None) -> tuple[list[dict[str, str]], int]:
    """Predictions in exact form: the reduced answer, or, when the text gives none, the exact-form
    candidate the model itself finds most likely (after its reasoning with --cot). Returns (rows, fallbacks).

    With ``mc_answers='text'`` (the adapter learned to say the option's text) every multiple-choice
    answer is the letter of the listed option whose text the model finds most likely; those are not
    counted as fallbacks. Progress: a phase 'score options' over the questions scored either way.
    ``inputs``: sample index -> (user text, images) to score with instead of the builder's (the second turn
    after a zoom call)."""
    if mc_answers not in MC_ANSWER_FORMS:
        raise InputError(f"mc_answers {mc_answers!r}: expected one of {MC_ANSWER_FORMS}")
    rows = predictions(samples, raw)
    todo = [i for i, row in enumerate(rows) if _needs_scoring(samples[i], row["answer"], builder.cot, mc_answers)]
    advance = (progress or silent)("score options", len(todo)) if todo else None
    fallbacks = 0
    for i in todo:
        s, row = samples[i], rows[i]
        prefix = (raw[i].rsplit("Answer:", 1)[0].strip() + " Answer:") if builder.cot else ""
        user, images = inputs[i] if inputs and i in inputs else (builder.text(s), builder.load_images(s))
        if _scores_options(s, mc_answers) and not (builder.cot and row["answer"] in options_of(s.question)):
            row["answer"] = most_likely_option(vlm, user, images, s.question, prefix)
        else:
            row["answer"] = most_likely(vlm, user, images, prefix, exact_candidates(s.question) or [])
            fallbacks += 1
        if advance is not None:
            advance(1)
    return rows, fallbacks


def answer_questions(vlm: VLM, samples: Sequence[Sample], builder: InputBuilder,
                     options: GenerationOptions = GenerationOptions(), *, mc_answers: McAnswerForm = "letter",
                     progress: Phases | None = None) -> tuple[list[dict[str, str]], int]:
    """Answer every question in exact form (generation, then :func:`answer_rows`). Multiple-choice
    questions that are answered by scoring options (``mc_answers='text'`` without chain-of-thought) are
    not generated for. Returns (rows, fallbacks). Progress: the phases 'answer' (generation), 'zoom turn'
    (second turns after zoom calls) and 'score options'.

    With ``builder.zoom`` every question is asked in a first turn; an answer that is a zoom call
    (adsgen.drivelm.vlm.zoom) is served with its crop and the question asked again with it (the second turn),
    whose answer counts. The calls made are in ``builder.zoom_calls``."""
    phases = progress or silent
    if builder.zoom:
        return _answer_with_zoom(vlm, samples, builder, options, mc_answers, phases)
    generate = [i for i, s in enumerate(samples) if builder.cot or not _scores_options(s, mc_answers)]
    texts = generate_answers(vlm, [samples[i] for i in generate], builder, options,
                             progress=phases("answer", len(generate)) if generate else None)
    raw = [""] * len(samples)
    for i, text in zip(generate, texts, strict=True):
        raw[i] = text
    return answer_rows(vlm, samples, raw, builder, mc_answers, phases)


def _answer_with_zoom(vlm: VLM, samples: Sequence[Sample], builder: InputBuilder, options: GenerationOptions,
                      mc_answers: McAnswerForm, phases: Phases) -> tuple[list[dict[str, str]], int]:
    first = replace(options, short_new_tokens=max(options.short_new_tokens, ZOOM_CALL_NEW_TOKENS))
    raw = generate_answers(vlm, samples, builder, first, progress=phases("answer", len(samples)))
    inputs: dict[int, tuple[str, list[Any]]] = {}
    for i, s in enumerate(samples):
        call = parse_zoom(raw[i], s)
        if call is not None:
            builder.zoom_calls[s.id] = call.text
            inputs[i] = builder.second_turn(s, call)
            raw[i] = ""
    again = [i for i in inputs if builder.cot or not _scores_options(samples[i], mc_answers)]
    advance = phases("zoom turn", len(again)) if again else None
    for start in range(0, len(again), options.batch_size):
        idx = again[start:start + options.batch_size]
        texts = generate_texts(vlm, [inputs[i][0] for i in idx], [inputs[i][1] for i in idx],
                               max(_budget(samples[i], builder.cot, options) for i in idx))
        for i, text in zip(idx, texts, strict=True):
            raw[i] = text
        if advance is not None:
            advance(len(idx))
    return answer_rows(vlm, samples, raw, builder, mc_answers, phases, inputs=inputs)


def load_questions(path: str | Path, *, cameras: Sequence[str] | None = None,
                   image_root: str | Path | None = None) -> list[Sample]:
    """Questions (nested or flattened file) with every image checked to exist."""
    samples = read_samples(path, cameras=cameras, image_root=image_root)
    if not samples:
        raise InputError(f"{path}: no questions")
    check_images(samples, path)
    return samples
