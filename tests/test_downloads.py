import pandas as pd
import pytest
from openpyxl import load_workbook
from trialrecon import InputError
from trialrecon.downloads import WORKBOOK, _sheet_names, write_downloads


def test_csv_files_and_one_workbook_hold_the_numbers(tmp_path):
    tables = {"checks": pd.DataFrame({"value": [0.25, float("nan")], "check": ["a", "b"]}),
              "ipd-pnet-pfs-a-very-long-analysis-version-name": pd.DataFrame(
                  {"time": [1.5, 2.0], "event": [1, 0]})}
    files = write_downloads(tmp_path / "page", tables)
    assert [f.name for f in files] == ["checks.csv",
                                       "ipd-pnet-pfs-a-very-long-analysis-version-name.csv",
                                       WORKBOOK]
    assert pd.read_csv(files[0]).value.iloc[0] == 0.25
    book = load_workbook(files[-1])
    assert len(book.sheetnames) == 2 and all(len(n) <= 31 for n in book.sheetnames)
    sheet = book[book.sheetnames[1]]
    assert [c.value for c in sheet[2]] == [1.5, 1]  # numbers, not text


def test_a_rewrite_replaces_the_folder_whole(tmp_path):
    write_downloads(tmp_path / "page", {"a": pd.DataFrame({"x": [1]})})
    write_downloads(tmp_path / "page", {"b": pd.DataFrame({"x": [2]})})
    assert sorted(p.name for p in (tmp_path / "page").iterdir()) == ["b.csv", WORKBOOK]
    assert [p.name for p in tmp_path.iterdir()] == ["page"]  # no temporary folder left


def test_sheet_names_are_unique_and_legal():
    names = _sheet_names(["x" * 40, "x" * 40, "a/b:c"])
    assert len(set(n.lower() for n in names)) == 3 and names[2] == "a-b-c"
    assert all(len(n) <= 31 for n in names)


def test_unwritable_folder_is_one_line(tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("")
    with pytest.raises(InputError) as caught:
        write_downloads(blocked / "page", {"a": pd.DataFrame({"x": [1]})})
    assert "\n" not in str(caught.value) and "cannot write downloads" in str(caught.value)
