#!/usr/bin/env bash
# bench/serving/model_files.sh -- memory and first-call time of N backends serving one model,
# with shared model files (mtrs.model_files_size, the default) and without (0).
#
# Usage (as root, against a running server that has the model):
#   PGHOST=... PGPORT=... PGUSER=postgres bash bench/serving/model_files.sh DB 'SQL' [N]
# e.g. after bench/intent/intents.sh snips (database mtrs_bench_intent, model 'intents'):
#   bash bench/serving/model_files.sh mtrs_bench_intent \
#     "SELECT count(*) FROM mtrs_intent('play some jazz music', model => 'intents')" 8
# For each setting: removes the shared files, reloads the setting, then starts N sessions
# one after the other; each runs SQL once (timed: the first call loads the model) and stays
# connected. With all N connected, reads every backend's memory from /proc: RssAnon (private),
# and Pss (its fair share of every page, shared ones divided among their users; the sum
# over backends is what they cost together). Writes bench/out/model_files/results.txt.
set -Eeuo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DB=${1:?database}
SQL=${2:?query that serves the model}
N=${3:-8}
OUT=$ROOT/bench/out/model_files
mkdir -p "$OUT"
PSQL() { psql -X -v ON_ERROR_STOP=1 -d "$DB" "$@"; }
DATA=$(PSQL -Atc "SHOW data_directory")

measure() {	# label
	local label=$1 pids=() first=()
	rm -rf "$DATA/pg_mtrs"
	for i in $(seq "$N"); do
		# one session: its pid, the timed first call, then it waits until killed
		# (line-buffered, so that the pid and the time can be read while it waits)
		stdbuf -oL psql -X -d "$DB" -At -c "SELECT pg_backend_pid()" -c '\timing on' -c "$SQL" \
			-c "SELECT pg_sleep(600)" > "$OUT/session-$i.txt" 2>&1 &
		for _ in $(seq 100); do
			grep -q '^Time:' "$OUT/session-$i.txt" 2>/dev/null && break
			sleep 0.1
		done
		pids+=("$(head -1 "$OUT/session-$i.txt")")
		first+=("$(grep -m1 -Eo 'Time: [0-9.]+' "$OUT/session-$i.txt" | awk '{print $2}' || true)")
	done
	local anon=0 pss=0
	for p in "${pids[@]}"; do
		anon=$((anon + $(awk '/RssAnon/ {print $2}' /proc/"$p"/status)))
		pss=$((pss + $(awk '/^Pss:/ {print $2}' /proc/"$p"/smaps_rollup)))
	done
	PSQL -qc "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(600)'" > /dev/null
	wait 2> /dev/null || true
	printf '%-22s first call ms: %-48s sum RssAnon %6d MB, sum Pss %6d MB\n' "$label" \
		"${first[*]}" $((anon / 1024)) $((pss / 1024)) | tee -a "$OUT/results.txt"
}

MODEL_MB=$(PSQL -Atc "SELECT round(max(size_bytes) / 1048576.0, 1) FROM mtrs_model WHERE active")
echo "# $N backends, $DB (largest active model $MODEL_MB MB): $SQL" | tee "$OUT/results.txt"
PSQL -qc "ALTER SYSTEM SET mtrs.model_files_size = 0" -c "SELECT pg_reload_conf()" > /dev/null
sleep 1
measure "model_files_size 0"
PSQL -qc "ALTER SYSTEM RESET mtrs.model_files_size" -c "SELECT pg_reload_conf()" > /dev/null
sleep 1
measure "model_files_size 2GB"
rm -f "$OUT"/session-*.txt
