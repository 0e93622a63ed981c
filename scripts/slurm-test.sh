#!/usr/bin/env bash
# The distributed path, for real: a one-node Slurm cluster started on this machine
# (munge, MariaDB, slurmdbd, slurmctld and slurmd from Debian's slurm-wlm), the Snakemake
# workflow (workflow/Snakefile) run through Snakemake's Slurm executor on a small BIDS
# dataset made from `wmh example` (four subjects, one with two sessions, one with a
# broken FLAIR), and its derivatives checked against `wmh cohort` on the same inputs
# (byte-identical masks). Then the workflow locally, killed midway and started again:
# only the missing scans are done. Everything runs in a temporary folder that is
# removed, with every daemon, on exit. Snakemake's job steps call srun with the SLURM_*
# variables stripped, so the configuration must sit where srun looks by default
# (/etc/slurm): the script writes it there, refuses to run where one already exists (a
# real cluster's node), and removes it on exit.
#
# Needs root (to install the packages, scripts/test-packages.sh, and run the daemons)
# and target/release/wmh; elsewhere it says why it skips and exits 0.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
wmh=$root/target/release/wmh

skip() { echo "slurm test skipped: $*"; exit 0; }
[ "$(id -u)" = 0 ] || skip "it needs root to install and run slurm-wlm"
command -v apt-get >/dev/null || skip "it needs apt-get (Debian's slurm-wlm)"
[ -x "$wmh" ] || { echo "build target/release/wmh first" >&2; exit 1; }
conf=/etc/slurm/slurm.conf
[ ! -e "$conf" ] || skip "$conf exists: this machine has its own Slurm, which the test must not touch"
# check.sh has usually installed them already (in the background, during the builds).
installed=$(scripts/test-packages.sh slurm) || skip "$(grep '^note:' <<<"$installed")"
snakemake=(python3 -m snakemake)

t=$(mktemp -d /tmp/wmh-slurm.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 1
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  # WMH_SLURM_KEEP=1 keeps the folder (configuration, logs) to look into a failure.
  [ -n "${WMH_SLURM_KEEP:-}" ] || rm -rf "$t"
  rm -f "$conf" /etc/slurm/slurmdbd.conf
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  for f in "$t"/log/*.log; do [ -s "$f" ] && { echo "--- $f" >&2; tail -15 "$f" >&2; }; done
  exit 1
}
wait_for() { for _ in $(seq 60); do eval "$1" >/dev/null 2>&1 && return 0; sleep 1; done; fail "timed out waiting for: $1"; }

# --- The cluster -------------------------------------------------------------------
mkdir -p "$t/state" "$t/spool" "$t/log" "$t/db"
base=$((20000 + RANDOM % 20000))
db_port=$base dbd_port=$((base + 1)) ctld_port=$((base + 2)) slurmd_port=$((base + 3))
host=$(hostname)
memory=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 * 8 / 10 ))

dd if=/dev/urandom of="$t/munge.key" bs=1 count=1024 2>/dev/null
chmod 600 "$t/munge.key"
munged --force --key-file="$t/munge.key" --socket="$t/munge.sock" --pid-file="$t/munged.pid" \
  --log-file="$t/log/munged.log" --seed-file="$t/munge.seed"
wait_for "[ -s $t/munged.pid ]"
pids+=("$(cat "$t/munged.pid")")

mariadb-install-db --user=root --datadir="$t/db" --auth-root-authentication-method=normal >/dev/null 2>&1
mariadbd --user=root --datadir="$t/db" --socket="$t/mysqld.sock" --bind-address=127.0.0.1 \
  --port="$db_port" --pid-file="$t/mysqld.pid" --log-error="$t/log/mariadb.log" &
pids+=("$!")
wait_for "mariadb -uroot --socket=$t/mysqld.sock -e 'select 1'"
mariadb -uroot --socket="$t/mysqld.sock" -e "CREATE USER 'slurm'@'127.0.0.1' IDENTIFIED BY 'slurm';
  GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1'; FLUSH PRIVILEGES;"

mkdir -p /etc/slurm
cat > /etc/slurm/slurmdbd.conf <<CONF
AuthType=auth/munge
AuthInfo=socket=$t/munge.sock
DbdHost=localhost
DbdPort=$dbd_port
SlurmUser=root
LogFile=$t/log/slurmdbd.log
PidFile=$t/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$db_port
StorageLoc=slurm_acct_db
StorageUser=slurm
StoragePass=slurm
CONF
chmod 600 /etc/slurm/slurmdbd.conf
cat > "$conf" <<CONF
ClusterName=wmhtest
SlurmctldHost=$host
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$t/munge.sock
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
ReturnToService=2
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
StateSaveLocation=$t/state
SlurmdSpoolDir=$t/spool
SlurmctldPidFile=$t/slurmctld.pid
SlurmdPidFile=$t/slurmd.pid
SlurmctldLogFile=$t/log/slurmctld.log
SlurmdLogFile=$t/log/slurmd.log
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=$dbd_port
AccountingStoragePass=$t/munge.sock
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
NodeName=$host CPUs=$(nproc) RealMemory=$memory State=UNKNOWN
PartitionName=main Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
slurmdbd
wait_for "[ -s $t/slurmdbd.pid ]"
pids+=("$(cat "$t/slurmdbd.pid")")
wait_for "sacctmgr -i add cluster wmhtest"
sacctmgr -i add account wmh Cluster=wmhtest >/dev/null
sacctmgr -i add user root Account=wmh >/dev/null
slurmctld
wait_for "[ -s $t/slurmctld.pid ]"
pids+=("$(cat "$t/slurmctld.pid")")
slurmd
wait_for "[ -s $t/slurmd.pid ]"
pids+=("$(cat "$t/slurmd.pid")")
wait_for "sinfo -h -o %t | grep -q idle"
echo "== a one-node Slurm cluster is up: $(sinfo -h -o '%P %D %c CPUs %t')"

# --- A small BIDS dataset ----------------------------------------------------------
"$wmh" example --out "$t/example" >/dev/null
bids=$t/bids
mkdir -p "$bids"
echo '{"Name": "wmh slurm test", "BIDSVersion": "1.10.0"}' > "$bids/dataset_description.json"
put() { mkdir -p "$(dirname "$bids/$2")"; cp "$t/example/$1" "$bids/$2"; }
put flair.nii.gz sub-01/anat/sub-01_FLAIR.nii.gz
put t1.nii.gz sub-01/anat/sub-01_T1w.nii.gz
put flair.nii.gz sub-02/ses-1/anat/sub-02_ses-1_FLAIR.nii.gz
put t1.nii.gz sub-02/ses-1/anat/sub-02_ses-1_T1w.nii.gz
put flair.nii.gz sub-02/ses-2/anat/sub-02_ses-2_FLAIR.nii.gz
put t1.nii.gz sub-02/ses-2/anat/sub-02_ses-2_T1w.nii.gz
put flair.nii.gz sub-03/anat/sub-03_FLAIR.nii.gz
mkdir -p "$bids/sub-04/anat"
head -c 5000 "$t/example/flair.nii.gz" > "$bids/sub-04/anat/sub-04_FLAIR.nii.gz"
scans="sub-01 sub-02_ses-1 sub-02_ses-2 sub-03"

# The reference: `wmh cohort` on the same files.
for c in a b; do mkdir -p "$t/cases/$c"; done
cp "$t/example/flair.nii.gz" "$t/example/t1.nii.gz" "$t/cases/a/"
cp "$t/example/flair.nii.gz" "$t/cases/b/"
"$wmh" cohort --out-dir "$t/cohort" "$t/cases/a" "$t/cases/b" >/dev/null 2>&1
mask_of() { # derivatives folder, scan
  local sub=${2%%_*} rest=${2#*_}
  if [ "$rest" = "$2" ]; then echo "$1/$sub/anat/${2}_space-FLAIR_desc-wmh_mask.nii.gz"
  else echo "$1/$sub/${rest}/anat/${2}_space-FLAIR_desc-wmh_mask.nii.gz"; fi
}
check_outputs() { # derivatives folder
  local out=$1
  for s in $scans; do
    local expected=$t/cohort/a_wmh_mask.nii.gz
    [ "$s" = sub-03 ] && expected=$t/cohort/b_wmh_mask.nii.gz
    cmp -s "$(mask_of "$out" "$s")" "$expected" || fail "$s: the mask differs from wmh cohort's"
  done
  [ -f "$out/logs/sub-04_desc-wmh_error.json" ] || fail "the broken scan left no error record"
  grep -q '"DatasetType": "derivative"' "$out/dataset_description.json" || fail "dataset_description.json"
  local rows
  rows=$(tail -n +2 "$out/group/wmh.tsv" | cut -f1-3 | tr '\t' ' ' | tr '\n' ';')
  [ "$rows" = "sub-01  ok;sub-02 ses-1 ok;sub-02 ses-2 ok;sub-03  ok;sub-04  failed;" ] ||
    fail "group table: $rows"
}
config=(--config "bids_dir=$bids" "wmh=$wmh")

# --- Through Slurm -----------------------------------------------------------------
start=$(date +%s)
"${snakemake[@]}" -s "$root/workflow/Snakefile" --profile "$root/workflow/profiles/slurm" \
  --directory "$t/run-slurm" "${config[@]}" "output_dir=$t/slurm" \
  --slurm-init-seconds-before-status-checks 1 --seconds-between-status-checks 2 --latency-wait 5 \
  --set-threads participant=1 \
  >"$t/log/snakemake-slurm.log" 2>&1 || { tail -40 "$t/log/snakemake-slurm.log"; fail "the Slurm run failed"; }
slurm_seconds=$(( $(date +%s) - start ))
check_outputs "$t/slurm"
jobs=$(sacct -X -n -P --starttime now-1hour --format=JobID,JobName,State,Elapsed)
echo "$jobs" | sed 's/^/   sacct: /'
completed=$(echo "$jobs" | grep -c '|COMPLETED|' || true)
[ "$completed" -ge 5 ] || fail "sacct shows $completed completed jobs, expected the 5 participant jobs"
echo "== Slurm: 5 scans in ${slurm_seconds} s through sbatch ($completed jobs COMPLETED in sacct); masks equal wmh cohort's"
bids-validator-deno "$t/slurm" >"$t/log/bids-validator.log" 2>&1 ||
  { grep -A3 ERROR "$t/log/bids-validator.log"; fail "the derivatives do not validate"; }
echo "== the Slurm run's derivatives validate ($(bids-validator-deno --version 2>&1 | tr -d '\033' | sed 's/\[[0-9;]*m//g' | head -1)): no errors"

# --- Locally, interrupted and resumed ----------------------------------------------
start=$(date +%s)
setsid "${snakemake[@]}" -s "$root/workflow/Snakefile" --cores 2 --set-threads participant=1 --directory "$t/run-local" \
  "${config[@]}" "output_dir=$t/local" >"$t/log/snakemake-local-1.log" 2>&1 &
first=$!
wait_for "ls $t/local/logs/jobs/*.status"
kill -9 -- -"$first" 2>/dev/null || true
wait "$first" 2>/dev/null || true
done_before=$(ls "$t/local/logs/jobs/" | wc -l)
[ "$done_before" -lt 5 ] || fail "the run finished before it could be interrupted"
declare -A stamp
for f in "$t"/local/logs/jobs/*.status; do stamp[$f]=$(stat -c %Y.%N "$f"); done
"${snakemake[@]}" -s "$root/workflow/Snakefile" --cores 2 --directory "$t/run-local" --unlock \
  "${config[@]}" "output_dir=$t/local" >/dev/null 2>&1
"${snakemake[@]}" -s "$root/workflow/Snakefile" --cores 2 --set-threads participant=1 --directory "$t/run-local" --rerun-incomplete \
  "${config[@]}" "output_dir=$t/local" >"$t/log/snakemake-local-2.log" 2>&1 ||
  { tail -40 "$t/log/snakemake-local-2.log"; fail "the resumed local run failed"; }
local_seconds=$(( $(date +%s) - start ))
for f in "${!stamp[@]}"; do
  [ "$(stat -c %Y.%N "$f")" = "${stamp[$f]}" ] || fail "$(basename "$f"): a finished scan was done again"
done
redone=$(grep -cE "^(local)?rule participant:" "$t/log/snakemake-local-2.log" || true)
[ "$redone" -eq $((5 - done_before)) ] || fail "the resumed run ran $redone participant jobs, expected $((5 - done_before))"
check_outputs "$t/local"
echo "== local: killed after $done_before of 5 scans; the second run did the other $redone; ${local_seconds} s in all; masks equal wmh cohort's"
echo "slurm test passed"
