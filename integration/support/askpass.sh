#!/bin/sh
# AIRLOCK_ASKPASS for integration tests: see askpass.ts.
repo=$(cd "$(dirname "$0")/../.." && pwd)
node="$repo/.tools/node22/node_modules/node/bin/node"
[ -x "$node" ] || node=node
cd "$repo" && exec "$node" --import tsx "$repo/integration/support/askpass.ts" "$@"
