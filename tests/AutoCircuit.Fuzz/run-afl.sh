#!/usr/bin/env bash
# Time-boxed coverage-guided fuzzing of the readers with AFL++ and SharpFuzz (run by .ci/run; see README.md).
# usage: tests/AutoCircuit.Fuzz/run-afl.sh [SECONDS per target, default 60]
# Installs afl++ (apt) and the sharpfuzz instrumenter (dotnet tool, into artifacts/fuzz/tools) when missing, publishes
# this target, instruments the assemblies under test, fuzzes each target from its seeds, and fails when AFL saved a
# crash or a hang (each is printed with the command that replays it).
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-60}
work="$PWD/artifacts/fuzz"
mkdir -p "$work"

if ! command -v afl-fuzz >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq afl++ >/dev/null
fi
if [ ! -x "$work/tools/sharpfuzz" ]; then
  dotnet tool install SharpFuzz.CommandLine --version 2.3.0 --tool-path "$work/tools" >/dev/null
fi

rm -rf "$work/bin"
dotnet publish tests/AutoCircuit.Fuzz -c Release -o "$work/bin" >/dev/null
"$work/tools/sharpfuzz" "$work/bin/AutoCircuit.Models.dll"
"$work/tools/sharpfuzz" "$work/bin/AutoCircuit.Host.dll"

export AFL_SKIP_BIN_CHECK=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_SKIP_CPUFREQ=1 AFL_NO_UI=1
status=0
for target in dataset safetensors; do
  out="$work/findings/$target"
  rm -rf "$out"; mkdir -p "$work/findings"
  # -t: the first input loads the runtime (and libtorch); -V: stop after this many seconds.
  afl-fuzz -V "$seconds" -i "tests/AutoCircuit.Fuzz/seeds/$target" -o "$out" -t 20000 -m none \
    -- "$work/bin/AutoCircuit.Fuzz" "$target" --afl >"$work/$target.log" 2>&1 || {
      echo "afl-fuzz failed on $target (see $work/$target.log):" >&2; tail -n 20 "$work/$target.log" >&2; status=1; continue; }
  stats="$out/default/fuzzer_stats"
  execs=$(sed -n 's/^execs_done *: *//p' "$stats")
  crashes=$(sed -n 's/^saved_crashes *: *//p' "$stats")
  hangs=$(sed -n 's/^saved_hangs *: *//p' "$stats")
  corpus=$(sed -n 's/^corpus_count *: *//p' "$stats")
  echo "fuzz $target: ${seconds} s, $execs inputs, corpus $corpus, crashes $crashes, hangs $hangs"
  if [ "$crashes" != 0 ] || [ "$hangs" != 0 ]; then
    status=1
    for f in "$out"/default/crashes/id* "$out"/default/hangs/id*; do
      [ -e "$f" ] && echo "  finding: $f (replay: $work/bin/AutoCircuit.Fuzz $target '$f')" >&2
    done
  fi
done
exit $status
