"""The pieces of the formats: column mappings, UTF-16 offsets, pairing keypoints with boxes, warnings, the
prediction and gold payload fields, Label Studio config edge cases."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seatflow.errors import ImportFailed, ValidationFailed
from seatflow.formats._common import ImportContext, Mode, Warnings, pair_keypoints, strip_scores
from seatflow.formats.csvjsonl import parse_mapping, shape
from seatflow.formats.labelstudio import index_to_utf16, translate_config, utf16_to_index
from seatflow.services.items import worker_payload
from seatflow.worktypes import get_work_type

IMAGE = get_work_type("image_annotation")
TEXT = get_work_type("text_annotation")
SCHEMA = IMAGE.parse_schema(IMAGE.demo_schema())


def ctx(mode: Mode = Mode.GOLD, mapping: dict[str, str] | None = None) -> ImportContext:
    return ImportContext(project_slug="p", work_type="image_annotation", schema=IMAGE.demo_schema(), mode=mode,
                         mapping=mapping or {})


# -- column mapping ------------------------------------------------------------------------------


def test_parse_mapping() -> None:
    assert parse_mapping(["url=payload.image", " id = external_id", "label=answer.class", "junk=-"]) == {
        "url": "payload.image", "id": "external_id", "label": "answer.class", "junk": "-"}
    with pytest.raises(ImportFailed, match="write SOURCE=TARGET"):
        parse_mapping(["url"])
    with pytest.raises(ImportFailed, match="unknown target 'image'"):
        parse_mapping(["url=image"])


def test_a_csv_row_mapped_to_an_item_with_a_gold_answer() -> None:
    c = ctx(mapping=parse_mapping(["id=external_id", "url=payload.image", "w=payload.width", "h=payload.height",
                                   "quality=answer.class", "note=-"]))
    row = {"id": "a-1", "url": "s3/a.jpg", "w": 640, "h": 480, "quality": "usable", "note": "x", "camera": "A7"}
    item = shape(row, c, "f.csv:2", Path("f.csv"), True)
    assert item == {"external_id": "a-1", "payload": {"image": "s3/a.jpg", "width": 640, "height": 480,
                                                      "camera": "A7", "gold": {"class": "usable"}}}
    c.mode = Mode.PREDICTIONS
    c.mapping["m"] = "model"
    c.mapping["s"] = "score"
    item = shape({**row, "m": "resnet", "s": "0.75"}, c, "f.csv:2", Path("f.csv"), True)
    assert item["payload"]["predictions"] == {"class": "usable", "model": "resnet", "score": 0.75}
    c.mode = Mode.ITEMS
    item = shape(row, c, "f.csv:2", Path("f.csv"), True)
    assert "gold" not in item["payload"] and c.warnings.kinds["ignored-annotations"]["count"] == 1


def test_a_seatflow_jsonl_export_line_imports_as_gold() -> None:
    line = {"external_id": "x", "item_id": 9, "batch_id": 1, "payload": {"text": "hi"}, "answers": [],
            "answer": {"classes": ["a"]}, "done_at": None}
    c = ImportContext(project_slug="p", work_type="text_annotation", schema={"classes": ["a"]}, mode=Mode.GOLD)
    assert shape(line, c, "x.jsonl:1", Path("x.jsonl"), False) == {
        "external_id": "x", "payload": {"text": "hi", "gold": {"classes": ["a"]}}}


def test_a_bad_cell_names_its_column() -> None:
    c = ctx(mapping={"ans": "answer"})
    with pytest.raises(ImportFailed, match=r"f.csv:3: ans: is not valid JSON") as err:
        shape({"ans": "{oops"}, c, "f.csv:3", Path("f.csv"), True)
    assert err.value.field == "ans"


# -- UTF-16 offsets ------------------------------------------------------------------------------


@given(st.text(max_size=40))
def test_utf16_offsets_round_trip(text: str) -> None:
    for i in range(len(text) + 1):
        assert utf16_to_index(text, index_to_utf16(text, i)) == i
    assert index_to_utf16(text, len(text)) == len(text.encode("utf-16-le")) // 2


def test_utf16_offsets_of_an_emoji() -> None:
    text = "a😀b"
    assert [index_to_utf16(text, i) for i in range(4)] == [0, 1, 3, 4]


# -- objects -------------------------------------------------------------------------------------


def test_keypoint_sets_pair_with_the_nth_box_of_their_label() -> None:
    b1, b2, b3 = ({"label": "face", "n": 1}, {"label": "person", "n": 2}, {"label": "face", "n": 3})
    k1, k2, k3 = ({"label": "face", "k": 1}, {"k": 2}, {"label": "person", "k": 3})
    pairs = pair_keypoints({"boxes": [b1, b2, b3], "keypoints": [k1, k2, k3]}, "face")
    assert pairs == [(b1, k1), (b2, k3), (b3, k2)]
    lone = {"label": "face", "k": 4}
    assert pair_keypoints({"boxes": [b2], "keypoints": [lone]}, "face") == [(b2, None), (None, lone)]


def test_warnings_count_and_show_examples() -> None:
    w = Warnings()
    for i in range(7):
        w.add("rle", "RLE masks were not imported", f"annotations[{i}]")
    w.add("one", "a single thing", "here")
    assert w.lines() == ["RLE masks were not imported (7 times, e.g. annotations[0], annotations[1], "
                         "annotations[2], annotations[3], annotations[4])", "a single thing (here)"]


# -- payload fields ------------------------------------------------------------------------------


def _image(**extra: Any) -> dict[str, Any]:
    return {"image": "a.jpg", "width": 100, "height": 100, **extra}


def test_predictions_carry_a_model_scores_and_gold_is_an_answer() -> None:
    pred = {"model": "det-1", "score": 0.9, "class": "usable",
            "boxes": [{"label": "face", "x": 1, "y": 1, "w": 5, "h": 5, "score": 0.8}]}
    IMAGE.parse_payload(_image(predictions=pred, gold=strip_scores(pred)), SCHEMA)
    IMAGE.parse_payload(_image(predictions={"boxes": []}), SCHEMA)  # older predictions stay valid
    cases = [
        ({"predictions": {**pred, "score": 1.5}}, "payload.predictions.score"),
        ({"predictions": {"boxes": [{**pred["boxes"][0], "score": -1}]}}, "payload.predictions.boxes[0].score"),
        ({"gold": {"boxes": [{"label": "cat", "x": 1, "y": 1, "w": 5, "h": 5}]}}, "payload.gold.boxes[0].label"),
        ({"gold": {"boxes": [{"label": "face", "x": 1, "y": 1, "w": 5, "h": 5, "score": 0.5}]}},
         "payload.gold.boxes[0].score"),
        ({"gold": {"class": "nope"}}, "payload.gold.class"),
    ]
    for extra, field in cases:
        with pytest.raises(ValidationFailed) as err:
            IMAGE.parse_payload(_image(**extra), SCHEMA)
        assert err.value.field == field, (extra, err.value.detail)


def test_text_payload_predictions_and_gold() -> None:
    schema = TEXT.parse_schema({"classes": ["pos", "neg"], "span_labels": ["PER"]})
    TEXT.parse_payload({"text": "Ann", "gold": {"spans": [{"start": 0, "end": 3, "label": "PER"}]},
                        "predictions": {"classes": ["pos"], "model": "m", "score": 0.5}}, schema)
    with pytest.raises(ValidationFailed) as err:
        TEXT.parse_payload({"text": "Ann", "gold": {"spans": [{"start": 0, "end": 9, "label": "PER"}]}}, schema)
    assert err.value.field == "payload.gold.spans[0].end"


def test_skeleton_bones_join_two_points() -> None:
    bad = {**IMAGE.demo_schema()}
    bad["keypoints"] = {**bad["keypoints"], "skeleton": [[0, 1], [2, 9]]}
    with pytest.raises(ValidationFailed, match=r"label_schema.keypoints.skeleton\[1\]"):
        IMAGE.parse_schema(bad)


def test_workers_never_see_gold() -> None:
    payload = {"image": "a.jpg", "gold": {"class": "usable"}, "predictions": {"class": "usable"}}
    assert worker_payload(payload) == {"image": "a.jpg", "predictions": {"class": "usable"}}
    plain = {"text": "x"}
    assert worker_payload(plain) is plain


# -- Label Studio configs ------------------------------------------------------------------------


def test_config_edge_cases() -> None:
    tr = translate_config("""<View><Image name="img" value="$photo"/>
      <RectangleLabels name="r" toName="img"><Label value="A"/><Label value="B" hotkey="b"/></RectangleLabels>
      <Choices name="kind" toName="img" perRegion="true"><Choice value="x"/><Choice value="y"/></Choices>
      <Choices name="many" toName="img" choice="multiple"><Choice value="p"/></Choices>
      <Text name="caption" value="$caption"/>
      <Labels name="l" toName="caption"><Label value="L"/></Labels></View>""")
    assert tr.data_key == "photo"
    assert tr.label_schema == {"labels": [{"name": "A"}, {"name": "B", "key": "b"}], "tools": ["bbox"],
                               "attributes": [{"name": "kind", "type": "choice", "choices": ["x", "y"]}]}
    assert tr.unmapped == [
        'Text "caption": only the first object (Image "img") is annotated',
        'Choices "many": several whole-image classes at once; Seatflow images have one class',
        "Labels \"l\": it labels 'caption', not the annotated object 'img'",
    ]
    IMAGE.parse_schema(tr.label_schema)  # what the translation gives is a valid project schema
    with pytest.raises(ValidationFailed, match="config.xml:1: not valid XML"):
        translate_config("<View><Image", source="config.xml")
    with pytest.raises(ValidationFailed, match="refused"):
        translate_config('<!DOCTYPE x [<!ENTITY a "b">]><View>&a;</View>')
