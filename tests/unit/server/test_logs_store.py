"""The log store on a real SQLite file: ingest, safe search text, filters, paging, pruning."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from fleetdeck.errors import InvalidInputError
from fleetdeck.server.logs.query import LogQuery, fts_expression, parse_when, search
from fleetdeck.server.logs.store import Batch, LogStore

if TYPE_CHECKING:
    from pathlib import Path

NOW = time.time_ns() // 1000 * 1000  # whole microseconds, as datetimes hold
WEB = ("prod", "node1", "aaa111")
DB = ("prod", "node2", "bbb222")
OTHER = ("dev", "node3", "ccc333")


def filled(tmp_path: Path, lines_each: int = 50, start_ns: int = NOW) -> LogStore:
    store = LogStore(tmp_path / "logs.db")
    metas: dict[tuple[str, str, str], dict[str, Any]] = {
        WEB: {"name": "shop-web-1", "stack": "shop", "service": "web"},
        DB: {"name": "shop-db-1", "stack": "shop", "service": "db"},
        OTHER: {"name": "lonely", "stack": None, "service": None},
    }
    lines = []
    for i in range(lines_each):
        for key in metas:
            stream = "stderr" if i % 5 == 0 else "stdout"
            text = f'{metas[key]["name"]} request {i} status={200 if i % 3 else 500} "q"'
            lines.append((key, start_ns + i * 1_000_000, stream, text))
    cursors = {key: (start_ns + (lines_each - 1) * 1_000_000, 1) for key in metas}
    store.write(Batch(metas, lines, cursors, {WEB: 4}))
    return store


def run(store: LogStore, **kwargs: Any) -> list[dict[str, Any]]:
    hits, _ = search(store, LogQuery(**kwargs).validate())
    return hits


@pytest.mark.parametrize(
    ("text", "expression"),
    [
        ("error", '"error"'),
        ('say "hi', '"say" """hi"'),
        ("AND OR NOT", '"AND" "OR" "NOT"'),
        ("NEAR(a b)", '"NEAR(a" "b)"'),
        ("err*", '"err"*'),
        ("-x col:val", '"-x" "col:val"'),
        ("  ", None),
        ("", None),
    ],
)
def test_user_text_becomes_quoted_phrases(text: str, expression: str | None) -> None:
    assert fts_expression(text) == expression


def test_text_of_punctuation_alone_is_a_clear_error() -> None:
    with pytest.raises(InvalidInputError, match="nothing to search for"):
        fts_expression('" - *')


@pytest.mark.parametrize(
    "text", ['"', 'a"b', "AND", "OR (", "NEAR(", "a:b", "^x", "-", "*", "x' OR 1=1 --", "\\"]
)
def test_no_user_text_makes_the_search_fail(tmp_path: Path, text: str) -> None:
    store = filled(tmp_path, lines_each=3)
    try:
        hits = run(store, text=text)
    except InvalidInputError as exc:
        assert "nothing to search for" in exc.message
    else:
        assert isinstance(hits, list)


def test_raw_mode_passes_fts5_and_its_syntax_errors_are_invalid_input(tmp_path: Path) -> None:
    store = filled(tmp_path, lines_each=10)
    hits = run(store, text="request AND (status NOT 500)", raw=True, limit=1000)
    assert hits and all("status=500" not in h["line"] for h in hits)
    with pytest.raises(InvalidInputError, match="bad search expression"):
        run(store, text="request AND (", raw=True)
    with pytest.raises(InvalidInputError, match="raw"):
        LogQuery(text=" ", raw=True).validate()


def test_words_must_all_occur_and_matches_are_marked(tmp_path: Path) -> None:
    store = filled(tmp_path)
    hits = run(store, text="lonely 500", limit=1000)
    assert hits and all("lonely" in h["line"] and "500" in h["line"] for h in hits)
    first = hits[0]
    line, marks = str(first["line"]), first["marks"]
    assert [line[a:b] for a, b in marks] == ["lonely", "500"]
    assert set(first) >= {"environment", "node", "container", "stream", "time", "line"}


def test_filters_by_stack_service_container_environment_node_and_stream(
    tmp_path: Path,
) -> None:
    store = filled(tmp_path)
    assert {h["container"] for h in run(store, stack="shop", limit=1000)} == {
        "shop-web-1",
        "shop-db-1",
    }
    assert {h["container"] for h in run(store, service="db", limit=1000)} == {"shop-db-1"}
    assert {h["container"] for h in run(store, containers=["lonely"])} == {"lonely"}
    assert {h["container"] for h in run(store, containers=["bbb"])} == {"shop-db-1"}
    assert {h["node"] for h in run(store, environment="dev")} == {"node3"}
    assert {h["environment"] for h in run(store, node="node1")} == {"prod"}
    assert {h["stream"] for h in run(store, stream="stderr", limit=1000)} == {"stderr"}


def test_a_source_keeps_its_name_stack_and_service_after_a_prune_and_a_restart(
    tmp_path: Path,
) -> None:
    # Issue #12: the prune emptied the id cache and the next lines (sent without metadata,
    # which the agent announces once per stream) stored the source under its id, no stack.
    store = filled(tmp_path, lines_each=2)
    store.prune(max_age_s=86_400, max_bytes=10**12)
    store.write(Batch({}, [(WEB, NOW + 10**9, "stdout", "after prune okapi")], {}, {}))
    again = LogStore(tmp_path / "logs.db")  # a server restart: an empty cache as well
    again.write(Batch({}, [(WEB, NOW + 2 * 10**9, "stdout", "after restart okapi")], {}, {}))
    hits = run(again, text="okapi", stack="shop", containers=["shop-web-1"])
    assert [h["line"] for h in hits] == ["after restart okapi", "after prune okapi"]
    assert {(h["container"], h["stack"], h["service"]) for h in hits} == {
        ("shop-web-1", "shop", "web")
    }


def test_a_source_stored_without_metadata_is_repaired_when_it_is_announced(
    tmp_path: Path,
) -> None:
    store = LogStore(tmp_path / "logs.db")
    store.write(Batch({}, [(WEB, NOW, "stdout", "early okapi")], {}, {}))
    assert [h["container"] for h in run(store, text="okapi")] == ["aaa111"]
    assert run(store, text="okapi", stack="shop") == []
    store.write(Batch({WEB: {"name": "shop-web-1", "stack": "shop", "service": "web"}}, [], {}, {}))
    hits = run(store, text="okapi", stack="shop", service="web", containers=["shop-web-1"])
    assert [h["line"] for h in hits] == ["early okapi"]


def test_time_range_paging_and_newest_first(tmp_path: Path) -> None:
    store = filled(tmp_path, lines_each=20)
    start = datetime.fromtimestamp(NOW // 10**9, UTC) + timedelta(microseconds=NOW % 10**9 // 1000)
    hits = run(
        store,
        containers=["lonely"],
        since=start + timedelta(milliseconds=5),
        until=start + timedelta(milliseconds=10),
    )
    assert [h["line"].split()[2] for h in hits] == ["9", "8", "7", "6", "5"]
    page, more = search(store, LogQuery(containers=["lonely"], limit=15).validate())
    assert len(page) == 15 and more
    rest, more = search(store, LogQuery(containers=["lonely"], limit=15, offset=15).validate())
    assert len(rest) == 5 and not more
    assert {h["id"] for h in page}.isdisjoint({h["id"] for h in rest})


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (LogQuery(limit=0), "limit must be 1 to 1000"),
        (LogQuery(limit=1001), "limit must be 1 to 1000"),
        (LogQuery(offset=-1), "offset"),
        (LogQuery(stream="stdin"), "stream must be stdout or stderr"),
        (
            LogQuery(
                since=datetime(2026, 1, 2, tzinfo=UTC), until=datetime(2026, 1, 1, tzinfo=UTC)
            ),
            "inverted",
        ),
    ],
)
def test_bad_queries_are_invalid_input(query: LogQuery, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        query.validate()


def test_times_are_iso_epoch_or_durations_ago() -> None:
    now = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    assert parse_when("15m", "since", now) == now - timedelta(minutes=15)
    assert parse_when("2d", "since", now) == now - timedelta(days=2)
    assert parse_when("0", "since") == datetime(1970, 1, 1, tzinfo=UTC)
    assert parse_when("2026-11-22T10:00:00Z", "since") == now - timedelta(hours=2)
    assert parse_when("2026-11-22T10:00:00", "since") == now - timedelta(hours=2)
    assert parse_when("", "since") is None
    with pytest.raises(InvalidInputError, match="until must be"):
        parse_when("yesterday", "until")


def test_cursors_are_stored_with_their_lines_and_read_per_node(tmp_path: Path) -> None:
    store = filled(tmp_path, lines_each=5)
    assert store.cursors("prod", "node1") == {"aaa111": (NOW + 4_000_000, 1)}
    assert store.cursors("prod", "node9") == {}
    assert store.stats()["dropped"] == 4


def test_pruning_by_age_removes_old_lines_from_table_and_index(tmp_path: Path) -> None:
    day = 86_400 * 10**9
    store = filled(tmp_path, lines_each=10, start_ns=NOW - 3 * day)
    store.write(Batch({}, [(WEB, NOW, "stdout", "fresh request line")], {WEB: (NOW, 1)}, {}))
    assert len(run(store, text="request", limit=1000)) == 31
    deleted = store.prune(max_age_s=86_400, max_bytes=10**12)
    assert deleted == 30
    assert [h["line"] for h in run(store, text="request", limit=1000)] == ["fresh request line"]
    assert run(store, text="lonely") == []  # gone from the FTS index too
    assert store.cursors("prod", "node1") == {"aaa111": (NOW, 1)}
    # Sources with nothing left and not heard of for the retention are forgotten.
    assert store.stats()["sources"] == 3
    store.prune(max_age_s=86_400, max_bytes=10**12, now_ns=NOW + 2 * day)
    assert store.stats()["sources"] == 0 and store.stats()["lines"] == 0


def test_pruning_by_size_keeps_the_newest_under_the_bound(tmp_path: Path) -> None:
    store = filled(tmp_path, lines_each=3000)
    store.connection().execute("PRAGMA wal_checkpoint(TRUNCATE)")
    file_size = (tmp_path / "logs.db").stat().st_size
    size = store.size_bytes()
    bound = size // 3
    deleted = store.prune(max_age_s=86_400, max_bytes=bound)
    assert deleted > 0 and store.size_bytes() <= bound
    newest = run(store, containers=["lonely"], limit=1)[0]
    assert newest["line"].startswith("lonely request 2999 ")
    assert store.stats()["lines"] == 9000 - deleted
    # The file gives the space back (incremental vacuum), not only its free list.
    assert (tmp_path / "logs.db").stat().st_size < file_size


def test_the_schema_is_created_idempotently(tmp_path: Path) -> None:
    filled(tmp_path, lines_each=2).close()
    again = LogStore(tmp_path / "logs.db")
    assert again.stats()["lines"] == 6
