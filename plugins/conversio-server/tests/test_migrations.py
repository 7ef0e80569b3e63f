"""The server's schema migrations on SQLite and a real PostgreSQL: new databases, databases of the
releases before migrations, of newer releases, processes starting together, failed upgrades, and
``conversio db upgrade | current`` run as a user runs them."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from click.testing import CliRunner
from conversio_server import migrations
from conversio_server.database import create_engine, create_tables
from conversio_server.db_cli import db as db_command
from conversio_server.schema import metadata

from conversio.errors import MissingDependency

#: Tables of the baseline, a few with rows in the tests below.
SOME_TABLES = {"api_keys", "usage", "server_secrets", "jobs", "webhook_deliveries", "webhook_attempts"}


@pytest.fixture
def engine(database_url: str) -> Iterator[sa.Engine]:
    """An engine on the empty database, its schema left to the test."""
    made = create_engine(database_url, upgrade=False)
    yield made
    made.dispose()


def _alembic(connection: sa.Connection, folder: Path = migrations.FOLDER) -> Config:
    config = Config()
    config.set_main_option("script_location", str(folder))
    config.attributes["connection"] = connection
    return config


def _revisions_recorded(engine: sa.Engine) -> list[str]:
    with engine.connect() as db:
        return list(db.execute(sa.text("SELECT version_num FROM alembic_version")).scalars())


def _make_as_earlier_releases(engine: sa.Engine) -> None:
    """The tables of the baseline without a revision, with rows: a database of a release that made
    its tables with ``metadata.create_all`` (the baseline's tables are exactly those)."""
    with engine.begin() as db:
        command.upgrade(_alembic(db), "0001")
        db.execute(sa.text("DROP TABLE alembic_version"))
        db.execute(sa.text("INSERT INTO server_secrets (name, value) VALUES ('link-signing', 'abc')"))
        db.execute(sa.text("INSERT INTO usage (key_id, period, conversions) VALUES ('k1', '2026-11', 7)"))
        db.execute(
            sa.text(
                "INSERT INTO jobs (id, key_id, spec, job_events, status, progress, step, steps, outputs,"
                " warnings, attempts, cancel_requested, revision, created_at, updated_at) VALUES ('j1',"
                """ 'k1', '{"input": {"format": "png"}}', true, 'queued', 0, '', '[]', '[]', '[]', 0,"""
                " false, 0, 1, 1)"
            )
        )


def test_the_revision_files_form_one_line_named_by_their_revisions() -> None:
    script = ScriptDirectory(str(migrations.FOLDER))
    chain = [rev.revision for rev in reversed(list(script.walk_revisions()))]
    assert chain == list(migrations.revisions())
    assert script.get_heads() == [migrations.head()]
    assert [script.get_revision(rev).down_revision for rev in chain] == [None, *chain[:-1]]
    assert all(Path(script.get_revision(rev).path).name.startswith(f"{rev}_") for rev in chain)


def test_a_new_database_is_brought_to_the_head_whose_schema_is_the_tables(engine: sa.Engine) -> None:
    done = migrations.upgrade(engine)
    assert (done.before, done.after) == (None, migrations.head())
    assert _revisions_recorded(engine) == [migrations.head()]
    with engine.connect() as db:
        differences = compare_metadata(MigrationContext.configure(db), metadata)
    assert differences == []
    assert migrations.upgrade(engine) == migrations.Upgrade(migrations.head(), migrations.head())


def test_a_database_of_an_earlier_release_keeps_its_rows(engine: sa.Engine) -> None:
    _make_as_earlier_releases(engine)
    create_tables(engine)
    assert _revisions_recorded(engine) == [migrations.head()]
    with engine.connect() as db:
        assert db.execute(sa.text("SELECT value FROM server_secrets")).scalar_one() == "abc"
        assert db.execute(sa.text("SELECT conversions FROM usage")).scalar_one() == 7
        assert db.execute(sa.text("SELECT status FROM jobs WHERE id = 'j1'")).scalar_one() == "queued"
        assert compare_metadata(MigrationContext.configure(db), metadata) == []


def test_a_database_an_earlier_release_made_only_some_tables_of_gets_the_others(engine: sa.Engine) -> None:
    _make_as_earlier_releases(engine)  # then as if only `conversio keys` had ever run on it
    with engine.begin() as db:
        for table in ("webhook_attempts", "webhook_deliveries", "jobs", "batches", "file_owners"):
            db.execute(sa.text(f"DROP TABLE {table}"))
    create_tables(engine)
    assert set(sa.inspect(engine).get_table_names()) >= SOME_TABLES
    with engine.connect() as db:
        assert db.execute(sa.text("SELECT conversions FROM usage")).scalar_one() == 7


def test_a_database_of_a_newer_release_is_refused(
    engine: sa.Engine, database_url: str, tmp_path: Path
) -> None:
    create_tables(engine)
    with engine.begin() as db:
        db.execute(sa.text("UPDATE alembic_version SET version_num = '9001'"))
    with pytest.raises(MissingDependency) as refused:
        create_engine(database_url)
    assert "revision 9001" in refused.value.message
    assert f"its newest is {migrations.head()}" in refused.value.message
    ran = _conversio("db", "upgrade", "--database", database_url)
    assert ran.returncode == 4, ran.stderr
    assert ran.stderr.startswith("error MISSING_DEPENDENCY: the database is at schema revision 9001")
    assert "Traceback" not in ran.stderr
    current = CliRunner().invoke(db_command, ["current", "--json", "--database", database_url])
    assert current.exit_code == 4
    assert json.loads(current.stdout)["error"]["details"] == {
        "revision": "9001",
        "head": migrations.head(),
        "install_hint": "pip install --upgrade conversio-server",
    }
    for program in ("serve", "worker"):  # each refuses before it starts, in one line
        ran = _conversio(program, "--dev", "--database", database_url, "--data-dir", str(tmp_path / program))
        assert ran.returncode == 4, ran.stderr[-2000:]
        assert "error MISSING_DEPENDENCY: the database is at schema revision 9001" in ran.stderr
        assert "Traceback" not in ran.stderr


def test_a_database_at_the_head_costs_one_query_and_no_alembic(engine: sa.Engine, database_url: str) -> None:
    create_tables(engine)
    statements: list[str] = []
    sa.event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    create_tables(engine)
    assert len(statements) == 1, statements
    script = (
        "import sys\n"
        "from conversio_server.database import create_engine\n"
        "create_engine(sys.argv[1]).dispose()\n"
        "print(sorted(name for name in sys.modules if name.split('.')[0] == 'alembic'))\n"
    )
    ran = subprocess.run(
        [sys.executable, "-c", script, database_url], check=False, capture_output=True, text=True, timeout=60
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "[]"


def test_processes_starting_together_upgrade_once(database_url: str) -> None:
    """Four processes open the stores a server opens, at once: one upgrades, the others wait."""
    script = (
        "import sys\n"
        "from conversio_server.jobstore import JobStore\n"
        "from conversio_server.keys import KeyStore\n"
        "from conversio_server.ownership import FileOwners\n"
        "for kind in (JobStore, KeyStore, FileOwners):\n"
        "    kind(sys.argv[1]).close()\n"
    )
    processes = [
        subprocess.Popen([sys.executable, "-c", script, database_url], stderr=subprocess.PIPE)
        for _ in range(4)
    ]
    errors = [process.communicate(timeout=60)[1].decode() for process in processes]
    assert [process.returncode for process in processes] == [0] * 4, errors
    engine = create_engine(database_url, upgrade=False)
    try:
        assert _revisions_recorded(engine) == [migrations.head()]
        tables = set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {"jobs", "batches", "webhook_deliveries", "api_keys", "usage", "file_owners"} <= tables


@pytest.fixture
def extra_revision(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A copy of the migrations to which a test adds a revision ``9999`` (after the head), in
    the file this yields; the runner uses the copy."""
    folder = tmp_path / "migrations"
    shutil.copytree(migrations.FOLDER, folder, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(migrations, "FOLDER", folder)
    migrations.revisions.cache_clear()
    yield folder / "versions" / "9999_test.py"
    migrations.revisions.cache_clear()


def _write_revision(path: Path, upgrade: str) -> None:
    head = migrations.revisions()[-1]
    path.write_text(
        "import sqlalchemy as sa\nfrom alembic import op\n"
        f"revision = '9999'\ndown_revision = {head!r}\nbranch_labels = depends_on = None\n"
        f"def upgrade():\n{upgrade}\n"
    )
    migrations.revisions.cache_clear()


def test_a_failed_upgrade_leaves_the_database_as_it_was(engine: sa.Engine, extra_revision: Path) -> None:
    _write_revision(
        extra_revision,
        "    op.create_table('half_done', sa.Column('id', sa.Integer, primary_key=True))\n"
        "    raise RuntimeError('this revision fails')\n",
    )
    with pytest.raises(RuntimeError, match="this revision fails"):
        migrations.upgrade(engine)
    assert sa.inspect(engine).get_table_names() == []  # not even the baseline's tables
    extra_revision.unlink()
    migrations.revisions.cache_clear()
    assert migrations.upgrade(engine).after == migrations.head()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_table_rebuilt_on_sqlite_keeps_the_rows_that_refer_to_it(
    engine: sa.Engine, extra_revision: Path
) -> None:
    create_tables(engine)
    now = "2026-12-05 10:00:00"
    with engine.begin() as db:
        db.execute(
            sa.text(
                "INSERT INTO webhook_deliveries (id, event_id, event_type, url, endpoint, body, status,"
                " attempts, next_attempt_at, created_at, updated_at)"
                " VALUES ('d1', 'e1', 'job.finished', 'https://x.test', 'x', x'00', 'pending', 1, :t, :t, :t)"
            ),
            {"t": now},
        )
        db.execute(
            sa.text(
                "INSERT INTO webhook_attempts (delivery_id, number, started_at, duration, outcome)"
                " VALUES ('d1', 1, :t, 0.5, 'failed')"
            ),
            {"t": now},
        )
    _write_revision(
        extra_revision,
        "    with op.batch_alter_table('webhook_deliveries', recreate='always'):\n        pass\n",
    )
    assert migrations.upgrade(engine).after == "9999"
    with engine.connect() as db:
        assert db.execute(sa.text("SELECT count(*) FROM webhook_attempts")).scalar_one() == 1
        assert db.execute(sa.text("PRAGMA foreign_keys")).scalar_one() == 1  # on again for the pool


def test_every_revision_downgrades(engine: sa.Engine) -> None:
    create_tables(engine)
    with engine.begin() as db:
        command.downgrade(_alembic(db), "base")
    assert set(sa.inspect(engine).get_table_names()) == {"alembic_version"}
    assert migrations.upgrade(engine).before is None


def test_a_database_that_cannot_be_reached_is_one_coded_line(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"postgresql://someone:hunter2@127.0.0.1:{port}/conversio"
    for args in (["db", "current"], ["keys", "list"], ["worker", "--dev"], ["serve", "--dev"]):
        data = ["--data-dir", str(tmp_path / args[0])] if args[0] in ("worker", "serve") else []
        ran = _conversio(*args, "--database", url, *data)
        assert ran.returncode == 5, (args, ran.stderr[-2000:])
        assert "error STORE_UNAVAILABLE: the server's database cannot be reached" in ran.stderr
        assert "Traceback" not in ran.stderr and "hunter2" not in ran.stderr and str(port) not in ran.stderr


def _conversio(*args: str) -> subprocess.CompletedProcess[str]:
    """``conversio …`` as a user runs it: the installed command line, in a process of its own."""
    return subprocess.run(
        [sys.executable, "-m", "conversio", *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_conversio_db_upgrade_and_current(database_url: str, tmp_path: Path) -> None:
    if database_url.startswith("sqlite"):
        where = ["--data-dir", str(tmp_path / "data")]  # the database `conversio serve` would open there
        shown = f"sqlite:///{(tmp_path / 'data' / 'server.sqlite3').resolve()}"
    else:
        where = ["--database", database_url]
        shown = sa.engine.make_url(database_url).render_as_string(hide_password=True)
    head, runner = migrations.head(), CliRunner()
    before = runner.invoke(db_command, ["current", *where])
    assert before.exit_code == 0, before.output
    assert before.stdout.startswith(f"{shown}: revision none, not the head ({head}): `conversio db upgrade`")
    upgraded = runner.invoke(db_command, ["upgrade", *where])
    assert upgraded.exit_code == 0, upgraded.output
    assert upgraded.stdout == f"{shown}: upgraded from revision none to {head}\n"
    again = runner.invoke(db_command, ["upgrade", *where, "--json"])
    assert json.loads(again.stdout) == {"database": shown, "from": head, "to": head}
    after = runner.invoke(db_command, ["current", *where])
    assert after.stdout == f"{shown}: revision {head} (head)\n"
