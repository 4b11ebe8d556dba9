#!/usr/bin/env bash
# Every scenario, on both databases where it applies; JSON results into bench/results/.
# Run it on an otherwise idle machine (about 40 minutes on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
OUT=bench/results
mkdir -p "$OUT"
stamp=$(date +%Y-%m-%d)
for db in sqlite postgresql; do
  for processes in 1 2; do
    $PY -m bench.api --database $db --processes $processes --seconds 10 --runs 3 \
      > "$OUT/$stamp-api-$db-$processes.json"
  done
  for carrier in usps fedex; do
    $PY -m bench.engine --database $db --carrier $carrier --packages 20000 --runs 3 \
      > "$OUT/$stamp-engine-$db-$carrier.json"
  done
  $PY -m bench.webhooks --database $db --deliveries 10000 --runs 3 --seconds 5 \
    > "$OUT/$stamp-webhooks-$db.json"
done
$PY -m bench.scale --database sqlite --sizes 10000,100000 --worker-seconds 15 > "$OUT/$stamp-scale-sqlite.json"
$PY -m bench.scale --database postgresql --sizes 10000,100000,1000000 --worker-seconds 15 \
  > "$OUT/$stamp-scale-postgresql.json"
$PY -m bench.scaleout --packages 10000 --seconds 10 --runs 3 > "$OUT/$stamp-scaleout.json"
