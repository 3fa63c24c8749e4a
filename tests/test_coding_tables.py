"""Readers of the official micro-expression coding tables, on every row of the real tables, and the
``frames`` sample kind through validate and extract on generated frame folders."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest

from apexbench.datasets import read_dataset
from apexbench.datasets.base import RawRow
from apexbench.datasets.coding_tables import FRAMES, frame_path, read_coding_table
from apexbench.errors import DatasetError
from apexbench.extract import decode_image, extract_samples
from apexbench.labels import DATASET_LABEL_MAPS, canonical_label, scheme_label
from apexbench.validate import validate_rows

from conftest import shared_path

TABLES = "data", "microexpr-annotations"


def table(*parts: str) -> Path:
    return shared_path(*TABLES, *parts)


def rows_of(fmt: str, *parts: str) -> list[RawRow]:
    return read_dataset({"format": fmt, "table": str(table(*parts))})


def check_common(rows: list[RawRow], fmt: str) -> None:
    """Every row: a frames sample, integer onset <= apex, unique id, label known to the dataset map."""
    assert len({r.sample_id for r in rows}) == len(rows)
    label_map = DATASET_LABEL_MAPS[fmt]
    for r in rows:
        assert r.kind == FRAMES and "{frame" in r.source
        assert isinstance(r.onset, int) and isinstance(r.apex, int)
        assert r.offset is None or isinstance(r.offset, int)
        assert canonical_label(r.label, label_map) is not None, (r.sample_id, r.label)


def test_casme2_2014_every_row():
    rows = rows_of("casme2", "CASME2", "CASME2-coding-20140508.xlsx")
    check_common(rows, "casme2")
    assert len(rows) == 255 and len({r.subject for r in rows}) == 26
    assert Counter(r.label for r in rows) == {"others": 99, "disgust": 63, "happiness": 32, "repression": 27,
                                              "surprise": 25, "sadness": 7, "fear": 2}
    first, last = rows[0], rows[-1]
    assert (first.sample_id, first.subject, first.onset, first.apex, first.offset, first.label, first.row) == (
        "sub01/EP02_01f", "01", 46, 59, 86, "happiness", 2)
    assert frame_path(first.source, 46) == "sub01/EP02_01f/img46.jpg"
    assert (last.sample_id, last.onset, last.apex, last.offset, last.label) == ("sub26/EP18_51", 21, 64, 81, "disgust")
    # The 2014 coding has every APEX inside [onset, offset].
    assert all(r.onset <= r.apex <= r.offset for r in rows)


def test_casme2_2018_every_row_and_its_order_errors():
    rows = rows_of("casme2", "CASME2-coding-20181220.xlsx")
    check_common(rows, "casme2")
    assert len(rows) == 247 and len({r.subject for r in rows}) == 26
    assert Counter(r.label for r in rows) == {"others": 99, "disgust": 64, "happiness": 32, "repression": 27,
                                              "surprise": 25}
    by_id = {r.sample_id: r for r in rows}
    assert (by_id["sub07/EP06_01"].onset, by_id["sub07/EP06_01"].apex, by_id["sub07/EP06_01"].offset) == (56, 49, 116)
    disordered = sorted(r.sample_id for r in rows if not r.onset <= r.apex <= r.offset)
    assert len(disordered) == 18 and disordered[0] == "sub05/EP03_01" and disordered[-1] == "sub25/EP18_04f"
    # The 2014 and 2018 codings: 9 clips dropped, 1 added, labels unchanged where both code a clip.
    old = {r.sample_id: r for r in rows_of("casme2", "CASME2", "CASME2-coding-20140508.xlsx")}
    assert sorted(set(old) - set(by_id)) == [
        "sub09/EP13_02", "sub10/EP13_01", "sub17/EP15_01", "sub17/EP15_03", "sub19/EP19_04", "sub24/EP07_01",
        "sub24/EP07_04f", "sub24/EP10_03", "sub26/EP15_01"]
    assert sorted(set(by_id) - set(old)) == ["sub24/EP02_07"]
    assert all(old[k].label == by_id[k].label for k in set(old) & set(by_id))


def test_samm_every_row():
    rows = rows_of("samm", "SAMM", "SAMM.xlsx")
    check_common(rows, "samm")
    assert len(rows) == 159 and len({r.subject for r in rows}) == 29
    assert Counter(r.label for r in rows) == {"Anger": 57, "Other": 26, "Happiness": 26, "Surprise": 15,
                                              "Contempt": 12, "Disgust": 9, "Fear": 8, "Sadness": 6}
    first = rows[0]
    assert (first.sample_id, first.subject, first.onset, first.apex, first.offset) == ("006_1_2", "006", 5562, 5588, 5632)
    assert frame_path(first.source, first.apex) == "006/006_1_2/006_05588.jpg"
    assert all(r.onset <= r.apex <= r.offset for r in rows)
    # Duration in the table is offset - onset + 1 on every row.
    assert all(int(r.original["Duration"]) == r.offset - r.onset + 1 for r in rows)


def test_smic_every_row():
    rows = rows_of("smic", "SMIC", "smic_apex.xlsx")
    check_common(rows, "smic")
    assert len(rows) == 164 and len({r.subject for r in rows}) == 16
    assert Counter(r.label for r in rows) == {"negative": 70, "positive": 51, "surprise": 43}
    # The label code agrees with the clip name on every row (ne / po / sur).
    assert all(r.sample_id.split("_")[1] == {"negative": "ne", "positive": "po", "surprise": "sur"}[r.label]
               for r in rows)
    assert sorted(r.sample_id for r in rows if r.offset is None) == [
        "s1_ne_02", "s2_sur_05", "s3_ne_03", "s3_ne_20", "s4_ne_05", "s4_ne_06", "s9_sur_02"]
    by_id = {r.sample_id: r for r in rows}
    r = by_id["s14_ne_01"]
    assert r.subject == "s14" and (r.onset, r.apex, r.offset) == (34208, 34238, 34258)
    # Our frame paths reproduce the table's own path columns (6-digit zero padding)...
    for row in rows:
        if row.original["onset_frame_path"]:
            assert "smic/HS_long/SMIC_HS_E/" + frame_path(row.source, row.onset) == row.original["onset_frame_path"]
    # ...except 4 clips whose apex path disagrees with the apex number by one frame.
    off = sorted(row.sample_id for row in rows if row.original["apex_frame_path"]
                 and not row.original["apex_frame_path"].endswith(frame_path(row.source, row.apex)))
    assert off == ["s3_ne_16", "s3_po_08", "s3_sur_01", "s3_sur_05"]


def test_casme3_every_row():
    rows = rows_of("casme3", "CASME3", "casme3_table.xlsx")
    check_common(rows, "casme3")
    assert len(rows) == 860 and len({r.subject for r in rows}) == 94
    labels = Counter(canonical_label(r.label, DATASET_LABEL_MAPS["casme3"]) for r in rows)
    assert labels == {"disgust": 250, "surprise": 187, "others": 161, "fear": 86, "anger": 64, "sadness": 57,
                      "happiness": 55}
    assert rows[0].sample_id == "spNO.1/a/355" and frame_path(rows[0].source, 355) == "spNO.1/a/color/355.jpg"


@pytest.mark.parametrize("name, n, subjects", [
    ("training_full_with_AU.xlsx", 1856, 176), ("testA_full_with_AU.xlsx", 474, 42), ("testB_full_with_AU.xlsx", 299, 41)])
def test_dfme_every_row(name, n, subjects):
    rows = rows_of("dfme", "DFME", name)
    check_common(rows, "dfme")
    assert len(rows) == n and len({r.subject for r in rows}) == subjects
    # EmotionId agrees with the emotion name on every row.
    ids = {(r.label, r.original["EmotionId"]) for r in rows}
    assert ids == {("anger", "0"), ("contempt", "1"), ("disgust", "2"), ("fear", "3"), ("happiness", "4"),
                   ("sadness", "5"), ("surprise", "6")}


def test_schemes_on_casme2_labels():
    rows = rows_of("casme2", "CASME2", "CASME2-coding-20140508.xlsx")
    canon = [canonical_label(r.label, DATASET_LABEL_MAPS["casme2"]) for r in rows]
    assert Counter(scheme_label(c, "casme4") for c in canon) == {
        "other": 99, "negative": 63 + 27 + 7 + 2, "positive": 32, "surprise": 25}
    megc = Counter(scheme_label(c, "megc3") for c in canon)
    assert megc == {None: 99, "negative": 99, "positive": 32, "surprise": 25}


def test_wrong_format_names_the_missing_columns(tmp_path):
    with pytest.raises(DatasetError, match="lacks column"):
        read_coding_table(table("SAMM", "SAMM.xlsx"), "casme2")
    with pytest.raises(DatasetError, match="does not exist"):
        read_coding_table(tmp_path / "none.xlsx", "samm")


# ---------- frames kind on generated frame folders ----------

def write_frames(root: Path, source: str, frames: range, size: int = 32) -> None:
    for n in frames:
        path = root / frame_path(source, n)
        path.parent.mkdir(parents=True, exist_ok=True)
        image = np.full((size, size, 3), (n * 7) % 256, np.uint8)
        cv2.imwrite(str(path), image)


def test_csv_export_and_frame_template_override(tmp_path):
    csv = tmp_path / "coding.csv"
    csv.write_text("Subject,Filename,OnsetFrame,ApexFrame,OffsetFrame,Action Units,Estimated Emotion\n"
                   "01,EP02_01f,46,59,86,12,happiness\n")
    rows = read_dataset({"format": "casme2", "table": str(csv), "frame_template": "sub{subject}/{clip}/reg_img{frame}.jpg"})
    assert rows[0].source == "sub01/EP02_01f/reg_img{frame}.jpg" and rows[0].row == 2


def test_validate_and_extract_frames(tmp_path):
    """Onset and APEX images are read directly; missing images, order errors and blank offsets."""
    csv = tmp_path / "smic.csv"
    csv.write_text(
        "data,subject,clip,label,onset_frame,apex_frame,offset_frame\n"
        "smic,3,s3_ne_01,0,34208,34210,34215\n"   # fine: frames 034208.. exist
        "smic,3,s3_po_01,1,100,104,\n"            # blank offset: accepted
        "smic,4,s4_sur_01,2,10,12,11\n"           # apex after offset: index_order
        "smic,4,s4_ne_01,0,50,52,60\n"            # apex image missing: missing_file
    )
    rows = read_dataset({"format": "smic", "table": str(csv)})
    root = tmp_path / "SMIC_HS_E"
    write_frames(root, rows[0].source, range(34208, 34216))
    write_frames(root, rows[1].source, range(100, 105))
    write_frames(root, rows[2].source, range(10, 13))
    write_frames(root, rows[3].source, range(50, 51))
    assert (root / "s03/s3_ne_01/image034210.jpg").is_file()
    samples, rejected = validate_rows(rows, root, DATASET_LABEL_MAPS["smic"], 4)
    assert samples["sample_id"].tolist() == ["s3_ne_01", "s3_po_01"]
    assert dict(zip(rejected["sample_id"], rejected["reason"])) == {"s4_sur_01": "index_order", "s4_ne_01": "missing_file"}
    ok = samples.set_index("sample_id")
    assert ok.loc["s3_ne_01", "frame_count"] == 8
    assert str(ok.loc["s3_po_01", "offset"]) == "<NA>" and ok.loc["s3_ne_01", "kind"] == "frames"
    frames = extract_samples(samples, root, {"detector": "none", "min_score": 0.5, "model_selection": 0,
                                             "crop_size": 32, "margin": 0.0, "jpeg_quality": 95})
    first = frames.set_index("sample_id").loc["s3_ne_01"]
    # The APEX crop is frame 34210's image, the onset crop frame 34208's (gray levels 34210*7 % 256...).
    assert int(decode_image(first["face_crop"]).mean().round()) == (34210 * 7) % 256
    assert int(decode_image(first["onset_crop"]).mean().round()) == (34208 * 7) % 256


def test_samm_rows_validate_and_extract_from_frames_laid_out_like_samm(tmp_path):
    """The real SAMM table's first clips, with frame images generated where SAMM keeps them
    (``006/006_1_2/006_05588.jpg``): accepted, and the crops are the onset and APEX images."""
    rows = rows_of("samm", "SAMM", "SAMM.xlsx")[:3]
    root = tmp_path / "SAMM"
    for row in rows:
        write_frames(root, row.source, range(row.onset, row.offset + 1))
    assert (root / "006/006_1_2/006_05588.jpg").is_file()
    samples, rejected = validate_rows(rows, root, DATASET_LABEL_MAPS["samm"], 4)
    assert rejected.empty and samples["sample_id"].tolist() == [r.sample_id for r in rows]
    assert (samples["kind"] == "frames").all()
    assert samples["frame_count"].tolist() == [r.offset - r.onset + 1 for r in rows]
    frames = extract_samples(samples, root, {"detector": "none", "min_score": 0.5, "model_selection": 0,
                                             "crop_size": 32, "margin": 0.0, "jpeg_quality": 95}).set_index("sample_id")
    for row in rows:
        assert int(decode_image(frames.loc[row.sample_id, "face_crop"]).mean().round()) == (row.apex * 7) % 256
        assert int(decode_image(frames.loc[row.sample_id, "onset_crop"]).mean().round()) == (row.onset * 7) % 256
