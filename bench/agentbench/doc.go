// Package agentbench holds the benchmarks that run the real oobd binary
// (internal/agenttest): trigger latency (row a of `make bench`), the AT
// port of an idle daemon (b), the forward's return after the jump host's
// sshd restarts, beside autossh (d), and the bytes of an idle tunnel on
// the link, beside ssh -R (e). They need root (network namespaces, sshd).
//
// Each benchmark reports its figures as custom metrics (ns/op is left out:
// an operation here is a whole scenario); with b.N > 1 a metric is the
// median over the iterations. bench/trigger.sh, bench/idle.sh and
// bench/restart.sh run them with -benchtime=1x and -count=N (a fresh
// world per run) and print the medians beside their references.
//
//	go test -run '^$' -bench BenchmarkTrigger -benchtime 1x -count 5 ./bench/agentbench
//	go test -run '^$' -bench BenchmarkIdleModem -benchtime 1x ./bench/agentbench -args -window 1m
package agentbench
