"""Time the statements a benchmark sends, by statement shape, for its --statements option."""

import time
from collections import defaultdict


def statements_timed(connection, *, shape_length: int, label: str = "", sqlalchemy_label: str | None = None) -> dict:
    """Time every statement Django sends on ``connection`` from now on; return the totals, filled as they run.

    The totals map a statement's shape (``label``, then its first ``shape_length`` characters with the
    whitespace collapsed; parameters are not in the text) to [count, seconds]. With ``sqlalchemy_label``,
    the statements of every SQLAlchemy engine are timed too, under that label.
    """
    totals: dict = defaultdict(lambda: [0, 0.0])

    def shape(sql: str) -> str:
        return " ".join(sql.split())[:shape_length]

    def timing(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            entry = totals[label + shape(sql)]
            entry[0] += 1
            entry[1] += time.perf_counter() - started

    if sqlalchemy_label is not None:
        import sqlalchemy as sa

        @sa.event.listens_for(sa.engine.Engine, "before_cursor_execute")
        def _before(conn, cursor, statement, parameters, context, executemany):
            conn.info.setdefault("dsr_bench_started", []).append(time.perf_counter())

        @sa.event.listens_for(sa.engine.Engine, "after_cursor_execute")
        def _after(conn, cursor, statement, parameters, context, executemany):
            entry = totals[sqlalchemy_label + shape(statement)]
            entry[0] += 1
            entry[1] += time.perf_counter() - conn.info["dsr_bench_started"].pop()

    connection.execute_wrappers.append(timing)
    return totals
