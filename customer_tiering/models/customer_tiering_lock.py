import logging
import zlib
from contextlib import contextmanager

from odoo import api, models
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
        if not acquired:
            _logger.info("Customer tiering: %s for %s is already running, skipped", job, company.name)
        try:
            yield acquired
        except Exception:
            if acquired:
                # A failed transaction refuses every statement, the unlock too.
                self.env.cr.rollback()
                self._unlock(key)
            raise
        if acquired:
            self._unlock(key)

    def _unlock(self, key):
        self.env.execute_query(SQL("SELECT pg_advisory_unlock(%s, %s)", *key))


def _job_key(job):
    """A stable signed 32-bit key per job name."""
    return zlib.crc32(job.encode()) - 2**31
