"""`cxm content import` on the local cloud: a catalogue file posted in requests of whole rows, each bad row reported
with its number in the file (not in the request it went in)."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest

from infra import cli
from tests.conftest import Api

ROWS = 60
NO_TIME_ZONE = 7  # in the first request
NOT_A_PATH = 43  # in the second: the API numbers it 13


def catalogue_file(path: Path) -> Path:
    lines = ["id,title,path,type,topics,keywords,segments,publishedAt,summary"]
    for row in range(1, ROWS + 1):
        published = "2026-02-01T10:00:00" if row == NO_TIME_ZONE else f"2026-02-{1 + row % 28:02d}T10:00:00Z"
        where = f"recipes/dish-{row}" if row == NOT_A_PATH else f"/recipes/dish-{row}"
        audiences = "explorer|healthy" if row % 10 == 0 else ""
        lines.append(f'dish-{row},"Dish {row}, slowly",{where},recipe,recipes|tutorials,,{audiences},{published},Good')
    path.write_text("\n".join(lines) + "\n")
    return path


def test_cxm_content_import_posts_chunks_and_reports_bad_rows_by_their_row_in_the_file(
    api: Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a 60-row catalogue file with two bad rows, one in each half
    monkeypatch.setenv("CXM_URL", api.base_url)
    monkeypatch.setenv("CXM_ADMIN_KEY", api.admin_key)
    source = catalogue_file(tmp_path / "items.csv")

    # When it is imported 30 rows per request
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        assert cli.main(["content", "import", str(source), "--rows", "30"]) == 0

    # Then the good rows are saved and each bad one is named by its row in the file, with its field
    printed = out.getvalue().splitlines()
    assert printed[0] == "items.csv: 60 rows, 58 saved, 2 failed"
    assert printed[1].startswith(f"  row {NO_TIME_ZONE}: publishedAt: "), printed
    assert printed[2].startswith(f"  row {NOT_A_PATH}: path: expected a site path starting with /"), printed
    assert len(printed) == 3
    assert "importing  [##############################] 100% 60/60 rows" in err.getvalue()
    assert "50%" in err.getvalue()  # two requests: the bar moved once in between

    listed = api.admin("GET", "/v1/content/items?topic=tutorials").body
    assert listed["count"] == ROWS - 2
    ids = {i["id"] for i in listed["items"]}
    assert f"dish-{NO_TIME_ZONE}" not in ids and f"dish-{NOT_A_PATH}" not in ids
    item = api.admin("GET", "/v1/content/items/dish-30").body
    assert item["title"] == "Dish 30, slowly" and item["segments"] == ["explorer", "healthy"]


def test_a_json_lines_file_is_chunked_by_its_non_blank_lines(
    api: Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CXM_URL", api.base_url)
    monkeypatch.setenv("CXM_ADMIN_KEY", api.admin_key)
    lines = [
        '{"id": "jl-1", "title": "One", "path": "/one", "publishedAt": "2026-02-01T10:00:00Z"}',
        "",
        '{"id": "jl-2", "title": "Two", "path": "/two", "publishedAt": "2026-02-01T10:00:00Z"}',
        '{"id": "jl-3", "title": "", "path": "/three", "publishedAt": "2026-02-01T10:00:00Z"}',
    ]
    source = tmp_path / "items.jsonl"
    source.write_text("\n".join(lines) + "\n")
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        assert cli.main(["content", "import", str(source), "--rows", "2"]) == 0
    printed = out.getvalue().splitlines()
    assert printed[0] == "items.jsonl: 3 rows, 2 saved, 1 failed"
    assert printed[1].startswith("  row 3: title: "), printed
