#!/usr/bin/env bash
# The same scenarios in two checkouts of shiptrack on one machine, alternating one run of each, so
# that a change is compared with the code before it and not with a table from another machine.
#
#   bench/compare.sh BEFORE_CHECKOUT AFTER_CHECKOUT OUT_DIR [ROUNDS]
#
# Each checkout runs its own bench/ with its own .venv (make install-dev in each). One JSON result
# per scenario, checkout and round lands in OUT_DIR as <scenario>-<before|after>-<round>.json;
# `python -m bench.compare OUT_DIR` prints the medians side by side. ONLY=<extended regex> runs
# only the scenarios whose name matches it (ONLY='^webhooks' for the dispatcher's).
set -euo pipefail
before=$(cd "$1" && pwd)
after=$(cd "$2" && pwd)
out=$(mkdir -p "$3" && cd "$3" && pwd)
rounds=${4:-3}

scenarios=(
  "api-sqlite-1:bench.api --database sqlite --processes 1 --seconds 10 --runs 1"
  "api-postgresql-1:bench.api --database postgresql --processes 1 --seconds 10 --runs 1"
  "api-sqlite-2:bench.api --database sqlite --processes 2 --seconds 10 --runs 1"
  "api-postgresql-2:bench.api --database postgresql --processes 2 --seconds 10 --runs 1"
  "engine-sqlite-usps:bench.engine --database sqlite --carrier usps --packages 20000 --runs 1"
  "engine-postgresql-usps:bench.engine --database postgresql --carrier usps --packages 20000 --runs 1"
  "engine-sqlite-fedex:bench.engine --database sqlite --carrier fedex --packages 20000 --runs 1"
  "engine-postgresql-fedex:bench.engine --database postgresql --carrier fedex --packages 20000 --runs 1"
  "webhooks-sqlite:bench.webhooks --database sqlite --deliveries 10000 --runs 1 --seconds 5"
  "webhooks-postgresql:bench.webhooks --database postgresql --deliveries 10000 --runs 1 --seconds 5"
  "webhooks-standard-sqlite:bench.webhooks --database sqlite --deliveries 20000 --runs 1 --throughput-only --signatures standard"
  "webhooks-standard-postgresql:bench.webhooks --database postgresql --deliveries 20000 --runs 1 --throughput-only --signatures standard"
  "webhooks-both-sqlite:bench.webhooks --database sqlite --deliveries 20000 --runs 1 --throughput-only"
  "webhooks-both-postgresql:bench.webhooks --database postgresql --deliveries 20000 --runs 1 --throughput-only"
  "scaleout:bench.scaleout --packages 10000 --seconds 10 --runs 1"
)

for round in $(seq 1 "$rounds"); do
  for entry in "${scenarios[@]}"; do
    name=${entry%%:*}
    command=${entry#*:}
    [[ -n ${ONLY:-} && ! $name =~ $ONLY ]] && continue
    # Which checkout goes first alternates by round, so neither always meets a warmer machine.
    if (( round % 2 )); then order=(before after); else order=(after before); fi
    for side in "${order[@]}"; do
      if [[ $side == before ]]; then dir=$before; else dir=$after; fi
      echo "round $round: $name ($side)" >&2
      # shellcheck disable=SC2086
      (cd "$dir" && .venv/bin/python -m $command) > "$out/$name-$side-$round.json"
    done
  done
done
