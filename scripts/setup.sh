#!/usr/bin/env bash
# Prepare Odoo, the virtualenv and PostgreSQL without running anything else.
source "$(dirname "$0")/common.sh"
setup_all
log "ready: Odoo in $ODOO_SRC, Python in $VENV"
