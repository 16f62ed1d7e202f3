#!/bin/sh
# Patroni's bootstrap.post_bootstrap hook: runs once on the new cluster's first primary,
# with a superuser connection string as $1. Creates Parley's role and database; parleyd
# applies its schema migrations itself at start.
set -eu
psql "$1" -v ON_ERROR_STOP=1 -c "CREATE ROLE parley WITH LOGIN PASSWORD 'change-me-parley'"
psql "$1" -v ON_ERROR_STOP=1 -c "CREATE DATABASE parley OWNER parley"
