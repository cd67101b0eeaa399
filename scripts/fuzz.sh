#!/usr/bin/env bash
# make fuzz: the points ledger's state machine (test_ledger_properties.py),
# longer and with random seeds, in a fresh database dropped afterwards.
# LEDGER_FUZZ_EXAMPLES (default 200) examples of up to LEDGER_FUZZ_STEPS
# (default 60) steps each. A failure is shrunk (LEDGER_FUZZ_SHRINK=0: not;
# shrinking real flows can take minutes) and printed as the steps to replay,
# with a @reproduce_failure blob. Extra arguments go to pytest.
source "$(dirname "$0")/common.sh"
setup_all
fresh_database fuzz

export LEDGER_FUZZ_EXAMPLES=${LEDGER_FUZZ_EXAMPLES:-200}
export LEDGER_FUZZ_STEPS=${LEDGER_FUZZ_STEPS:-60}
export LEDGER_FUZZ_RANDOM=1
export HYPOTHESIS_STORAGE_DIRECTORY=${HYPOTHESIS_STORAGE_DIRECTORY:-$REPO/.run/hypothesis}
log "fuzzing the points ledger: $LEDGER_FUZZ_EXAMPLES examples of up to $LEDGER_FUZZ_STEPS steps, random seeds"
cd "$REPO"
"$VENV/bin/python" -m pytest -p no:cacheprovider --odoo-config="$CONF" --odoo-database="$DB" \
  --odoo-log-level=warn -s "$@" customer_tiering/tests/test_ledger_properties.py -k test_state_machine
