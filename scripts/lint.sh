#!/usr/bin/env bash
# ruff for style and bugs, pylint-odoo for Odoo conventions.
source "$(dirname "$0")/common.sh"
setup_all
cd "$REPO"
shopt -s nullglob
ADDONS=(customer_tiering customer_tiering_*/)
"$VENV/bin/ruff" check "${ADDONS[@]}" scripts conftest.py
"$VENV/bin/ruff" format --check "${ADDONS[@]}" scripts conftest.py
"$VENV/bin/pylint" --load-plugins=pylint_odoo --disable=all \
  --enable=odoolint,pointless-statement,unused-import,unused-variable \
  --disable=manifest-maintainers-list,missing-readme,website-manifest-key-not-valid-uri,manifest-required-author \
  --valid-odoo-versions=18.0 "${ADDONS[@]}"
