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


def test_text_that_looks_like_a_formula_stays_text(tmp_path):
    labels = ['=HYPERLINK("http://example.invalid","x")', "=cmd|' /C calc'!A0", "+1+1",
              "plain"]
    write_downloads(tmp_path / "d", {"t": pd.DataFrame({"label": labels, "n": [1, 2, 3, 4]})})
    sheet = load_workbook(tmp_path / "d" / WORKBOOK)["t"]
    cells = [c for row in sheet.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    assert [c.value for c in sheet["A"][1:]] == labels


def test_the_folder_has_the_permissions_the_umask_gives(tmp_path):
    import os

    umask = os.umask(0o022)
    try:
        write_downloads(tmp_path / "d", {"t": pd.DataFrame({"n": [1]})})
    finally:
        os.umask(umask)
    assert (tmp_path / "d").stat().st_mode & 0o777 == 0o755
