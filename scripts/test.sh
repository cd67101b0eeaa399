#!/usr/bin/env bash
# make test: the whole suite, browser tours included, in a fresh database
# dropped afterwards, even on failure.
#
# Odoo's own runner installs the add-on and runs every test once, then installs
# the glue add-ons (customer_tiering_*, which Odoo would auto-install next to
# mass_mailing or point_of_sale) into the same database and runs theirs: the
# add-on's own suite runs without their dependencies, as most companies have it.
# One log, kept in .run/logs/. scripts/test_report.py then prints the tests run, failures,
# errors and skips, and fails the run on any failure, error or skipped test,
# on no test at all, and when the tests Odoo ran are not exactly the ones
# pytest-odoo collects from the same database.
#
# TEST_RUNNER=pytest (make test-pytest): the add-on installed, then the suite
# run by pytest-odoo, whose root conftest.py fails the run on a skipped test;
# extra arguments go to pytest.
source "$(dirname "$0")/common.sh"
setup_all
ensure_test_tools

# The glue add-ons next to customer_tiering, comma-separated.
glue_addons() {
  local manifest names=()
  for manifest in "$REPO"/customer_tiering_*/__manifest__.py; do
    [ -e "$manifest" ] && names+=("$(basename "$(dirname "$manifest")")")
  done
  (IFS=,; echo "${names[*]}")
}

# Test folders of the add-on and its glue add-ons, for pytest.
test_folders() {
  local addon
  for addon in customer_tiering ${GLUE//,/ }; do echo "$addon/tests"; done
}

run_with_pytest() {
  fresh_database test
  GLUE=$(glue_addons)
  if [ -n "$GLUE" ]; then
    log "installing the glue add-ons $GLUE into $DB"
    "${ODOO_BIN[@]}" -c "$CONF" -i "$GLUE" --stop-after-init --log-level=warn >> "$RUN_DIR/install.log" 2>&1 \
      || { tail -n 60 "$RUN_DIR/install.log" >&2; die "installing $GLUE failed"; }
  fi
  log "running the test suite with pytest-odoo"
  cd "$REPO"
  "$VENV/bin/python" -m pytest -p no:cacheprovider --odoo-config="$CONF" --odoo-database="$DB" --odoo-http \
    --odoo-log-level=warn "$@" $(test_folders)
}

run_with_odoo() {
  [ $# -eq 0 ] || die "Odoo's runner takes no arguments; TEST_RUNNER=pytest passes them to pytest"
  new_database test
  echo "http_port = $(free_port)" >> "$CONF"
  mkdir -p "$REPO/.run/logs"
  local test_log="$REPO/.run/logs/$DB.log" collected="$RUN_DIR/collected.txt" status=0
  log "installing customer_tiering into $DB and running the test suite with Odoo's runner (log: $test_log)"
  "${ODOO_BIN[@]}" -c "$CONF" -i customer_tiering --test-enable --test-tags /customer_tiering \
    --stop-after-init --log-level=test > "$test_log" 2>&1 || status=$?
  GLUE=$(glue_addons)
  if [ -n "$GLUE" ] && [ "$status" -eq 0 ]; then
    log "installing the glue add-ons $GLUE into $DB and running their tests"
    "${ODOO_BIN[@]}" -c "$CONF" -i "$GLUE" --test-enable --test-tags "/${GLUE//,/,/}" \
      --stop-after-init --log-level=test >> "$test_log" 2>&1 || status=$?
  fi
  log "collecting the suite with pytest-odoo, to compare"
  cd "$REPO"
  "$VENV/bin/python" -m pytest -p no:cacheprovider --collect-only -q --odoo-config="$CONF" --odoo-database="$DB" \
    $(test_folders) > "$collected" 2>&1 || { tail -n 40 "$collected" >&2; die "pytest-odoo could not collect the suite"; }
  "$VENV/bin/python" "$REPO/scripts/test_report.py" "$test_log" --odoo-exit-code "$status" --collected "$collected"
}

case "${TEST_RUNNER:-odoo}" in
  odoo) run_with_odoo "$@" ;;
  pytest) run_with_pytest "$@" ;;
  *) die "TEST_RUNNER is odoo (the default) or pytest, not $TEST_RUNNER" ;;
esac
