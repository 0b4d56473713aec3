#!/usr/bin/env bash
# Every test: unit, integration (real Kafka broker), e2e (Prometheus, Alertmanager), deploy checks.
set -euo pipefail
build=${1:-build}
cd "$build"
ctest --output-on-failure -j2 --timeout 600
