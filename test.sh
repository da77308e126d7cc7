#!/usr/bin/env bash
# Runs the whole test suite on a fresh Debian machine and prints a closing line "N passed, N failed".
# Installs what the tests need first (today: only the .NET SDK, which the machine has; later issues add servers).
set -uo pipefail
cd "$(dirname "$0")"

if ! command -v dotnet >/dev/null 2>&1; then
  echo "test.sh: the .NET 10 SDK is required (dotnet not found on PATH)." >&2
  exit 1
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
dotnet test EnergyToToken.slnx --nologo --verbosity quiet 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

# dotnet test prints one summary line per test assembly: "Passed!  - Failed: 0, Passed: 95, Skipped: 0, ...".
passed=$(grep -oE 'Passed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
failed=$(grep -oE 'Failed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
skipped=$(grep -oE 'Skipped: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  # The build failed or the runner crashed: no test result, but not a pass either.
  failed=1
fi
echo "${passed} passed, ${failed} failed, ${skipped} skipped"
[ "$status" -eq 0 ] && [ "$failed" -eq 0 ]
