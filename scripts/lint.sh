#!/usr/bin/env bash
# ruff for style and bugs, pylint-odoo for Odoo conventions.
source "$(dirname "$0")/common.sh"
setup_all
cd "$REPO"
"$VENV/bin/ruff" check customer_tiering scripts conftest.py
"$VENV/bin/ruff" format --check customer_tiering scripts conftest.py
"$VENV/bin/pylint" --load-plugins=pylint_odoo --disable=all \
  --enable=odoolint,pointless-statement,unused-import,unused-variable \
  --disable=manifest-maintainers-list,missing-readme,website-manifest-key-not-valid-uri,manifest-required-author \
  --valid-odoo-versions=18.0 customer_tiering
