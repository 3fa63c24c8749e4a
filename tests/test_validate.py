"""The validate stage: every rejection reason from a crafted bad row, and the summary report."""

from __future__ import annotations

import cv2
import pandas as pd

from apexbench.datasets import read_dataset
from apexbench.labels import CMED_LABELS
from apexbench.synthetic import write_index_video
from apexbench.validate import REASONS, summary_markdown, validate_rows

HEADER = "sample_id,subject,video,onset,apex,offset,emotion\n"


def _dataset(tmp_path, body: str, allow_outside_root: bool = False):
    media = tmp_path / "media"
    media.mkdir(parents=True)
    write_index_video(media / "clip.mp4", 30)
    write_index_video(tmp_path / "outside.mp4", 30)  # a real video next to the root, not in it
    (media / "link.mp4").symlink_to(tmp_path / "outside.mp4")
    (media / "empty.mp4").write_bytes(b"")
    (media / "notes.mp4").write_text("this is not a video\n")
    (media / "broken.mp4").write_bytes((media / "clip.mp4").read_bytes()[:1024])
    cv2.VideoWriter(str(media / "zero.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 30, (64, 48)).release()
    table = tmp_path / "annotations.csv"
    table.write_text(HEADER + body)
    rows = read_dataset({"format": "cmed_csv", "root": str(media), "table": str(table)})
    return validate_rows(rows, media, CMED_LABELS, n_shards=4, allow_outside_root=allow_outside_root)


def test_each_rejection_reason_from_a_crafted_row(tmp_path):
    body = (
        "good,s1,clip.mp4,2,10,20,Happy\n"
        "no_label,s1,clip.mp4,2,10,20,\n"
        "dup,s1,clip.mp4,0,1,2,Sad\n"
        "dup,s2,clip.mp4,0,1,2,Sad\n"
        "weird_label,s1,clip.mp4,2,10,20,Joyful\n"
        "float_index,s1,clip.mp4,2,10.5,20,Happy\n"
        "negative,s1,clip.mp4,-1,10,20,Happy\n"
        "order,s1,clip.mp4,12,10,20,Happy\n"
        "gone,s1,missing.mp4,2,10,20,Happy\n"
        "empty,s1,empty.mp4,0,0,0,Happy\n"
        "text,s1,notes.mp4,0,0,0,Happy\n"
        "truncated,s1,broken.mp4,0,0,0,Happy\n"
        "zero_frames,s1,zero.avi,0,0,0,Happy\n"
        "late_apex,s1,clip.mp4,2,30,31,Happy\n"
        "dotdot,s1,../outside.mp4,2,10,20,Happy\n"
        "absolute,s1,/etc/passwd,2,10,20,Happy\n"
        "link_out,s1,link.mp4,2,10,20,Happy\n"
    )
    samples, rejected = _dataset(tmp_path, body)
    assert samples["sample_id"].tolist() == ["good"]
    reasons = dict(zip(rejected["sample_id"] + "@" + rejected["row"].astype(str), rejected["reason"]))
    assert reasons == {
        "no_label@3": "missing_value",
        "dup@4": "duplicate_id",
        "dup@5": "duplicate_id",
        "weird_label@6": "unknown_label",
        "float_index@7": "bad_index",
        "negative@8": "bad_index",
        "order@9": "index_order",
        "gone@10": "missing_file",
        "empty@11": "unreadable",
        "text@12": "unreadable",
        "truncated@13": "unreadable",
        "zero_frames@14": "no_frames",
        "late_apex@15": "index_out_of_range",
        "dotdot@16": "outside_root",
        "absolute@17": "outside_root",
        "link_out@18": "outside_root",
    }
    assert set(rejected["reason"]) == set(REASONS)  # every reason code is produced
    assert all("\n" not in m and m for m in rejected["message"])
    late = rejected.set_index("sample_id").loc["late_apex", "message"]
    assert "apex 30" in late and "30 frames" in late
    assert "Joyful" in rejected.set_index("sample_id").loc["weird_label", "original"]


def test_paths_outside_the_root_are_rejected_unopened_unless_allowed(tmp_path, monkeypatch):
    import apexbench.validate as validate

    opened = []
    real_probe = validate.probe_video
    monkeypatch.setattr(validate, "probe_video", lambda path: opened.append(str(path)) or real_probe(path))
    body = ("dotdot,s1,../outside.mp4,2,10,20,Happy\n"
            "absolute,s1,/etc/passwd,2,10,20,Happy\n"
            "link_out,s1,link.mp4,2,10,20,Happy\n")
    samples, rejected = _dataset(tmp_path / "strict", body)
    assert samples.empty and set(rejected["reason"]) == {"outside_root"} and opened == []
    message = rejected.set_index("sample_id").loc["link_out", "message"]
    assert "outside.mp4" in message and "allow_outside_root: true" in message
    samples, rejected = _dataset(tmp_path / "allowed", body, allow_outside_root=True)
    # allowed: the two videos are read and accepted; /etc/passwd is opened and is no video
    assert sorted(samples["sample_id"]) == ["dotdot", "link_out"]
    assert rejected.set_index("sample_id").loc["absolute", "reason"] == "unreadable"


def test_accepted_sample_columns_and_values(tmp_path):
    samples, rejected = _dataset(tmp_path, "good,s1,clip.mp4,2,10,20,Happy\n")
    assert rejected.empty
    row = samples.iloc[0]
    assert (row.kind, row.onset, row.apex, row.offset, row.frame_count) == ("video", 2, 10, 20, 30)
    assert (row.label, row.label_canonical, row.subject) == ("Happy", "happiness", "s1")
    assert len(row.source_sha256) == 64 and 0 <= row.shard < 4


def test_summary_counts_by_reason_and_class_distribution():
    samples = pd.DataFrame({"label": ["Happy", "Happy", "Sad", "No Emotion"], "subject": ["a", "b", "a", "c"],
                            "kind": ["video"] * 4})
    rejected = pd.DataFrame({"sample_id": ["x", "y", "z"], "row": [2, 3, 4],
                             "reason": ["missing_file", "missing_file", "bad_index"],
                             "message": ["m1", "m2", "m3"], "original": ["", "", ""]})
    text = summary_markdown(samples, rejected, "toy")
    assert "7 rows read, **4 accepted**, **3 rejected**" in text
    assert "| missing_file | 2 |" in text and "| bad_index | 1 |" in text
    assert "| Emotion | Count | Percentage |" in text
    assert "| Happy | 2 | 50.00% |" in text and "| Sad | 1 | 25.00% |" in text
    assert "| **Total** | 4 | 100.00% |" in text
    assert "3 subjects" in text
