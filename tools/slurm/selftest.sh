#!/usr/bin/env bash
# End-to-end check of tools/slurm/local-cluster.sh: starts the cluster, runs an 8-task array
# (%4 throttle), kills/cancels/fails tasks, retries them (scontrol requeue and a resubmission),
# prints what squeue / scontrol / sacct / the jobcomp file say in each state, stops the cluster and
# checks that nothing is left running. Exit 0 when every check held.
#
#   tools/slurm/selftest.sh            # output is the reference pasted into tools/slurm/README.md
#   SELFTEST_KEEP=1 tools/slurm/selftest.sh   # leave the cluster running at the end
set -u -o pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
CLUSTER="$HERE/local-cluster.sh"
WORK=$(mktemp -d /tmp/autocircuit-slurm-selftest.XXXXXX)
FAILS=0
now() { date +%s.%N; }
dt() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
check() { # description, command...
  local d=$1; shift
  if "$@"; then echo "CHECK ok:   $d"; else echo "CHECK FAIL: $d"; FAILS=$((FAILS + 1)); fi
}
show() { echo; echo "\$ $*"; "$@" 2>&1; }
SACCT_FORMAT=JobID,JobIDRaw,JobName,State,ExitCode,DerivedExitCode,Start,End,Elapsed,NodeList
acct() { # what sacct says about job $1 (with slurmdbd: AUTOCIRCUIT_SLURM_ACCOUNTING=slurmdbd)
  if [[ ${AUTOCIRCUIT_SLURM_ACCOUNTING:-none} == slurmdbd ]]; then
    show sacct -X -j "$1" --parsable2 --format=$SACCT_FORMAT
    [[ ${2:-} == dup ]] && show sacct -X -D -j "$1" --parsable2 --format=$SACCT_FORMAT
  fi
  return 0
}
wait_until() { # seconds, command...
  local end=$((SECONDS + $1)); shift
  until "$@"; do ((SECONDS < end)) || return 1; sleep 0.2; done
}

echo "== start"
t0=$(now)
env_text=$("$CLUSTER" start) || { echo "SKIP: cluster did not start"; exit 2; }
t1=$(now)
eval "$env_text"
echo "$env_text"
echo "TIME start (cold or warm as it came): $(dt "$t0" "$t1") s"
t0=$(now); "$CLUSTER" start >/dev/null; t1=$(now)
echo "TIME second start (idempotent, already up): $(dt "$t0" "$t1") s"
show sinfo -N -o '%N %P %T cpus=%c mem=%m'

mkdir -p "$WORK/out"
cat >"$WORK/task.sh" <<EOF
#!/bin/bash
#SBATCH --job-name=ac-selftest
#SBATCH --output=$WORK/out/%A_%a.log
#SBATCH --cpus-per-task=1
#SBATCH --mem=100M
#SBATCH --requeue
i=\$SLURM_ARRAY_TASK_ID
echo "\$(date +%s.%N) start task \$i job \$SLURM_JOB_ID array \$SLURM_ARRAY_JOB_ID restart \${SLURM_RESTART_COUNT:-0}" >> $WORK/out/events
echo \$\$ > $WORK/out/pid.\$i
# FAIL_INDEX exits 1 on the first attempt only
if [[ \$i == "\${FAIL_INDEX:-}" && ! -e $WORK/out/failed.\$i ]]; then touch $WORK/out/failed.\$i; exit 1; fi
sleep \${TASK_SECONDS:-3}
echo "\$i" > $WORK/out/result.\$i.tmp && mv $WORK/out/result.\$i.tmp $WORK/out/result.\$i
echo "\$(date +%s.%N) end task \$i" >> $WORK/out/events
EOF
chmod +x "$WORK/task.sh"

all_results() { local i; for i in "$@"; do [[ -s $WORK/out/result.$i ]] || return 1; done; }
array_done() { [[ -z $(squeue -h -j "$1" -t pending,running,completing,configuring,requeued,suspended -o '%i') ]]; }
task_state() { squeue -h -j "$1" -t all -o '%T' 2>/dev/null | head -1; }

echo
echo "== 1: sbatch --array=0-7%4, all 8 tasks finish"
t0=$(now)
JID=$(sbatch --parsable --array=0-7%4 "$WORK/task.sh")
echo "submitted array job $JID"
wait_until 30 test -s "$WORK/out/events"
first=$(awk '$2=="start" {print $1; exit}' "$WORK/out/events")
echo "TIME sbatch -> first task start (first job after a cold start): $(dt "$t0" "$first") s"
sleep 1
show squeue -j "$JID"
show squeue -h -r -j "$JID" -t all -o '%i|%A|%F|%K|%T|%r'
wait_until 60 array_done "$JID"
t1=$(now)
echo "TIME 8 tasks x 3 s on 2 CPUs, sbatch -> last task done: $(dt "$t0" "$t1") s"
check "all 8 result files" all_results 0 1 2 3 4 5 6 7
echo "max tasks running at once: $(awk '$2=="start"{c++} $2=="end"{c--} {if (c>m) m=c} END {print m}' <(sort -n "$WORK/out/events"))"
show squeue -j "$JID" -t all -o '%.10i %.8A %.6F %.4K %.10T %.8M %R'
show scontrol show job -o "${JID}_3"
show sacct -j "$JID"
acct "$JID"
if [[ ${AUTOCIRCUIT_SLURM_ACCOUNTING:-none} == slurmdbd ]]; then
  show sacct -j "$JID" --parsable2 --format=$SACCT_FORMAT  # without -X: the batch steps too
fi
show sacct -c --parsable2 --format=JobID,JobIDRaw,JobName,State,ExitCode,Start,End
echo
echo "\$ tail -n 2 \$AUTOCIRCUIT_SLURM_JOBCOMP"
tail -n 2 "$AUTOCIRCUIT_SLURM_JOBCOMP"

echo
echo "== 1b: latency of single jobs on the warm cluster (sbatch -> job script running)"
for k in 1 2 3 4 5; do
  t0=$(now)
  j=$(sbatch --parsable --output=/dev/null --wrap "date +%s.%N > $WORK/out/latency.\$SLURM_JOB_ID")
  wait_until 30 test -s "$WORK/out/latency.$j"
  echo "TIME warm sbatch -> start, job $j: $(dt "$t0" "$(cat "$WORK/out/latency.$j")") s"
done

echo
echo "== 2: one task killed mid-run (kill -9 of its process), one cancelled (scancel), one exits 1"
rm -f "$WORK"/out/result.* "$WORK"/out/pid.* "$WORK"/out/events
t0=$(now)
JID=$(FAIL_INDEX=5 TASK_SECONDS=8 sbatch --parsable --array=0-7%4 "$WORK/task.sh")
echo "submitted array job $JID (FAIL_INDEX=5, TASK_SECONDS=8)"
wait_until 30 test -s "$WORK/out/pid.1"
sleep 1
show squeue -j "$JID" -t all -o '%.10i %.8A %.6F %.4K %.10T %.8M %R'
show scontrol show job -o "${JID}_0"
acct "$JID"
victim=$(cat "$WORK/out/pid.0")
echo "killing task 0's batch script, pid $victim"
kill -9 "$victim"
show scancel "${JID}_1"
wait_until 20 bash -c "[[ \$(squeue -h -j ${JID}_0 -t all -o %T) == FAILED && \$(squeue -h -j ${JID}_1 -t all -o %T) == CANCELLED ]]"
show squeue -j "$JID" -t all -o '%.10i %.8A %.6F %.4K %.10T %.8M %.10r %R'
show scontrol show job -o "${JID}_0"
show scontrol show job -o "${JID}_1"
wait_until 90 array_done "$JID"
show squeue -h -j "$JID" -t all -o '%i|%A|%F|%K|%T|%r|%M'
show scontrol show job -o "${JID}_5"
acct "$JID"
echo
echo "\$ grep ArrayJobId=$JID \$AUTOCIRCUIT_SLURM_JOBCOMP | sed -E 's/ (UserId|GroupId|Partition|TimeLimit|NodeList|NodeCnt|ProcCnt|WorkDir|ReservationName|Tres|Account|QOS|WcKey|Cluster|SubmitTime|EligibleTime)=[^ ]*//g'"
grep "ArrayJobId=$JID " "$AUTOCIRCUIT_SLURM_JOBCOMP" \
  | sed -E 's/ (UserId|GroupId|Partition|TimeLimit|NodeList|NodeCnt|ProcCnt|WorkDir|ReservationName|Tres|Account|QOS|WcKey|Cluster|SubmitTime|EligibleTime)=[^ ]*//g'
check "tasks 0 (killed), 1 (cancelled), 5 (exit 1) have no result, the other 5 have" \
  bash -c "! ls $WORK/out/result.0 $WORK/out/result.1 $WORK/out/result.5 2>/dev/null && ls $WORK/out/result.{2,3,4,6,7} >/dev/null"
check "killed task 0 is FAILED" test "$(task_state "${JID}_0")" = FAILED
check "cancelled task 1 is CANCELLED" test "$(task_state "${JID}_1")" = CANCELLED
check "task 5 (exit 1) is FAILED" test "$(task_state "${JID}_5")" = FAILED

echo
echo "== 3: retry: scontrol requeue of the failed and cancelled tasks (same job ids)"
tq=$(now)
show scontrol requeue "${JID}_0,${JID}_1,${JID}_5"
sleep 0.3
show squeue -j "$JID" -t all -o '%.10i %.8A %.6F %.4K %.10T %.8M %.10r %R'
show scontrol show job -o "${JID}_0"
acct "$JID"
wait_until 60 array_done "$JID"
show squeue -h -j "$JID" -t all -o '%i|%A|%F|%K|%T|%r|%M'
show scontrol show job -o "${JID}_0"
check "requeued tasks 0, 1, 5 completed: all 8 results" all_results 0 1 2 3 4 5 6 7
check "task 0 is COMPLETED after requeue" test "$(task_state "${JID}_0")" = COMPLETED
acct "$JID" dup
echo "restart counts seen by the tasks:"; grep -E 'start task (0|1|5) ' "$WORK/out/events"
echo "TIME scontrol requeue -> first requeued task running again: $(dt "$tq" "$(awk '$2=="start" && $10=="1" {print $1; exit}' "$WORK/out/events")") s"
echo
echo "\$ grep -E 'ArrayJobId=$JID ArrayTaskId=(0|1|5) ' \$AUTOCIRCUIT_SLURM_JOBCOMP | (same sed)"
grep -E "ArrayJobId=$JID ArrayTaskId=(0|1|5) " "$AUTOCIRCUIT_SLURM_JOBCOMP" \
  | sed -E 's/ (UserId|GroupId|Partition|TimeLimit|NodeList|NodeCnt|ProcCnt|WorkDir|ReservationName|Tres|Account|QOS|WcKey|Cluster|SubmitTime|EligibleTime)=[^ ]*//g'

echo
echo "== 4: requeue of a RUNNING task (scontrol requeue kills it and runs it again)"
rm -f "$WORK"/out/result.* "$WORK"/out/pid.*
JID=$(TASK_SECONDS=6 sbatch --parsable --array=0-1 "$WORK/task.sh")
wait_until 30 test -s "$WORK/out/pid.1"
show scontrol requeue "${JID}_1"
sleep 0.3
show squeue -j "$JID" -t all -o '%.10i %.8A %.6F %.4K %.10T %.8M %.10r %R'
show scontrol show job -o "${JID}_1"
acct "$JID"
wait_until 60 array_done "$JID"
check "running task requeued and completed" all_results 0 1
acct "$JID" dup
show squeue -h -j "$JID" -t all -o '%i|%A|%F|%K|%T|%r|%M'

echo
echo "== 5: resubmission of one index as a new array job (the other retry path)"
rm -f "$WORK/out/result.3"
JID2=$(sbatch --parsable --array=3 "$WORK/task.sh")
wait_until 30 array_done "$JID2"
check "resubmitted index 3 completed" all_results 3
show squeue -h -j "$JID2" -t all -o '%i|%A|%F|%K|%T|%r|%M'

echo
if [[ ${AUTOCIRCUIT_SLURM_ACCOUNTING:-none} == slurmdbd ]]; then
  echo
  echo "== sacct over all jobs of this run (what sweep status would read on a real cluster)"
  show sacct -X -a -S now-1hour --parsable2 --format=JobID,JobIDRaw,State,ExitCode
  check "sacct reports array tasks as <array>_<index>" bash -c "sacct -X -n -j ${JID} --parsable2 --format=JobID | grep -qx '${JID}_1'"
fi

echo
echo "== stop"
if [[ ${SELFTEST_KEEP:-0} == 1 ]]; then
  echo "SELFTEST_KEEP=1: cluster left running"
else
  t0=$(now); "$CLUSTER" stop; t1=$(now)
  echo "TIME stop: $(dt "$t0" "$t1") s"
  check "no munged/slurmctld/slurmd/slurmstepd left" \
    bash -c "! ps -eo comm= | grep -qE '^(munged|slurmctld|slurmd|slurmstepd|slurmscriptd)$'"
  check "cluster folder removed" test ! -e "${AUTOCIRCUIT_SLURM_DIR}"
  check "status says down" bash -c "! '$CLUSTER' status >/dev/null"
fi
rm -rf "$WORK"
echo
if ((FAILS)); then echo "selftest: $FAILS check(s) failed"; exit 1; fi
echo "selftest: all checks passed"
