#!/usr/bin/env bash
# Measures what docs/benchmarks.md reports: decode+assemble throughput per
# format against a bare encoding/json decode of the same ≥1M-span files,
# Assemble alone, and peak memory of `tracesim inspect` on 1M spans.
# Usage: scripts/bench.sh [outdir]   (needs /usr/bin/time; ~3 minutes)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-/tmp/tracesim-bench}
mkdir -p "$out"
echo "== machine"; nproc; grep -m1 'model name' /proc/cpuinfo || true; go version
echo "== decode+assemble vs bare encoding/json (1M spans, one file per format)"
GOMAXPROCS=1 go test -run '^$' -bench 'DecodeAssemble|BareDecode' -benchtime 3x -count 1 ./trace/load | grep -E '^Benchmark|^ok'
echo "== Assemble alone"
go test -run '^$' -bench 'Assemble' -benchtime 3x -count 1 ./trace | grep -E '^Benchmark|^ok'
echo "== peak memory (RSS) of tracesim inspect"
go build -o "$out/tracesim" ./cmd/tracesim
go run ./internal/tracegen/cmd/tracegen -format zipkin -traces 25000 -spans 40 -services 20 -exact -o "$out/many.json"
go run ./internal/tracegen/cmd/tracegen -format zipkin -traces 1 -spans 1000000 -services 20 -exact -o "$out/single.json"
for f in many single; do
  ls -la "$out/$f.json"
  /usr/bin/time -f "$f: %e s elapsed, %M KiB max RSS" "$out/tracesim" inspect "$out/$f.json" >/dev/null
done
echo "== whatif benchmark: 40-span model, 100 req/s, 10 simulated minutes, 10 paired replications"
/usr/bin/time -f "whatif40: %e s elapsed, %M KiB max RSS" "$out/tracesim" whatif examples/bench/whatif40.yaml >/dev/null
