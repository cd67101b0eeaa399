"""One nightly job of customer_tiering in a process of its own, for the
kill-safety and retry tests: small batches, and optionally a SIGKILL to
itself (what the OOM killer or a node restart does) at a given point.

    python job_process.py CONFIG DATABASE JOB BATCH_SIZE [STEP:N]

JOB is ``reclassify``, ``loyalty``, ``followup`` (with care) or ``digest``,
run as its cron runs it. STEP:N kills the process the N-th time it reaches
STEP:

- ``write``: inside a batch, after the partners were updated (reclassify) or
  the points inserted (loyalty), before the batch commits;
- ``commit``: right after a batch committed (``write`` exists for the
  first two jobs only).
"""

import os
import signal
import sys

import odoo
from odoo import SUPERUSER_ID, api


def kill_on(cls, method_name, nth):
    """Make ``cls.method_name`` run, then kill the process on its ``nth`` call."""
    original = getattr(cls, method_name)
    calls = []

    def wrapper(self, *args, **kwargs):
        result = original(self, *args, **kwargs)
        calls.append(1)
        if len(calls) == nth:
            os.kill(os.getpid(), signal.SIGKILL)
        return result

    setattr(cls, method_name, wrapper)


def main(config_path, database, job, batch_size, kill_point=None):
    odoo.tools.config.parse_config(["-c", config_path, "-d", database, "--log-level=info"])
    registry = odoo.modules.registry.Registry(database)
    # The add-on is importable once the registry has set up the addons path;
    # the registry's model classes inherit the patched methods.
    # A script, not part of the package: no relative import.
    # pylint: disable-next=odoo-addons-relative-import
    from odoo.addons.customer_tiering.models import (  # noqa: PLC0415
        customer_care_job,
        customer_followup_job,
        customer_loyalty_ledger,
        customer_tiering_job,
        customer_tiering_lock,
    )

    customer_tiering_job.CHUNK_SIZE = customer_loyalty_ledger.CHUNK = batch_size
    customer_followup_job.BATCH = customer_tiering_job.RESOURCES_BATCH = batch_size
    customer_care_job.CARE_BATCH = batch_size
    if kill_point:
        step, nth = kill_point.split(":")
        write_step = {
            "reclassify": (customer_tiering_job.CustomerTieringJob, "_unlock_expired"),
            "loyalty": (customer_loyalty_ledger.CustomerLoyaltyLedger, "_catch_up_chunk"),
        }.get(job)
        cls, method_name = write_step if step == "write" else (customer_tiering_lock.CustomerTieringLock, "_run_batch")
        kill_on(cls, method_name, int(nth))
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        crons = {
            "reclassify": env["customer.tiering.job"]._cron_reclassify,
            "loyalty": env["customer.loyalty.ledger"]._cron_loyalty,
            "followup": env["customer.followup.job"]._cron_followup,
            "digest": env["customer.followup.digest"]._cron_digest,
        }
        crons[job]()


if __name__ == "__main__":
    main(*sys.argv[1:4], int(sys.argv[4]), *sys.argv[5:])
