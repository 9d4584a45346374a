#!/usr/bin/env bash
# Creates database DB on the server at URL and loads the fixture with N users.
#   load-fixtures.sh URL DB N
set -euo pipefail
url=${1:?usage: load-fixtures.sh URL DB USERS}
db=${2:?}
users=${3:?}
here=$(cd "$(dirname "$0")/../fixtures" && pwd)
psql "$url" -qX -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"$db\"" >/dev/null
dburl="${url%/*}/$db"
psql "$dburl" -qX -v ON_ERROR_STOP=1 -v users="$users" \
  -f "$here/schema.sql" -f "$here/generate.sql" -f "$here/edge_cases.sql" -f "$here/constraints.sql" >/dev/null
echo "$dburl"
