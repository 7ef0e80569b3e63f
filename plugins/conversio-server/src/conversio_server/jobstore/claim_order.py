"""Which jobs a claim looks at, in a number of steps that does not grow with the queue's length.

A claim looks at the oldest few queued jobs of each key and input format (a *group*), so that a key's
cheap job is seen behind many slow ones of that key, and at the running jobs whose lease expired. The
groups are found by hopping the ``ix_jobs_claim_order`` index from one group to the next (a loose index
scan: a recursive CTE whose every step is one index lookup), and each group's oldest jobs are read from
the same index: a claim reads a few index entries per group, however many jobs wait in each.

PostgreSQL runs each lookup of a group as a ``LATERAL`` subquery, once per group (a plain join it may
plan once for all groups, hashing or scanning every job); SQLite, which has no ``LATERAL``, looks up
the ids a correlated subquery finds (on PostgreSQL that form would run the subquery for every job).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa

from conversio_server.jobstore.tables import PROCESSING, QUEUED, jobs

#: The oldest queued jobs of each key and input format that a claim looks at (more wait their turn).
FIRSTS_PER_GROUP = 5
#: The most jobs a claim looks at (the oldest of those above, and of the expired leases).
LOOKED_AT = 200


def _first_queued(*where: sa.ColumnElement[bool], order: Sequence[sa.ColumnElement[Any]]) -> Any:
    """The id of the first queued job in index order among those ``where`` picks (one index lookup)."""
    return (
        sa.select(jobs.c.id)
        .where(jobs.c.status == QUEUED, *where)
        .order_by(*order, jobs.c.created_at, jobs.c.id)
        .limit(1)
        .correlate_except(jobs)  # the group it follows, from however far out
        .scalar_subquery()
    )


def _each_group(
    dialect: str, groups: sa.CTE, columns: Sequence[str], pick: Callable[[sa.FromClause], sa.Select[Any]]
) -> sa.Select[Any]:
    """The ``columns`` of the jobs that ``pick(table)`` (a select of ids of ``table``, a name of the
    jobs, correlated to ``groups``) finds for each row of ``groups``."""
    table = jobs.alias("picked")
    picked = pick(table)
    if dialect == "sqlite":
        found = jobs.alias("found")
        return sa.select(*(found.c[name] for name in columns)).join_from(
            groups, found, found.c.id.in_(picked)
        )
    rows = picked.with_only_columns(*(table.c[name] for name in columns)).lateral("found")
    return sa.select(*rows.c).join_from(groups, rows, sa.true())


def _queued_groups(dialect: str) -> sa.CTE:
    """The (``key_id``, ``input_format``) of every group with a queued job, each found from the one
    before by one index lookup: the next format of the same key, else the first of the next key."""
    first = _first_queued(order=(jobs.c.key_id, jobs.c.input_format))
    head = jobs.alias("head")
    groups = (
        sa.select(head.c.key_id, head.c.input_format).where(head.c.id == first).cte("groups", recursive=True)
    )
    after = sa.func.coalesce(
        _first_queued(
            jobs.c.key_id == groups.c.key_id,
            jobs.c.input_format > groups.c.input_format,
            order=(jobs.c.input_format,),
        ),
        _first_queued(jobs.c.key_id > groups.c.key_id, order=(jobs.c.key_id, jobs.c.input_format)),
    )
    # LIMIT 1: a subquery without one PostgreSQL may flatten into a plain join
    step = _each_group(
        dialect,
        groups,
        ("key_id", "input_format"),
        lambda t: sa.select(t.c.id).where(t.c.id == after).limit(1),
    )
    return groups.union_all(step)


#: What a claim reads of each job it looks at.
_CANDIDATE = ("id", "key_id", "max_running", "created_at", "spec")


def _oldest_of_groups(dialect: str) -> sa.Select[Any]:
    """The oldest :data:`FIRSTS_PER_GROUP` queued jobs of every group."""
    groups = _queued_groups(dialect)
    return _each_group(
        dialect,
        groups,
        _CANDIDATE,
        lambda t: (
            sa.select(t.c.id)
            .where(
                t.c.status == QUEUED, t.c.key_id == groups.c.key_id, t.c.input_format == groups.c.input_format
            )
            .order_by(t.c.created_at, t.c.id)
            .limit(FIRSTS_PER_GROUP)
        ),
    )


@functools.cache
def looked_at(dialect: str) -> sa.Select[Any]:
    """The jobs a claim looks at at the time ``now`` (the parameter), oldest first: the oldest of each
    group and those whose lease expired (their worker is gone), at most :data:`LOOKED_AT`; the
    statement for ``dialect``, made once."""
    expired = sa.select(*(jobs.c[name] for name in _CANDIDATE)).where(
        jobs.c.status == PROCESSING, jobs.c.lease_expires < sa.bindparam("now", type_=sa.Float)
    )
    either = sa.union_all(_oldest_of_groups(dialect), expired).subquery()
    return sa.select(either).order_by(either.c.created_at, either.c.id).limit(LOOKED_AT)
