"""What the model sees: depth words (simulator depth or a depth model folder) and object crops."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from adsgen.drivelm.vlm.data import read_samples
from adsgen.drivelm.vlm.inputs import InputBuilder
from adsgen.errors import InputError

_spec = importlib.util.spec_from_file_location("vlm_synthetic", Path(__file__).parent / "fixtures/vlm/synthetic.py")
synthetic = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(synthetic)


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    path = synthetic.make(tmp_path_factory.mktemp("syn"), scenes=1, frames=1)
    return read_samples(path)


def test_sim_depth_words_come_from_key_object_infos(samples):
    colour_q = samples[0]
    tag, obj = next(iter(colour_q.objects.items()))
    text = InputBuilder(depth="sim").text(colour_q)
    assert text.startswith(f"Depth: the car {tag} is ") and f"about {obj.depth_m:.0f} m away" in text
    assert text.endswith(colour_q.question)
    assert InputBuilder(depth="none").text(colour_q) == colour_q.question


def test_sim_depth_without_depth_m_is_a_clear_error(samples):
    from dataclasses import replace

    bare = replace(samples[0], objects={t: replace(o, extra={}) for t, o in samples[0].objects.items()})
    with pytest.raises(InputError, match="--depth sim needs a depth_m"):
        InputBuilder(depth="sim").text(bare)


def test_a_depth_folder_that_is_not_a_model_is_refused(tmp_path):
    with pytest.raises(InputError, match="not a local model folder"):
        InputBuilder(depth=str(tmp_path))


def _depth_model(folder: Path, kind: str) -> Path:
    transformers = pytest.importorskip("transformers")
    backbone = transformers.Dinov2Config(hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                         intermediate_size=64, image_size=28, patch_size=14,
                                         out_features=["stage1", "stage2"], reshape_hidden_states=False)
    config = transformers.DepthAnythingConfig(backbone_config=backbone, reassemble_hidden_size=32,
                                              neck_hidden_sizes=[16, 32], fusion_hidden_size=16, head_hidden_size=8,
                                              reassemble_factors=[2, 1], depth_estimation_type=kind, max_depth=80)
    transformers.DepthAnythingForDepthEstimation(config).save_pretrained(folder)
    transformers.DPTImageProcessorPil(size={"height": 28, "width": 28}, keep_aspect_ratio=False,
                                      ensure_multiple_of=14).save_pretrained(folder)
    return folder


@pytest.mark.parametrize(("kind", "says"), [("metric", " m away"), ("relative", "relative inverse depth")])
def test_depth_model_words_say_metres_or_relative_inverse_depth(samples, tmp_path, kind, says):
    pytest.importorskip("torch")
    builder = InputBuilder(depth=str(_depth_model(tmp_path / kind, kind)))
    text = builder.text(samples[0])
    assert text.startswith("Depth: the object <c1,CAM_FRONT,") and says in text
    if kind == "relative":
        assert " m away" not in text


def _challenge_file(nested: Path, out: Path) -> Path:
    """The challenge's flattened question list for a nested file (no key_object_infos, no boxes, no answers)."""
    import json

    rows = []
    for scene, sd in json.loads(nested.read_text()).items():
        for frame, fd in sd["key_frames"].items():
            qs = [q for sec in ("perception", "prediction", "planning", "behavior") for q in fd["QA"][sec]]
            rows += [{"id": f"{scene}_{frame}_{i}", "image": [fd["image_paths"]["CAM_FRONT"]],
                      "conversations": [{"from": "human", "value": "<image>\n" + q["Q"]}]} for i, q in enumerate(qs)]
    out.write_text(json.dumps(rows))
    return out


def test_a_challenge_file_gets_the_same_depth_words_as_the_boxed_file(tmp_path):
    pytest.importorskip("torch")
    nested = synthetic.make(tmp_path / "syn", scenes=2, frames=2)
    flat = _challenge_file(nested, nested.parent / "questions.json")
    model = str(_depth_model(tmp_path / "metric", "metric"))
    boxed = {s.id: InputBuilder(depth=model).text(s) for s in read_samples(nested)}
    challenge = {s.id: InputBuilder(depth=model).text(s) for s in read_samples(flat)}
    assert boxed.keys() == challenge.keys() and len(boxed) == 12
    assert challenge == boxed
    # every question carries depth words, the untagged ones for the frame's tagged object
    assert all(t.startswith("Depth: the object <c1,CAM_FRONT,") for t in challenge.values())


def test_pedestrian_nouns_are_the_person_not_the_shirt():
    from adsgen.drivelm.vlm.depth import category_words

    assert category_words("Pedestrian", "Pedestrian in a blue shirt.") == "pedestrian"
    assert category_words("Vehicle", "Black sedan.") == "sedan"
    assert category_words("Vehicle", None) == "vehicle"



def test_object_crops_show_the_tagged_object(samples):
    import numpy as np

    colour_q, left_q = samples[0], samples[1]
    builder = InputBuilder(object_crops=True)
    cameras = builder.camera_images(colour_q)
    images = builder.load_images(colour_q)
    assert len(images) == len(cameras) + 1  # one tagged object -> one crop
    crop = np.asarray(images[-1]).reshape(-1, 3)
    box = next(iter(colour_q.objects.values())).bbox_2d
    box_colour = np.asarray(cameras[0])[int(box[1] / 10) + 2, int(box[0] / 10) + 2]
    assert (crop == box_colour).all(axis=1).mean() > 0.1  # the object fills a good part of the crop
    assert len(builder.load_images(left_q)) == len(cameras)  # no tag, no crop
    blank = InputBuilder(object_crops=True, images="blank").load_images(colour_q)
    assert not np.asarray(blank[-1]).any()


def test_crop_stays_inside_the_image():
    from PIL import Image

    from adsgen.drivelm.vlm.inputs import crop_around

    image = Image.new("RGB", (400, 225))
    crop = crop_around(image, 1590.0, 10.0)  # top-right corner of the 1600x900 frame
    assert crop.size == (80, 80)


def test_a_closing_speed_that_is_not_a_number_names_the_file_and_object(tmp_path):
    import json

    path = synthetic.make(tmp_path / "syn", scenes=1, frames=1)
    data = json.loads(path.read_text())
    frame = next(iter(next(iter(data.values()))["key_frames"].values()))
    tag = next(iter(frame["key_object_infos"]))
    frame["key_object_infos"][tag]["closing_mps"] = "fast"
    path.write_text(json.dumps(data))
    with pytest.raises(InputError, match=rf"{path.name}: .*frame .* object {re.escape(tag)}: 'closing_mps' must "
                                         "be a number, got 'fast'"):
        read_samples(path)
