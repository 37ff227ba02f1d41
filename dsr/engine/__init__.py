"""The right-agnostic job engine: dispatch, claim, run, retry, reconcile (docs/decisions/0008-jobs.md).

A verified request gets a Plan; its right (dsr.rights) says which jobs to
create at each stage and what to do when a stage's jobs are finished. The
engine stores jobs in the database, lets workers claim them by
compare-and-set, retries transient source errors with backoff, wakes jobs
that wait for a processor or a person, and re-sends lost "go" signals. It
knows no right and no connector kind: rights register their job runners and
their stage handlers here (dsr.engine.registry).
"""
