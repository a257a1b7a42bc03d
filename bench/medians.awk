# Reads `go test -bench` output (many runs: -count, or several processes)
# and prints, for each benchmark and unit, the median of its values over
# the runs and how many runs there were:
#
#   NAME UNIT MEDIAN RUNS        e.g. BenchmarkTrigger/delay=0s/ports=1 ms-to-dialer 12.67 5
#
# NAME loses its -GOMAXPROCS suffix. Portable awk (Debian's mawk).
/^Benchmark/ && NF >= 4 {
	name = $1
	sub(/-[0-9]+$/, "", name)
	for (i = 3; i < NF; i += 2) {
		key = name " " $(i + 1)
		if (!(key in n)) {
			keys[++nkeys] = key
		}
		v[key, ++n[key]] = $i + 0
	}
}
END {
	for (k = 1; k <= nkeys; k++) {
		key = keys[k]
		m = n[key]
		for (i = 1; i <= m; i++) {
			a[i] = v[key, i]
		}
		for (i = 2; i <= m; i++) { # insertion sort
			x = a[i]
			for (j = i - 1; j >= 1 && a[j] > x; j--) {
				a[j + 1] = a[j]
			}
			a[j + 1] = x
		}
		med = (m % 2) ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
		printf "%s %.6g %d\n", key, med, m
	}
}
