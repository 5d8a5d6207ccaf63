#!/usr/bin/env bash
# A served run and a join, on one machine: what two people would type on two machines.
#
#   examples/distributed/serve_and_join.sh [CONFIG] [extra `ezspark run` options]
#
# 1. The run's owner serves the run; after alone_training_iterations generations it
#    prints the join command and writes the invitation (OUT/serve/join.pem).
# 2. A helper runs the printed command (on another machine they would first copy
#    join.pem there, and the address would be the owner's reachable IP, not 127.0.0.1).
# 3. At the end, the throughput of the generations evaluated alone and of those shared,
#    from the run's history (ezspark inspect --json).  The default config is small, so
#    that the whole script takes about a minute on two cores.
set -euo pipefail
CONFIG=${1:-examples/distributed/slow-cartpole.json}
shift || true
OUT=${OUT:-runs/served-example}
LOG=$(mktemp)
trap 'rm -f "$LOG"' EXIT

python -m ezspark run "$CONFIG" --out "$OUT" --overwrite --serve 127.0.0.1:0 "$@" \
    > >(tee "$LOG") &
RUN=$!
until grep -q "python -m ezspark join" "$LOG"; do
    if ! kill -0 "$RUN" 2>/dev/null; then wait "$RUN"; exit $?; fi
    sleep 0.5
done
JOIN=$(grep -m1 "python -m ezspark join" "$LOG")
echo "+ $JOIN --workers 2"
$JOIN --workers 2 &
JOINER=$!
wait "$RUN"
wait "$JOINER"
python -m ezspark inspect "$OUT" --json | python -c '
import json, sys
run = json.load(sys.stdin)
alone = run["config"]["alone_training_iterations"]
for name, rows in (("alone", [h for h in run["history"] if h["generation"] < alone]),
                   ("shared", [h for h in run["history"] if h["generation"] >= alone])):
    if rows:
        first, last = rows[0]["generation"], rows[-1]["generation"]
        seconds = sum(h["seconds"] for h in rows)
        steps = sum(h["env_steps"] for h in rows) / seconds
        genomes = sum(h["evaluations"] for h in rows) / seconds
        print(f"throughput {name}, generations {first}-{last}: {steps:,.0f} env steps/s, "
              f"{genomes:,.1f} genomes/s")
'
