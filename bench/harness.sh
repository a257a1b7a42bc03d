# Sourced after lib.sh by the scripts that run the real oobd
# (trigger.sh, idle.sh, restart.sh): the Go harness in bench/agentbench,
# built once. run.sh builds it for all of them and passes the directory
# in BENCH_HARNESS.

# harness_build: sets harness_dir to a directory that holds
# agentbench.test, oobd and fakeppp, building them unless BENCH_HARNESS
# already has them.
harness_build() {
	if [ -n "${BENCH_HARNESS:-}" ] && [ -x "$BENCH_HARNESS/agentbench.test" ]; then
		harness_dir=$BENCH_HARNESS
		return
	fi
	harness_dir=$bench_tmp/bin
	mkdir -p "$harness_dir"
	go test -c -o "$harness_dir/agentbench.test" ./bench/agentbench
	go build -o "$harness_dir/oobd" ./cmd/oobd
	go build -o "$harness_dir/fakeppp" ./oob/link/testdata/fakeppp
}

# harness_start OUT BENCH [FLAG...]: runs the benchmarks matching BENCH
# (-test.bench) in the background, all output in OUT; its pid in
# bench_pid. FLAGs are test or harness flags (-test.count=5, -window=1m).
harness_start() {
	local out=$1 bench=$2
	shift 2
	bench_start "$harness_dir/agentbench.test" -test.run='^$' -test.bench="$bench" \
		-test.benchtime=1x -test.timeout=0 \
		-oobd="$harness_dir/oobd" -fakeppp="$harness_dir/fakeppp" "$@" >"$out" 2>&1
}

# harness_wait PID OUT: waits for a harness run, failing with its output's
# tail if it failed.
harness_wait() {
	bench_wait "$1" || bench_fail "the harness failed:
$(grep -v '^\s*$' "$2" | tail -40)"
}

# harness_logs OUT PATTERN: the harness's log lines (b.Logf) containing
# PATTERN, without the file:line prefix.
harness_logs() {
	grep -F -- "$2" "$1" | sed -E 's/^[[:space:]]*[a-z_]+\.go:[0-9]+: //'
}
