"""Dataset readers: CMED-style CSVs, image folders, FER+ label.csv, and stable shard assignment."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import pytest
from conftest import shared_path

from apexbench.datasets import RawRow, read_dataset, shard_of
from apexbench.datasets.ferplus import VOTE_COLUMNS, majority_label
from apexbench.errors import ConfigError, DatasetError

HEADER = "sample_id,subject,video,onset,apex,offset,emotion"


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def cmed(table: Path, **cfg) -> list[RawRow]:
    return read_dataset({"format": "cmed_csv", "root": ".", "table": str(table), **cfg})


def dataset_error(cfg: dict, base_dir: Path | str = ".") -> str:
    """The message of the DatasetError that reading raises, checked to be one line."""
    with pytest.raises(DatasetError) as info:
        read_dataset(cfg, base_dir)
    message = str(info.value)
    assert "\n" not in message and message == info.value.one_line()
    return message


# --- cmed_csv -------------------------------------------------------------------------------------


def test_cmed_default_columns_relative_table(tmp_path):
    lines = ["s1,01,clips/a.mp4,10,15,20,Happy", "s2,02,clips/b.mp4,3,4,5,No Emotion"]
    write(tmp_path / "ann.csv", "\n".join([HEADER, *lines]) + "\n")
    rows = read_dataset({"format": "cmed_csv", "root": "media", "table": "ann.csv"}, base_dir=tmp_path)
    originals = [dict(zip(HEADER.split(","), line.split(","))) for line in lines]
    assert rows == [
        RawRow("s1", "01", "clips/a.mp4", "video", 10, 15, 20, "Happy", 2, originals[0]),
        RawRow("s2", "02", "clips/b.mp4", "video", 3, 4, 5, "No Emotion", 3, originals[1]),
    ]


def test_cmed_column_map_and_frame_base_1(tmp_path):
    table = write(tmp_path / "t.csv", "Clip,Subj,File,Start,Peak,End,Emo,Notes\nc7,S3,c7.avi,1,5,9,Sad,x\n")
    columns = {
        "id": "Clip",
        "subject": "Subj",
        "video": "File",
        "onset": "Start",
        "apex": "Peak",
        "offset": "End",
        "label": "Emo",
    }
    (row,) = cmed(table, columns=columns, frame_base=1)
    assert (row.sample_id, row.subject, row.source, row.label) == ("c7", "S3", "c7.avi", "Sad")
    assert (row.onset, row.apex, row.offset) == (0, 4, 8)
    assert row.original["Notes"] == "x" and row.original["Start"] == "1"


def test_cmed_partial_column_map_keeps_other_defaults(tmp_path):
    table = write(tmp_path / "t.csv", "sample_id,subject,video,onset,apex,offset,Label\ns1,1,v.mp4,0,1,2,Fear\n")
    (row,) = cmed(table, columns={"label": "Label"})
    assert row.label == "Fear" and row.sample_id == "s1"


def test_cmed_utf8_bom(tmp_path):
    table = tmp_path / "bom.csv"
    table.write_bytes(b"\xef\xbb\xbf" + f"{HEADER}\ns1,Zo\u00eb,v.mp4,0,1,2,Happy\n".encode())
    (row,) = cmed(table)
    assert row.sample_id == "s1" and row.subject == "Zo\u00eb"
    assert list(row.original)[0] == "sample_id"


def test_cmed_latin1(tmp_path):
    table = write(tmp_path / "l1.csv", f"{HEADER}\ns1,Zo\u00eb,v.mp4,0,1,2,Surprise\n", encoding="latin-1")
    assert b"Zo\xeb," in table.read_bytes()  # not valid UTF-8
    (row,) = cmed(table)
    assert row.subject == "Zo\u00eb" and row.label == "Surprise"


def test_cmed_windows_1252(tmp_path):
    table = write(tmp_path / "w.csv", f"{HEADER}\ns1,O\u2019Neil,v.mp4,0,1,2,Sad\n", encoding="cp1252")
    (row,) = cmed(table)
    assert row.subject == "O\u2019Neil"


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_cmed_sniffs_delimiter(tmp_path, delimiter):
    cells = ["s1", "Doe, J.", "v 1.mp4", "0", "3", "6", "No Emotion"]  # a comma inside a cell
    text = delimiter.join(HEADER.split(",")) + "\n" + delimiter.join(cells) + "\n"
    (row,) = cmed(write(tmp_path / "t.csv", text))
    assert (row.subject, row.source, row.apex, row.label) == ("Doe, J.", "v 1.mp4", 3, "No Emotion")


def test_cmed_frame_cells_kept_for_validation(tmp_path):
    text = f"{HEADER}\ns1, 01 , v.mp4 , 12 ,12.0,n/a, Happy \ns2,01,v.mp4,-3,,  ,Sad\ns3,01,v.mp4,+7,1_000,1e3,Sad\n"
    s1, s2, s3 = cmed(write(tmp_path / "t.csv", text))
    assert (s1.subject, s1.source, s1.label) == ("01", "v.mp4", "Happy")
    assert (s1.onset, s1.apex, s1.offset) == (12, "12.0", "n/a")
    assert s1.original["onset"] == " 12 " and s1.original["subject"] == " 01 "  # as read
    assert (s2.onset, s2.apex, s2.offset) == (-3, None, None)
    assert (s3.onset, s3.apex, s3.offset) == (7, "1_000", "1e3")


def test_cmed_frame_base_1_can_go_negative(tmp_path):
    (row,) = cmed(write(tmp_path / "t.csv", f"{HEADER}\ns1,1,v.mp4,0,1,2,Happy\n"), frame_base=1)
    assert (row.onset, row.apex, row.offset) == (-1, 0, 1)


def test_cmed_row_is_file_line_number(tmp_path):
    text = f'{HEADER}\ns1,1,v.mp4,0,1,2,Happy\n\n,,,,,,\ns2,1,"multi\nline.mp4",0,1,2,Sad\ns3,1,v.mp4,0,1,2,Fear\n'
    rows = cmed(write(tmp_path / "t.csv", text))
    assert [(r.sample_id, r.row) for r in rows] == [("s1", 2), ("s2", 5), ("s3", 7)]
    assert rows[1].source == "multi\nline.mp4"


def test_cmed_short_and_long_rows_do_not_raise(tmp_path):
    short, long = cmed(write(tmp_path / "t.csv", f"{HEADER}\ns1,1,v.mp4\ns2,1,v.mp4,0,1,2,Sad,extra\n"))
    assert (short.onset, short.apex, short.offset, short.label) == (None, None, None, "")
    assert short.original["emotion"] == ""
    assert long.label == "Sad" and long.original["column8"] == "extra"


def test_cmed_30000_rows_fast(tmp_path):
    body = "".join(f"s{i},sub{i % 40},v{i}.mp4,{i},{i + 3},{i + 9},Happy\n" for i in range(30_000))
    table = write(tmp_path / "big.csv", f"{HEADER}\n{body}")
    start = time.perf_counter()
    rows = cmed(table)
    assert time.perf_counter() - start < 2.0
    assert len(rows) == 30_000 and rows[-1].row == 30_001 and rows[-1].offset == 30_008


def test_cmed_missing_file(tmp_path):
    message = dataset_error({"format": "cmed_csv", "root": ".", "table": "nope.csv"}, tmp_path)
    assert str(tmp_path / "nope.csv") in message and "dataset.table" in message


@pytest.mark.parametrize("text", ["", "\n\n  \n", ",,,\n"], ids=["empty", "blank-lines", "blank-cells"])
def test_cmed_empty_file(tmp_path, text):
    table = write(tmp_path / "t.csv", text)
    message = dataset_error({"format": "cmed_csv", "root": ".", "table": str(table)})
    assert str(table) in message and "no rows" in message


def test_cmed_header_only(tmp_path):
    table = write(tmp_path / "t.csv", f"{HEADER}\n")
    message = dataset_error({"format": "cmed_csv", "root": ".", "table": str(table)})
    assert str(table) in message and "no rows" in message


def test_cmed_missing_columns(tmp_path):
    table = write(tmp_path / "t.csv", "sample_id,subject,clip,onset,apex,offset,label\ns1,1,v.mp4,0,1,2,Happy\n")
    message = dataset_error({"format": "cmed_csv", "root": ".", "table": str(table)})
    assert str(table) in message
    assert "'video'" in message and "'emotion'" in message and "'onset'" not in message.split("found")[0]
    assert "'clip'" in message and "'label'" in message  # the columns that were found
    assert "dataset.columns" in message


def test_cmed_single_column_means_wrong_delimiter(tmp_path):
    table = write(tmp_path / "t.csv", "sample_id:subject:video\ns1:1:v.mp4\n")
    message = dataset_error({"format": "cmed_csv", "root": ".", "table": str(table)})
    assert str(table) in message and "single column" in message and "delimiter" in message


def test_cmed_binary_file_is_not_decodable(tmp_path):
    table = tmp_path / "t.xlsx"
    table.write_bytes(b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(range(256)))
    message = dataset_error({"format": "cmed_csv", "root": ".", "table": str(table)})
    assert str(table) in message and "CSV" in message


def test_cmed_runaway_quote(tmp_path):
    table = write(tmp_path / "t.csv", f'{HEADER}\ns1,1,"v.mp4,0,1,2,Happy\n' + "x" * 200_000 + "\n")
    message = dataset_error({"format": "cmed_csv", "root": ".", "table": str(table)})
    assert str(table) in message and "line 2" in message


def test_cmed_duplicate_columns(tmp_path):
    table = write(tmp_path / "t.csv", f"{HEADER},subject\ns1,1,v.mp4,0,1,2,Happy,2\n")
    message = dataset_error({"format": "cmed_csv", "root": ".", "table": str(table)})
    assert str(table) in message and "'subject'" in message


# --- image_folder ---------------------------------------------------------------------------------


def make_tree(root: Path, files: list[str]) -> Path:
    """Files under root with placeholder bytes (the reader never opens them)."""
    for name in files:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"\x89PNG not really")
    return root


def test_image_folder_layout_and_filters(tmp_path):
    root = make_tree(
        tmp_path / "imgs",
        [
            "sad/b.jpg",
            "sad/a.PNG",
            "happy/z.jpeg",
            "happy/.hidden.png",
            "happy/notes.txt",
            "happy/nested/deep.png",
            ".cache/x.png",
            "stray.png",
        ],
    )
    rows = read_dataset({"format": "image_folder", "root": "imgs"}, base_dir=tmp_path)
    assert [(r.row, r.sample_id, r.source, r.label, r.subject) for r in rows] == [
        (1, "happy/z", "happy/z.jpeg", "happy", "z"),
        (2, "sad/a", "sad/a.PNG", "sad", "a"),
        (3, "sad/b", "sad/b.jpg", "sad", "b"),
    ]
    assert all(r.kind == "image" and (r.onset, r.apex, r.offset) == (0, 0, 0) for r in rows)
    assert rows[1].original == {"path": "sad/a.PNG", "label": "sad"}


def test_image_folder_subject_pattern_and_extensions(tmp_path):
    make_tree(tmp_path, ["anger/S010_004_00000017.png", "anger/S005_001_00000011.bmp", "fear/odd.png"])
    cfg = {"format": "image_folder", "root": str(tmp_path), "subject_pattern": r"^S(\d+)_"}
    assert [(r.source, r.subject) for r in read_dataset(cfg)] == [
        ("anger/S005_001_00000011.bmp", "005"),
        ("anger/S010_004_00000017.png", "010"),
        ("fear/odd.png", "odd"),  # no match: the stem
    ]
    only_png = read_dataset({**cfg, "image_extensions": ["PNG"]})
    assert [r.sample_id for r in only_png] == ["anger/S010_004_00000017", "fear/odd"]


@pytest.mark.parametrize("pattern", [r"^S\d+_", r"^S(\d+)_(\d+)", "(unclosed"])
def test_image_folder_bad_subject_pattern(tmp_path, pattern):
    make_tree(tmp_path, ["a/x.png"])
    with pytest.raises(ConfigError, match="subject_pattern"):
        read_dataset({"format": "image_folder", "root": str(tmp_path), "subject_pattern": pattern})


def test_image_folder_missing_or_empty_root(tmp_path):
    missing = tmp_path / "missing"
    assert str(missing) in dataset_error({"format": "image_folder", "root": str(missing)})
    make_tree(tmp_path / "empty", ["happy/readme.txt"])
    message = dataset_error({"format": "image_folder", "root": str(tmp_path / "empty")})
    assert str(tmp_path / "empty") in message and "no images" in message


def test_ckplus48_shared():
    root = shared_path("data", "ckplus48")
    rows = read_dataset({"format": "image_folder", "root": str(root), "subject_pattern": r"^S(\d+)_"})
    assert len(rows) == 981
    assert Counter(r.label for r in rows) == {
        "anger": 135,
        "contempt": 54,
        "disgust": 177,
        "fear": 75,
        "happy": 207,
        "sadness": 84,
        "surprise": 249,
    }
    assert len({r.subject for r in rows}) == 118
    assert rows[0].sample_id == "anger/S010_004_00000017" and rows[0].subject == "010"
    assert len({r.sample_id for r in rows}) == 981


def test_fer2013_publictest_shared():
    root = shared_path("data", "fer2013", "publictest")
    rows = read_dataset({"format": "image_folder", "root": str(root)})
    assert len(rows) == 3589
    assert {r.label for r in rows} == {"angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"}


# --- ferplus --------------------------------------------------------------------------------------

FERPLUS_VALID_COUNTS = {
    "neutral": 1329,
    "happiness": 899,
    "surprise": 458,
    "sadness": 415,
    "anger": 325,
    "fear": 71,
    "disgust": 32,
    "contempt": 26,
}


def test_ferplus_valid_shared_majority_counts():
    folder = shared_path("data", "ferplus-valid")
    rows = read_dataset({"format": "ferplus", "root": str(folder), "table": str(folder / "label.csv")})
    assert Counter(r.label for r in rows) == FERPLUS_VALID_COUNTS
    assert len(rows) == 3579 - 23 - 1 == 3555
    first = rows[0]  # fer0028638: neutral 4, contempt 4 -> tie, neutral comes first
    assert (first.sample_id, first.subject, first.source, first.label, first.row) == (
        "fer0028638",
        "fer0028638",
        "fer0028638.png",
        "neutral",
        1,
    )
    assert first.original["face_box"] == "(0, 0, 48, 48)" and first.original["contempt"] == "4"


def ferplus_line(image: str, **votes: int) -> str:
    counts = ",".join(str(votes.get(name, 0)) for name in VOTE_COLUMNS)
    return f'{image},"(0, 0, 48, 48)",{counts}'


def test_ferplus_ties_and_exclusions(tmp_path):
    lines = [
        ferplus_line("a.png", neutral=4, contempt=4, unknown=2),  # tie -> first in column order
        ferplus_line("b.png", happiness=5, surprise=5),
        ferplus_line("c.png", surprise=3, unknown=3, fear=1),  # tie with unknown -> surprise, kept
        ferplus_line("d.png", unknown=5, NF=5),  # excluded
        ferplus_line("e.png", anger=2, unknown=6),  # majority unknown: excluded
        ferplus_line("f.png", NF=10),  # excluded
        ferplus_line("g.png", fear=1, disgust=1, contempt=8),
        ferplus_line("h.png"),  # no votes: kept with an empty label for validate
        'i.png,"(0, 0, 48, 48)",1,x,0,0,0,0,0,0,0,0',  # unreadable vote
        "j.png,1,2",  # short row
    ]
    write(tmp_path / "label.csv", "\n".join(lines) + "\n")
    rows = read_dataset({"format": "ferplus", "root": ".", "table": "label.csv"}, base_dir=tmp_path)
    assert [(r.sample_id, r.label, r.row) for r in rows] == [
        ("a", "neutral", 1),
        ("b", "happiness", 2),
        ("c", "surprise", 3),
        ("g", "contempt", 7),
        ("h", "", 8),
        ("i", "", 9),
        ("j", "", 10),
    ]
    assert rows[-1].original == {"image": "j.png", "face_box": "1", "neutral": "2", **{c: "" for c in VOTE_COLUMNS[1:]}}


def test_majority_label_first_max():
    assert majority_label([0, 3, 3, 0, 0, 0, 0, 0, 0, 0]) == "happiness"
    assert majority_label([0, 0, 0, 0, 0, 0, 0, 2, 2, 2]) == "contempt"
    assert majority_label([0, 0, 0, 0, 0, 0, 0, 0, 1, 9]) == "NF"


def test_ferplus_wrong_layout(tmp_path):
    table = write(tmp_path / "label.csv", f"{HEADER}\ns1,1,v.mp4,0,1,2,Happy\n")
    message = dataset_error({"format": "ferplus", "root": ".", "table": str(table)})
    assert str(table) in message and "12" in message


# --- entry point and shards -----------------------------------------------------------------------


def test_unknown_format_and_missing_table():
    with pytest.raises(ConfigError, match="format"):
        read_dataset({"format": "parquet", "root": "."})
    with pytest.raises(ConfigError, match="dataset.table"):
        read_dataset({"format": "ferplus", "root": "."})


def test_shard_of_known_values():
    # Hard-coded from sha256(id): first 8 digest bytes, big-endian, modulo n. A change here would
    # reshuffle every existing results/frames shard.
    assert [shard_of("s1", n) for n in (4, 10, 1000)] == [3, 5, 695]
    assert [shard_of("anger/S010_004_00000017", n) for n in (4, 10, 1000)] == [2, 2, 322]
    assert [shard_of("fer0028638", n) for n in (4, 10, 1000)] == [0, 4, 564]


def test_shard_of_deterministic_in_range_and_stable_when_adding():
    ids = [f"sample{i}" for i in range(500)]
    before = {i: shard_of(i, 7) for i in ids}
    assert all(0 <= s < 7 for s in before.values())
    assert set(before.values()) == set(range(7))
    after = {i: shard_of(i, 7) for i in [*ids, *(f"new{i}" for i in range(500))]}
    assert {i: after[i] for i in ids} == before
    assert all(shard_of(i, 1) == 0 for i in ids[:10])


def test_cmed_csv_rows_with_still_images_are_image_samples(tmp_path):
    table = tmp_path / "t.csv"
    table.write_text("sample_id,subject,video,onset,apex,offset,emotion\n"
                     "a,s1,clip.mp4,0,3,5,Happy\nb,s2,still.JPG,0,0,0,Anger\n")
    rows = read_dataset({"format": "cmed_csv", "root": str(tmp_path), "table": str(table)})
    assert [(r.sample_id, r.kind) for r in rows] == [("a", "video"), ("b", "image")]
