# Sourced by the bench scripts (bash, set -euo pipefail): a temp dir for
# everything a run makes and a clean-up on exit, Ctrl-C or SIGTERM that
# leaves nothing behind; medians of `go test -bench` runs; numbers
# formatted for the tables; the summary table's rows.
#
# TMPDIR points into the temp dir, so the Go harness's files (sshd
# configs, keys, oobd's config and state) are in it too. The clean-up
# stops, in order: the children started with bench_start (SIGTERM; the Go
# harness tears its worlds down on it), then any process still running
# with the temp dir on its command line (by pid: an sshd, ssh or oobd
# whose harness died before it could stop them), then any network
# namespace the harness recorded (agenttest.NetnsFileEnv) and its
# processes, then the dir.

export LC_ALL=C # decimal points, byte-wise sorting
bench_tmp=$(mktemp -d /tmp/oobd-bench.XXXXXX)
export TMPDIR=$bench_tmp
export AGENTTEST_NETNS_FILE=$bench_tmp/netns.list
bench_pids=()
bench_pid=

# bench_start CMD...: runs CMD in the background, its pid in bench_pid.
# Wait for it with bench_wait: unlike a foreground command, a
# wait lets the traps run at once.
bench_start() {
	"$@" &
	bench_pid=$!
	bench_pids+=("$bench_pid")
}

# bench_wait PID: waits for a child of bench_start and returns its status;
# once reaped, it is forgotten (its pid may be reused).
bench_wait() {
	local rc=0 p keep=()
	wait "$1" || rc=$?
	for p in "${bench_pids[@]}"; do
		[ "$p" = "$1" ] || keep+=("$p")
	done
	bench_pids=("${keep[@]}")
	return "$rc"
}

# bench_stop PID [SECONDS]: SIGTERM, then SIGKILL if it has not ended
# within SECONDS (90).
bench_stop() {
	kill -TERM "$1" 2>/dev/null || return 0
	bench_reap "$1" "${2:-90}"
}

# bench_reap PID SECONDS: waits up to SECONDS for PID to end, then SIGKILL.
bench_reap() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

# bench_sweep: what the children left running: processes started from
# the temp dir, then the recorded namespaces.
bench_sweep() {
	local d pid args ns left=()
	for d in /proc/[0-9]*; do
		pid=${d#/proc/}
		[ "$pid" = "$$" ] && continue
		args=()
		{ mapfile -d '' -t args <"$d/cmdline"; } 2>/dev/null || continue
		[[ "${args[*]:-}" == *"$bench_tmp/"* ]] && left+=("$pid")
	done
	if [ ${#left[@]} -gt 0 ]; then
		echo "bench: stopping ${#left[@]} process(es) left from $bench_tmp: ${left[*]}" >&2
		kill -TERM "${left[@]}" 2>/dev/null || true
		sleep 1
		kill -KILL "${left[@]}" 2>/dev/null || true
	fi
	[ -f "$AGENTTEST_NETNS_FILE" ] || return 0
	local have
	have=$(ip netns list 2>/dev/null | awk '{ print $1 }')
	while read -r ns; do
		[ -n "$ns" ] && grep -qxF -- "$ns" <<<"$have" || continue
		echo "bench: deleting network namespace $ns left by the harness" >&2
		for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
		ip netns del "$ns" 2>/dev/null || true
	done <"$AGENTTEST_NETNS_FILE"
}

# bench_cleanup [RC]: the EXIT trap; exits with RC (default: the status
# the script was leaving with).
bench_cleanup() {
	local rc=${1:-$?}
	# A second Ctrl-C, or the SIGTERM a parent script sends its children,
	# must not cut the clean-up short (kill -9 still does). A no-op trap,
	# not an ignored signal: bash mishandles a signal that arrives pending
	# while its trap is being set to ignore.
	trap - EXIT
	trap : INT TERM
	local p
	for p in "${bench_pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${bench_pids[@]}"; do bench_reap "$p" 90; done
	bench_sweep
	rm -rf "$bench_tmp"
	exit "$rc"
}
trap bench_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# bench_fail MESSAGE: says so on stderr, exits 1 (the trap cleans up).
bench_fail() {
	echo "$(basename "$0"): $*" >&2
	exit 1
}

# bench_need_root: the scripts that build namespaces or run sshd.
bench_need_root() {
	[ "$(id -u)" -eq 0 ] || bench_fail "must run as root (network namespaces, sshd)"
}

# bench_medians FILE...: `go test -bench` output in, one line per
# benchmark and unit out: NAME UNIT MEDIAN RUNS.
bench_medians() {
	awk -f "$(dirname "${BASH_SOURCE[0]}")/medians.awk" "$@"
}

# bench_get MEDIANS NAME UNIT: one median from bench_medians' output
# (empty when missing).
bench_get() {
	awk -v n="$2" -v u="$3" '$1 == n && $2 == u { print $3; exit }' "$1"
}

# bench_row ROW MEASURE FIGURE REFERENCE TARGET: a line of the summary
# table that run.sh prints (to $BENCH_TABLE, when set).
bench_row() {
	[ -n "${BENCH_TABLE:-}" ] || return 0
	printf '%s\t%s\t%s\t%s\t%s\n' "$@" >>"$BENCH_TABLE"
}

# calc FORMAT EXPR: awk arithmetic, printed with FORMAT (e.g. %.1f).
calc() {
	awk "BEGIN { printf \"$1\", $2 }"
}

# verdict FIGURE OP LIMIT: "met" or "missed" for FIGURE <= LIMIT (OP
# "<=") or FIGURE >= LIMIT (OP ">="); "n/a" when a number is missing.
verdict() {
	awk -v f="$1" -v op="$2" -v l="$3" 'BEGIN {
		if (f == "" || l == "") { print "n/a"; exit }
		ok = (op == "<=") ? (f + 0 <= l + 0) : (f + 0 >= l + 0)
		print ok ? "met" : "missed"
	}'
}
