import logging
import random
import threading
import time
import zlib
from contextlib import contextmanager, nullcontext

from odoo import api, models
from odoo.service.model import MAX_TRIES_ON_CONCURRENCY_FAILURE, PG_CONCURRENCY_EXCEPTIONS_TO_RETRY
from odoo.tools import SQL

_logger = logging.getLogger(__name__)


class CustomerTieringLock(models.AbstractModel):
    """One run of a job per company at a time, across workers and manual
    triggers: a PostgreSQL advisory lock on (job, company), held for the whole
    run even though the jobs commit per chunk."""

    _name = "customer.tiering.lock"
    _description = "Customer Tiering Run Lock"

    @api.model
    @contextmanager
    def _exclusive(self, job, company):
        """Yield whether this run holds the lock; a run that does not must
        skip the company. The lock is released even when the run fails."""
        key = (_job_key(job), company.id)
        acquired = self.env.execute_query(SQL("SELECT pg_try_advisory_lock(%s, %s)", *key))[0][0]
        if acquired:
            # The runs' queries look up a few thousand customers by id, but
            # their estimates can pass jit_above_cost: compiling them would
            # then take longer than running them. The plans the connection
            # cached in an earlier run, such as its foreign key checks', fit
            # the tables as they were then: after a weekly full run they slowed
            # the next nights' chatter inserts. Each run plans afresh
            # (measurements: docs/design.md).
            self.env.cr.execute(SQL("SET jit = off; DISCARD PLANS"))
        else:
            _logger.info("Customer tiering: %s for %s is already running, skipped", job, company.name)
        testing = _testing()
        try:
            # A test cannot roll its transaction back: a savepoint stands in.
            with self.env.cr.savepoint() if testing and acquired else nullcontext():
                yield acquired
        except Exception:
            if acquired:
                # A failed transaction refuses every statement, the unlock too.
                if not testing:
                    self.env.cr.rollback()
                self._unlock(key)
            raise
        if acquired:
            self._unlock(key)

    def _unlock(self, key):
        """Release the lock, and give the connection back with the server's JIT setting."""
        self.env.execute_query(SQL("SELECT pg_advisory_unlock(%s, %s)", *key))
        self.env.cr.execute(SQL("RESET jit"))

    @api.model
    def _run_companies(self, job, configs, run):
        """``run(config)`` for each company of ``configs`` that no other run of
        ``job`` holds, each company on its own: when one fails, what it had
        not committed is rolled back, the failure is logged, put on its
        settings and sent to its managers (``_record_failure``), and the next
        company still runs. Returns the companies whose run completed."""
        done = self.env["res.company"]
        for config in configs:
            company = config.company_id
            try:
                with self._exclusive(job, company) as acquired:
                    if acquired:
                        run(config.with_company(company))
            except Exception as error:  # noqa: BLE001 - one company's failure must not stop the others
                _logger.exception("Customer tiering: %s for %s failed", job, company.name)
                self.env.invalidate_all()
                config._record_failure(job, error)
                self._commit()
                continue
            if acquired:
                config._record_success(job)
                self._commit()
                done |= company
        return done

    @api.model
    def _run_batch(self, write):
        """Run ``write``, one batch of a job, and commit it: each batch is
        consistent on its own, so a crash loses at most the batch under way.
        A concurrency failure (a salesperson saving a partner the batch
        updates) rolls the batch back and retries it in a fresh transaction,
        so it is not fatal to the run. Tests commit nothing and retry nothing."""
        testing = _testing()
        for attempt in range(1, MAX_TRIES_ON_CONCURRENCY_FAILURE + 1):
            try:
                write()
                if not testing:
                    self.env.cr.commit()  # pylint: disable=invalid-commit
                return
            except PG_CONCURRENCY_EXCEPTIONS_TO_RETRY as error:
                if testing or attempt == MAX_TRIES_ON_CONCURRENCY_FAILURE:
                    raise
                self.env.cr.rollback()
                wait = random.uniform(0.0, 2**attempt)
                _logger.info("Customer tiering: %s, batch retried in %.1f s", error.pgerror.strip(), wait)
                time.sleep(wait)

    @api.model
    def _commit(self):
        """Commit what a run did before its batches, outside tests: a retried
        batch rolls back to here."""
        if not _testing():
            self.env.cr.commit()  # pylint: disable=invalid-commit


def _testing():
    """Whether this thread runs a test, whose transaction is never committed."""
    return getattr(threading.current_thread(), "testing", False)


def _job_key(job):
    """A stable signed 32-bit key per job name."""
    return zlib.crc32(job.encode()) - 2**31
