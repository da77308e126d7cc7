#!/usr/bin/env bash
# Runs the whole test suite on a fresh Debian machine and prints a closing line "N passed, N failed".
# Installs what the tests need first: gcc (the fake NVML library is built from C), setpriv (permission tests run
# the tool as an unprivileged user when the suite runs as root), chromium (report.html is opened headless) and prometheus
# (e2t fleet is tested against a real server).
set -uo pipefail
cd "$(dirname "$0")"

if ! command -v dotnet >/dev/null 2>&1; then
  echo "test.sh: the .NET 10 SDK is required (dotnet not found on PATH)." >&2
  exit 1
fi

install() {
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "test.sh: installing $* (Debian packages)" >&2
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}
command -v gcc >/dev/null 2>&1 || install gcc libc6-dev
command -v setpriv >/dev/null 2>&1 || install util-linux
command -v chromium >/dev/null 2>&1 || install chromium
# The fleet tests start their own Prometheus on a loopback port (Debian 12 ships 2.42); the system service stays off.
[ -x /usr/bin/prometheus ] || install prometheus

log=$(mktemp)
trap 'rm -f "$log"' EXIT
# minimal: a failing test prints its message and stack, so a CI log says what failed and why.
dotnet test EnergyToToken.slnx --nologo --verbosity minimal 2>&1 | tee "$log"
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
