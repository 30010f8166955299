"""`vigil screen --evaluate FILE`: the rules measured on a labelled CSV,
with recall, precision, the confusion table and each miss explained."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import tui

CORPUS = Path(__file__).resolve().parent.parent / "data" / "screening_corpus.csv"


def _evaluate(path: Path | str, *args: str) -> int:
    return tui.main(["screen", "--evaluate", str(path), *args])


def test_the_corpus_figures_in_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert _evaluate(CORPUS, "--format", "json") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["summaries"] == 310
    assert data["recall"] >= 0.9 and data["precision"] >= 0.85
    assert {r["label"]: r["total"] for r in data["confusion"]} == {
        "hidden_stalking": 115, "trap": 110, "ordinary": 85}
    assert len(data["misses"]) == data["false_negatives"] + data["false_positives"]
    for miss in data["misses"]:
        assert miss["outcome"] in ("missed", "false alarm") and miss["summary"]
        assert miss["explanations"] or miss["phrases"] or miss["outcome"] == "missed"


def test_the_table_names_each_miss_with_its_explanation(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    labelled = tmp_path / "mine.csv"
    labelled.write_text(
        "id,label,summary\n"
        "A1,hidden_stalking,He followed her home again and waited outside her flat.\n"
        "A2,hidden_stalking,He sent her a rude message.\n"
        "A3,trap,OIC followed up with the victim.\n"
        "A4,ordinary,She received an abusive voicemail.\n", encoding="utf-8")
    assert _evaluate(labelled) == 0
    out = capsys.readouterr().out
    assert "recall 0.500 (1 of 2 hidden stalking flagged), precision 1.000" in out
    assert "A2" in out and "missed" in out and "A1" not in out.split("Misses")[1]


@pytest.mark.parametrize(("content", "message"), [
    ("id,label\nA,trap\n", "header: missing column(s) summary"),
    ("id,label,summary\nA,stalking,text\n", "mine.csv:2: label: 'stalking'"),
    ("id,label,summary\nA,trap,\n", "mine.csv:2: summary: empty"),
    ("id,label,summary\nA,trap,x\nA,trap,y\n", "mine.csv:3: id: 'A' appears twice"),
    ("id,label,family,summary\nA,trap,burglary,x\n", "mine.csv:2: family: 'burglary'"),
])
def test_bad_files_exit_2_naming_line_and_field(tmp_path: Path, content: str, message: str,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    labelled = tmp_path / "mine.csv"
    labelled.write_text(content, encoding="utf-8")
    assert _evaluate(labelled) == 2
    assert message in capsys.readouterr().err


def test_a_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _evaluate(tmp_path / "nowhere.csv") == 2
    assert "no such file" in capsys.readouterr().err
