"""The verdict of make test on a log of Odoo's test runner.

    python scripts/test_report.py ODOO_LOG [--odoo-exit-code N] [--collected PYTEST_COLLECT_OUTPUT]

Prints the tests run, failures, errors and skips (with the end of each
failure's report) and exits 1 when any test failed, erred or was skipped,
when no test ran, when Odoo exited with an error, or, given the output of
``pytest --collect-only -q`` on the same suite, when the tests Odoo ran are not
exactly the tests pytest-odoo collects (compared as ``addon.module.Class.test``).

The log may hold several runs of Odoo's runner (the add-on, then its glue
add-ons installed on the same database): each run's failures count.
"""

import argparse
import re
import sys
from pathlib import Path

# The add-on and its glue add-ons (customer_tiering_pos, customer_tiering_mass_mailing...).
ADDON = r"customer_tiering(?:_\w+)?"
# "2024-01-20 00:00:00,000 1234 INFO db odoo.addons.x.tests.test_y: message": frozen
# clocks put any date in front, so only the shape of the line is read.
LOG_LINE = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} \d+ (?P<level>[A-Z]+) \S+ (?P<logger>[\w.]+): (?P<msg>.*)$"
)
TEST_LOGGER = re.compile(rf"^odoo\.addons\.(?P<addon>{ADDON})\.tests\.(?P<module>\w+)$")
STARTED = re.compile(r"^Starting (?P<test>\w+\.\w+) \.\.\.")
PROBLEM = re.compile(r"^(?P<kind>FAIL|ERROR): (?P<test>.*)$")
SKIPPED = re.compile(r"^skipped (?P<test>\S+) : (?P<reason>.*)$")
TOTALS = re.compile(r"^(?P<failed>\d+) failed, (?P<errors>\d+) error\(s\) of (?P<run>\d+) tests when loading database")
COLLECTED = re.compile(rf"^(?P<addon>{ADDON})/tests/(?P<module>\w+)\.py::(?P<cls>\w+)::(?P<test>\w+)$")
TAIL_LINES = 15
SHOWN_IDS = 30


class OdooLog:
    """What Odoo's runner logged about the add-on's tests."""

    def __init__(self, path):
        self.started = []  # module.Class.test, in order
        self.problems = []  # (FAIL or ERROR, test, report lines)
        self.skipped = []  # (test, reason)
        self.totals = None  # (failed, errors, run) summed over the runs' last lines
        self.other_errors = 0  # ERROR lines that are not a test's failure (e.g. expected bad queries)
        current = None
        for line in Path(path).read_text(errors="replace").splitlines():
            match = LOG_LINE.match(line)
            if not match:
                if current is not None:
                    current.append(line)
                continue
            current = self._read(match["level"], match["logger"], match["msg"])

    def _read(self, level, logger, msg):
        """Record one log line; return the list its continuation lines go to, if any."""
        test_module = TEST_LOGGER.match(logger)
        module = f"{test_module['addon']}.{test_module['module']}" if test_module else logger
        if logger == "odoo.tests.result" and (totals := TOTALS.match(msg)):
            run = tuple(int(totals[name]) for name in ("failed", "errors", "run"))
            self.totals = tuple(map(sum, zip(self.totals or (0, 0, 0), run, strict=True)))
        elif test_module and (started := STARTED.match(msg)):
            self.started.append(f"{module}.{started['test']}")
        elif level == "ERROR" and (problem := PROBLEM.match(msg)):
            # A class's set-up error is logged from Odoo's own modules, not the test's.
            self.problems.append((problem["kind"], f"{module}: {problem['test']}", []))
            return self.problems[-1][2]
        elif test_module and (skipped := SKIPPED.match(msg)):
            self.skipped.append((f"{module}.{skipped['test']}", skipped["reason"]))
        elif level in ("ERROR", "CRITICAL"):
            self.other_errors += 1
        return None


def collected_ids(path):
    """addon.module.Class.test of every test in ``pytest --collect-only -q`` output."""
    ids = set()
    for line in Path(path).read_text(errors="replace").splitlines():
        match = COLLECTED.match(line.strip())
        if match:
            ids.add(f"{match['addon']}.{match['module']}.{match['cls']}.{match['test']}")
    return ids


def report(log, exit_code):
    """Print the summary; return the reasons the run fails."""
    failures = [p for p in log.problems if p[0] == "FAIL"]
    odoo_count = "none logged"
    if log.totals:
        odoo_count = "{} failed, {} error(s) of {} tests".format(*log.totals)
    errors = [p for p in log.problems if p[0] == "ERROR"]
    print(
        f"Odoo runner: {len(set(log.started))} tests run, {len(failures)} failures, "
        f"{len(errors)} errors, {len(log.skipped)} skipped"
        f" (Odoo's count: {odoo_count})"
    )
    if log.other_errors:
        print(f"  ({log.other_errors} other ERROR log lines, e.g. the expected failures of concurrency tests)")
    for kind, test, lines in log.problems:
        print(f"\n{kind}: {test}")
        print("\n".join(f"    {line}" for line in lines[-TAIL_LINES:]))
    for test, reason in log.skipped:
        print(f"SKIPPED: {test}: {reason}")
    reasons = []
    if not log.started:
        reasons.append("no test ran")
    if log.problems:
        reasons.append(f"{len(failures)} failures and {len(errors)} errors")
    if log.totals and (log.totals[0] or log.totals[1]):
        reasons.append("Odoo counted failures or errors")
    if log.skipped:
        reasons.append(f"{len(log.skipped)} skipped tests: every test must run")
    if exit_code:
        reasons.append(f"Odoo exited with code {exit_code}")
    return reasons


def compare(ran, collected):
    """Print the two counts and the differences; return the reasons the run fails."""
    print(f"Same tests in both runners? Odoo ran {len(ran)}, pytest-odoo collects {len(collected)}")
    reasons = []
    for label, missing in (("collected by pytest-odoo, not run by Odoo", collected - ran),
                           ("run by Odoo, not collected by pytest-odoo", ran - collected)):  # fmt: skip
        if missing:
            reasons.append(f"{len(missing)} tests {label}")
            print(f"  {label}:")
            print("\n".join(f"    {test}" for test in sorted(missing)[:SHOWN_IDS]))
    return reasons


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("log", help="the log of odoo-bin --test-enable --log-level=test")
    parser.add_argument("--odoo-exit-code", type=int, default=0)
    parser.add_argument("--collected", help="the output of pytest --collect-only -q on the same suite")
    args = parser.parse_args()
    log = OdooLog(args.log)
    reasons = report(log, args.odoo_exit_code)
    if args.collected:
        reasons += compare(set(log.started), collected_ids(args.collected))
    if reasons:
        print(f"\nmake test FAILED: {'; '.join(reasons)} (full log: {args.log})")
        return 1
    print("\nmake test passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
