#!/usr/bin/env bash
# A single-node Slurm cluster for tests: munged + slurmctld + slurmd, everything under one folder.
#
#   eval "$(tools/slurm/local-cluster.sh start)"   # installs slurm-wlm + munge when missing (root, apt)
#   sbatch --array=0-7%4 job.sh; squeue; sacct; scontrol show job ...
#   tools/slurm/local-cluster.sh status            # exit 0 when up, 3 when down
#   tools/slurm/local-cluster.sh stop              # cancels jobs, stops the daemons, removes the folder
#   tools/slurm/local-cluster.sh env               # prints the environment again (exit 3 when down)
#
# stdout of `start` is only shell `export` lines (safe for eval); progress goes to stderr.
# On failure `start` prints ONE line to stderr, "local-cluster.sh: cannot start Slurm: <reason>",
# prints nothing on stdout, and exits 2 (tests skip with that line as the reason).
#
# Environment:
#   AUTOCIRCUIT_SLURM_DIR         folder for everything (default /tmp/autocircuit-slurm)
#   AUTOCIRCUIT_SLURM_PORT        first of 4 ports: slurmctld, slurmd, MariaDB, slurmdbd (default: the first
#                                 4 free consecutive ports from 16817)
#   AUTOCIRCUIT_SLURM_NO_INSTALL  1: never run apt-get (fail when Slurm is missing)
#   AUTOCIRCUIT_SLURM_TIMEOUT     seconds to wait for the node to become idle (default 60)
#   AUTOCIRCUIT_SLURM_MIN_JOB_AGE seconds finished jobs stay visible to squeue/scontrol (default 86400)
#   AUTOCIRCUIT_SLURM_ACCOUNTING  none (default): no database; sacct has no data (-c reads the jobcomp
#                                 file), squeue/scontrol/the jobcomp file are the record.
#                                 slurmdbd: also installs slurmdbd + mariadb-server and runs a private
#                                 MariaDB (127.0.0.1 only) and slurmdbd in the folder: sacct works.
#   AUTOCIRCUIT_SLURM_CRED_EXPIRE seconds a requeued job waits before it may start again (default 10)
set -u -o pipefail

PROG=local-cluster.sh
DIR=${AUTOCIRCUIT_SLURM_DIR:-/tmp/autocircuit-slurm}
MARKER="$DIR/.autocircuit-slurm"
CONF="$DIR/etc/slurm.conf"
TIMEOUT=${AUTOCIRCUIT_SLURM_TIMEOUT:-60}
MIN_JOB_AGE=${AUTOCIRCUIT_SLURM_MIN_JOB_AGE:-86400}
PARTITION=debug
CLUSTER=autocircuit
ACCOUNTING=${AUTOCIRCUIT_SLURM_ACCOUNTING:-none}
REQUESTED_ACCOUNTING=$ACCOUNTING
case $ACCOUNTING in none|slurmdbd) ;; *) echo "$PROG: AUTOCIRCUIT_SLURM_ACCOUNTING must be none or slurmdbd" >&2; exit 64 ;; esac
# a running cluster keeps the mode it was started with
[[ -r $DIR/mode ]] && ACCOUNTING=$(cat "$DIR/mode")

log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die_start() {
  # one line, no newline inside the reason
  local reason
  reason=$(printf '%s' "$*" | tr '\n' ' ' | sed 's/  */ /g; s/ $//')
  printf '%s: cannot start Slurm: %s\n' "$PROG" "$reason" >&2
  exit 2
}

# ---- pid helpers -----------------------------------------------------------------------------
pid_of() { # name -> pid from our pid file if that process is alive and is the expected program
  local name=$1 file pid comm
  case $name in
    munged) file="$DIR/run/munged.pid" ;;
    slurmctld) file="$DIR/run/slurmctld.pid" ;;
    slurmd) file="$DIR/run/slurmd.pid" ;;
    slurmdbd) file="$DIR/run/slurmdbd.pid" ;;
    mariadbd) file="$DIR/run/mariadbd.pid" ;;
  esac
  [[ -r $file ]] || return 1
  pid=$(tr -dc '0-9' <"$file")
  [[ -n $pid ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
  [[ $comm == "$name" ]] || return 1
  # a killed daemon can linger as a zombie until its parent (init) reaps it
  [[ $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) != Z ]] || return 1
  echo "$pid"
}

# processes started by this cluster: the daemons carry AUTOCIRCUIT_SLURM_CLUSTER=$DIR in their
# environment (only they: the variable is set per command, never exported by this script), plus all
# their descendants (slurmstepd, job scripts, job steps)
cluster_pids() {
  local p ppid roots=() line
  for p in $(grep -lzxF "AUTOCIRCUIT_SLURM_CLUSTER=$DIR" /proc/[0-9]*/environ 2>/dev/null); do
    p=${p#/proc/}; p=${p%/environ}
    [[ $p == "$$" || $p == "${BASHPID:-}" ]] || roots+=("$p")
  done
  # slurmstepd rewrites its environment (process title) but keeps its cwd in our log folder and
  # the slurmd log open
  local c d
  for c in /proc/[0-9]*/comm; do
    [[ $(cat "$c" 2>/dev/null) == slurmstepd ]] || continue
    d=${c%/comm}
    if [[ $(readlink "$d/cwd" 2>/dev/null) == "$DIR"/* ]] \
      || ls -l "$d/fd" 2>/dev/null | grep -qF -- "-> $DIR/"; then
      roots+=("${d#/proc/}")
    fi
  done
  ((${#roots[@]})) || return 0
  # descendants: walk the pid -> ppid table
  ps -e -o pid=,ppid= 2>/dev/null | awk -v roots="${roots[*]}" '
    { parent[$1] = $2; pids[n++] = $1 }
    END {
      split(roots, r, " "); for (i in r) mark[r[i]] = 1
      changed = 1
      while (changed) { changed = 0
        for (i = 0; i < n; i++) { p = pids[i]; if (!(p in mark) && (parent[p] in mark)) { mark[p] = 1; changed = 1 } } }
      for (p in mark) print p
    }'
}

print_env() {
  cat <<EOF
export SLURM_CONF='$CONF'
export AUTOCIRCUIT_SLURM_DIR='$DIR'
export AUTOCIRCUIT_SLURM_PARTITION='$PARTITION'
export AUTOCIRCUIT_SLURM_JOBCOMP='$DIR/log/jobcomp.txt'
export AUTOCIRCUIT_SLURM_ACCOUNTING='$ACCOUNTING'
EOF
}

daemons() { # the daemons of this cluster, in start order
  if [[ $ACCOUNTING == slurmdbd ]]; then echo munged mariadbd slurmdbd slurmctld slurmd
  else echo munged slurmctld slurmd; fi
}

all_up() {
  local n
  for n in $(daemons); do pid_of "$n" >/dev/null || return 1; done
  SLURM_CONF=$CONF timeout 10 sinfo -h -o '%T' 2>/dev/null | grep -q .
}

# ---- install -----------------------------------------------------------------------------------
ensure_installed() {
  local missing=() c pkgs=(slurm-wlm munge)
  local cmds=(munged mungekey slurmctld slurmd sbatch squeue sacct scontrol sinfo scancel)
  if [[ $ACCOUNTING == slurmdbd ]]; then
    cmds+=(slurmdbd sacctmgr mariadbd mariadb-install-db mariadb); pkgs+=(slurmdbd mariadb-server)
  fi
  for c in "${cmds[@]}"; do
    command -v "$c" >/dev/null 2>&1 || PATH=$PATH:/usr/sbin command -v "$c" >/dev/null 2>&1 || missing+=("$c")
  done
  ((${#missing[@]} == 0)) && return 0
  if [[ ${AUTOCIRCUIT_SLURM_NO_INSTALL:-0} == 1 ]]; then
    die_start "not installed (${missing[*]} missing) and AUTOCIRCUIT_SLURM_NO_INSTALL=1"
  fi
  if [[ $(id -u) != 0 ]]; then
    die_start "not installed (${missing[*]} missing); installing needs root: apt-get install slurm-wlm munge"
  fi
  command -v apt-get >/dev/null 2>&1 || die_start "not installed (${missing[*]} missing) and no apt-get"
  log "installing ${pkgs[*]} (apt-get) ..."
  local aptlog="${TMPDIR:-/tmp}/autocircuit-slurm-apt.$$.log"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -q --no-install-recommends "${pkgs[@]}" >"$aptlog" 2>&1; then
    apt-get update -q >>"$aptlog" 2>&1
    if ! apt-get install -y -q --no-install-recommends "${pkgs[@]}" >>"$aptlog" 2>&1; then
      local last; last=$(grep -E '^(E:|Err)' "$aptlog" | tail -1)
      die_start "apt-get install ${pkgs[*]} failed (${last:-see $aptlog})"
    fi
  fi
  rm -f "$aptlog"
  hash -r
  for c in "${cmds[@]}"; do
    command -v "$c" >/dev/null 2>&1 || PATH=$PATH:/usr/sbin command -v "$c" >/dev/null 2>&1 \
      || die_start "$c still missing after apt-get install ${pkgs[*]}"
  done
}

port_free() { # port -> 0 when nothing listens on it (tcp, any address)
  local hex; hex=$(printf '%04X' "$1")
  ! awk -v h=":$hex" 'NR>1 && $4=="0A" && substr($2, length($2)-4)==h {f=1} END {exit !f}' \
      /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

ports_free() { local i; for ((i = 0; i < 4; i++)); do port_free $(($1 + i)) || return 1; done; }

pick_ports() { # 4 consecutive ports: slurmctld, slurmd, mariadb, slurmdbd
  local p=${AUTOCIRCUIT_SLURM_PORT:-16817}
  if [[ -n ${AUTOCIRCUIT_SLURM_PORT:-} ]]; then
    ports_free "$p" || die_start "a port of $p..$((p + 3)) is in use (AUTOCIRCUIT_SLURM_PORT)"
  else
    local tries=0
    until ports_free "$p"; do
      p=$((p + 4)); tries=$((tries + 1))
      ((tries < 50)) || die_start "no 4 free ports from 16817 to $p"
    done
  fi
  CTLD_PORT=$p
  SLURMD_PORT=$((p + 1))
  DB_PORT=$((p + 2))
  DBD_PORT=$((p + 3))
}

# ---- config ------------------------------------------------------------------------------------
accounting_lines() {
  if [[ $ACCOUNTING == slurmdbd ]]; then
    # AccountingStoragePass: the munge socket for connections to slurmdbd (else the default socket)
    printf '%s\n' AccountingStorageType=accounting_storage/slurmdbd AccountingStorageHost=127.0.0.1 \
      "AccountingStoragePort=$DBD_PORT" "AccountingStoragePass=$DIR/munge/munge.socket" JobAcctGatherType=jobacct_gather/linux JobAcctGatherFrequency=30
  else
    printf '%s\n' AccountingStorageType=accounting_storage/none JobAcctGatherType=jobacct_gather/none
  fi
}

write_dbd_config() {
  local user; user=$(id -un)
  DB_PASS=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
  ( umask 077
    cat >"$DIR/etc/slurmdbd.conf" <<EOF
# generated by tools/slurm/local-cluster.sh
AuthType=auth/munge
AuthInfo=socket=$DIR/munge/munge.socket
DbdHost=localhost
DbdAddr=127.0.0.1
DbdPort=$DBD_PORT
SlurmUser=$user
PidFile=$DIR/run/slurmdbd.pid
LogFile=$DIR/log/slurmdbd.log
DebugLevel=info
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$DB_PORT
StorageUser=slurm
StoragePass=$DB_PASS
StorageLoc=slurm_acct_db
EOF
  )
}

write_config() {
  local user host hw cpus mem defmem
  user=$(id -un)
  host=$(hostname -s 2>/dev/null || hostname)
  # slurmd -C: "NodeName=h CPUs=2 Boards=1 SocketsPerBoard=1 CoresPerSocket=2 ThreadsPerCore=1 RealMemory=23989"
  hw=$(SLURM_CONF=/dev/null slurmd -C 2>/dev/null | head -1)
  [[ $hw == NodeName=* ]] || die_start "slurmd -C printed no node description (${hw:-nothing})"
  hw=$(printf '%s' "$hw" | sed -E 's/^NodeName=[^ ]+ //; s/ ?UpTime=.*$//')
  cpus=$(sed -nE 's/.*CPUs=([0-9]+).*/\1/p' <<<"$hw")
  mem=$(sed -nE 's/.*RealMemory=([0-9]+).*/\1/p' <<<"$hw")
  [[ -n $cpus && -n $mem ]] || die_start "cannot read CPUs/RealMemory from slurmd -C ($hw)"
  defmem=$((mem / cpus))
  cat >"$CONF" <<EOF
# generated by tools/slurm/local-cluster.sh for $host on $(date -u +%FT%TZ)
ClusterName=$CLUSTER
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=$user
SlurmdUser=$user
AuthType=auth/munge
CredType=cred/munge
# cred_expire also delays the restart of a requeued job (default 120 s)
AuthInfo=socket=$DIR/munge/munge.socket,cred_expire=${AUTOCIRCUIT_SLURM_CRED_EXPIRE:-10}
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# no cgroups: plain process tracking works in containers and VMs without systemd
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
MailProg=/bin/true
LaunchType=launch/slurm
# several array tasks in parallel on the one node: one CPU (and its share of memory) per task
SchedulerType=sched/backfill
# start batch jobs right after submission (default batch_sched_delay=3 s); rerun the main and the
# backfill scheduler every few seconds (defaults 60 s and 30 s) so that requeued tasks restart promptly
SchedulerParameters=batch_sched_delay=0,sched_interval=2,bf_interval=5
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
DefMemPerCPU=$defmem
# requeue allowed (scontrol requeue, sbatch --requeue)
JobRequeue=1
# finished jobs stay visible to squeue/scontrol (no slurmdbd here: sacct has no data, see README)
MinJobAge=$MIN_JOB_AGE
MaxJobCount=100000
MaxArraySize=100001
# one line per finished job (and array task) with its final state
JobCompType=jobcomp/filetxt
JobCompLoc=$DIR/log/jobcomp.txt
$(accounting_lines)
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=60
InactiveLimit=0
KillWait=5
Waittime=0
NodeName=$host NodeAddr=127.0.0.1 $hw State=UNKNOWN
PartitionName=$PARTITION Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF
}

# ---- start / stop ------------------------------------------------------------------------------
wait_for() { # seconds, command... -> 0 when the command succeeded in time
  local limit=$1; shift
  local end=$((SECONDS + limit))
  while ((SECONDS < end)); do
    "$@" && return 0
    sleep 0.2
  done
  "$@"
}

node_idle() {
  local st
  st=$(SLURM_CONF=$CONF timeout 5 sinfo -h -N -o '%T' 2>/dev/null | head -1)
  [[ $st == idle || $st == mixed || $st == allocated ]]
}

last_log_line() { # file -> last error-ish line (for the one-line failure message)
  [[ -r $1 ]] || return 0
  { grep -iE 'error|fatal' "$1" || tail -n 1 "$1"; } | tail -n 1 | cut -c1-300
}

start() {
  if [[ -e $MARKER ]] && all_up; then
    log "already running in $DIR"
    print_env
    return 0
  fi
  ACCOUNTING=$REQUESTED_ACCOUNTING
  ensure_installed
  export PATH=$PATH:/usr/sbin
  # a stale or partial cluster from before: stop what is left and start fresh
  if [[ -e $MARKER ]]; then
    log "stale cluster in $DIR: stopping its leftovers"
    stop_daemons quiet
  elif [[ -e $DIR ]] && [[ -n $(ls -A "$DIR" 2>/dev/null) ]]; then
    die_start "$DIR exists, is not empty and was not made by $PROG (set AUTOCIRCUIT_SLURM_DIR)"
  fi
  local t0=$SECONDS
  rm -rf "$DIR"
  # munged wants execute-for-all on every folder above its socket
  mkdir -p "$DIR" && chmod 711 "$DIR" || die_start "cannot create $DIR"
  touch "$MARKER"
  echo "$ACCOUNTING" >"$DIR/mode"
  mkdir -p "$DIR"/{etc,munge,munge-key,state,spool,log,run}
  chmod 711 "$DIR/munge"; chmod 700 "$DIR/munge-key"

  pick_ports
  write_config

  # munge: own key, socket, pid and log; runs as the current user
  if ! mungekey --create --keyfile="$DIR/munge-key/munge.key" --bits=1024 >/dev/null 2>&1; then
    dd if=/dev/urandom of="$DIR/munge-key/munge.key" bs=1 count=1024 status=none \
      || die_start "cannot create the munge key"
  fi
  chmod 400 "$DIR/munge-key/munge.key"
  AUTOCIRCUIT_SLURM_CLUSTER=$DIR munged --key-file="$DIR/munge-key/munge.key" --socket="$DIR/munge/munge.socket" \
    --pid-file="$DIR/run/munged.pid" --log-file="$DIR/log/munged.log" \
    --seed-file="$DIR/munge-key/munged.seed" --num-threads=2 >>"$DIR/log/munged.out" 2>&1
  if ! wait_for 10 pid_of munged >/dev/null; then
    local why; why=$(last_log_line "$DIR/log/munged.out"); [[ -n $why ]] || why=$(last_log_line "$DIR/log/munged.log")
    stop_daemons quiet keep
    die_start "munged did not start: ${why:-no message} (logs in $DIR/log)"
  fi
  if ! munge -S "$DIR/munge/munge.socket" -n 2>/dev/null | unmunge -S "$DIR/munge/munge.socket" >/dev/null 2>&1; then
    stop_daemons quiet keep
    die_start "munge credential round trip failed (logs in $DIR/log)"
  fi

  export SLURM_CONF=$CONF
  if [[ $ACCOUNTING == slurmdbd ]]; then start_accounting; fi
  AUTOCIRCUIT_SLURM_CLUSTER=$DIR slurmctld -c -f "$CONF" >>"$DIR/log/slurmctld.out" 2>&1
  if ! wait_for 15 pid_of slurmctld >/dev/null; then
    local why; why=$(last_log_line "$DIR/log/slurmctld.log"); [[ -n $why ]] || why=$(last_log_line "$DIR/log/slurmctld.out")
    stop_daemons quiet keep
    die_start "slurmctld did not start: ${why:-no message} (logs in $DIR/log)"
  fi
  AUTOCIRCUIT_SLURM_CLUSTER=$DIR slurmd -f "$CONF" >>"$DIR/log/slurmd.out" 2>&1
  if ! wait_for 15 pid_of slurmd >/dev/null; then
    local why; why=$(last_log_line "$DIR/log/slurmd.log"); [[ -n $why ]] || why=$(last_log_line "$DIR/log/slurmd.out")
    stop_daemons quiet keep
    die_start "slurmd did not start: ${why:-no message} (logs in $DIR/log)"
  fi
  if ! wait_for "$TIMEOUT" node_idle; then
    local st why
    st=$(timeout 5 sinfo -h -N -o '%T %E' 2>&1 | head -1)
    why=$(last_log_line "$DIR/log/slurmctld.log")
    stop_daemons quiet keep
    die_start "node not idle after ${TIMEOUT}s (sinfo: ${st:-nothing}; ${why:-}) (logs in $DIR/log)"
  fi
  print_env >"$DIR/env.sh"
  log "up in $((SECONDS - t0))s: $(sinfo -h -N -o '%N %T cpus=%c mem=%m' | head -1); conf $CONF"
  print_env
}

any_alive() { local q; for q; do kill -0 "$q" 2>/dev/null && return 0; done; return 1; }

tcp_listening() { ! port_free "$1"; }

start_accounting() { # private MariaDB (127.0.0.1:DB_PORT, socket in the folder) + slurmdbd
  mkdir -p "$DIR/mysql"
  if ! mariadb-install-db --no-defaults --datadir="$DIR/mysql" --user="$(id -un)" \
      --auth-root-authentication-method=normal --skip-test-db >"$DIR/log/mariadb-install.log" 2>&1; then
    stop_daemons quiet keep
    die_start "mariadb-install-db failed: $(last_log_line "$DIR/log/mariadb-install.log") (logs in $DIR/log)"
  fi
  AUTOCIRCUIT_SLURM_CLUSTER=$DIR setsid mariadbd --no-defaults --datadir="$DIR/mysql" \
    --socket="$DIR/run/mariadb.sock" --pid-file="$DIR/run/mariadbd.pid" --bind-address=127.0.0.1 \
    --port="$DB_PORT" --user="$(id -un)" --log-error="$DIR/log/mariadbd.log" --skip-log-bin \
    --innodb-buffer-pool-size=64M </dev/null >/dev/null 2>&1 &
  if ! wait_for 30 test -S "$DIR/run/mariadb.sock" || ! wait_for 10 pid_of mariadbd >/dev/null; then
    stop_daemons quiet keep
    die_start "mariadbd did not start: $(last_log_line "$DIR/log/mariadbd.log") (logs in $DIR/log)"
  fi
  write_dbd_config
  if ! mariadb --no-defaults -S "$DIR/run/mariadb.sock" -uroot -e "CREATE DATABASE slurm_acct_db;
      CREATE USER 'slurm'@'127.0.0.1' IDENTIFIED BY '$DB_PASS';
      GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';" >>"$DIR/log/mariadb-install.log" 2>&1; then
    stop_daemons quiet keep
    die_start "cannot create the accounting database: $(last_log_line "$DIR/log/mariadb-install.log")"
  fi
  AUTOCIRCUIT_SLURM_CLUSTER=$DIR slurmdbd >>"$DIR/log/slurmdbd.out" 2>&1
  if ! wait_for 30 pid_of slurmdbd >/dev/null || ! wait_for 30 tcp_listening "$DBD_PORT"; then
    local why; why=$(last_log_line "$DIR/log/slurmdbd.log"); [[ -n $why ]] || why=$(last_log_line "$DIR/log/slurmdbd.out")
    stop_daemons quiet keep
    die_start "slurmdbd did not start: ${why:-no message} (logs in $DIR/log)"
  fi
  if ! timeout 20 sacctmgr -i add cluster "$CLUSTER" >>"$DIR/log/sacctmgr.log" 2>&1; then
    stop_daemons quiet keep
    die_start "sacctmgr add cluster $CLUSTER failed: $(tail -n1 "$DIR/log/sacctmgr.log")"
  fi
}

stop_daemons() { # [quiet] [keep]: stop jobs and daemons of this cluster; keep = keep the folder
  local quiet=${1:-} keep=${2:-} p name
  export PATH=$PATH:/usr/sbin
  if pid_of slurmctld >/dev/null && pid_of slurmd >/dev/null; then
    SLURM_CONF=$CONF timeout 10 scancel --quiet --full $(SLURM_CONF=$CONF timeout 10 squeue -h -o '%A' 2>/dev/null) 2>/dev/null
    # give slurmd a moment to kill the job steps (KillWait=5)
    local end=$((SECONDS + 8))
    while ((SECONDS < end)) && [[ -n $(SLURM_CONF=$CONF timeout 5 squeue -h -t running,completing -o '%A' 2>/dev/null) ]]; do sleep 0.3; done
  fi
  local tree; tree=$(cluster_pids)
  # all together: each takes 1.5-2 s to exit
  local group pids
  for group in "slurmd slurmctld slurmdbd mariadbd munged"; do
    pids=()
    for name in $group; do
      if p=$(pid_of "$name"); then kill -TERM "$p" 2>/dev/null; pids+=("$p"); [[ $quiet ]] || log "stopping $name ($p)"; fi
    done
    ((${#pids[@]})) || continue
    local end=$((SECONDS + 10))
    while ((SECONDS < end)) && any_alive "${pids[@]}"; do sleep 0.1; done
    for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null; done
  done
  # anything else this cluster started (slurmstepd, job processes) by pid
  local left=() q
  for q in $(printf '%s\n' $tree $(cluster_pids) | sort -un); do kill -0 "$q" 2>/dev/null && left+=("$q"); done
  if ((${#left[@]})); then
    [[ $quiet ]] || log "killing leftover processes: ${left[*]}"
    kill -TERM "${left[@]}" 2>/dev/null; sleep 1
    kill -KILL "${left[@]}" 2>/dev/null
  fi
  if [[ -z $keep && -e $MARKER ]]; then
    rm -rf "$DIR"
    [[ $quiet ]] || log "removed $DIR"
  fi
}

stop() {
  if [[ ! -e $MARKER ]]; then
    if [[ -e $DIR ]]; then
      log "$DIR was not made by $PROG: left alone"
    else
      log "not running ($DIR does not exist)"
    fi
    return 0
  fi
  stop_daemons
  local left; left=$(cluster_pids)
  if [[ -n $left ]]; then
    log "still running after stop: $(echo $left)"
    return 1
  fi
  return 0
}

status() {
  local n p rc=0
  if [[ ! -e $MARKER ]]; then
    echo "down: $DIR does not exist"
    return 3
  fi
  echo "accounting: $ACCOUNTING"
  for n in $(daemons); do
    if p=$(pid_of $n); then echo "$n: running (pid $p)"; else echo "$n: not running"; rc=3; fi
  done
  if ((rc == 0)); then
    echo "conf: $CONF"
    SLURM_CONF=$CONF timeout 10 sinfo -N -o '%N %P %T %c %m' 2>&1 || rc=3
    SLURM_CONF=$CONF timeout 10 squeue -o '%.12i %.9P %.20j %.2t %.10M %R' 2>&1 | head -20
  fi
  return $rc
}

case ${1:-} in
  start) start ;;
  stop) stop ;;
  status) status ;;
  env) if [[ -e $MARKER ]] && all_up; then print_env; else echo "$PROG: not running" >&2; exit 3; fi ;;
  *) echo "usage: $PROG start|stop|status|env" >&2; exit 64 ;;
esac
