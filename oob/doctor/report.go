package doctor

import (
	"fmt"
	"io"
	"strings"
)

// Status is how one check came out.
type Status string

// The statuses, with the marks `oobd doctor` prints.
const (
	Pass Status = "pass" // ✓
	Fail Status = "fail" // ✗, with the fix
	Skip Status = "skip" // –, with why
)

// Mark is the status's mark in the printed report.
func (s Status) Mark() string {
	switch s {
	case Pass:
		return "✓"
	case Fail:
		return "✗"
	}
	return "–"
}

// Result is one line of the report.
type Result struct {
	Section string `json:"section"`
	Name    string `json:"name"`
	Status  Status `json:"status"`
	// Detail says what was found, or why the check was skipped.
	Detail string `json:"detail"`
	// Fix says what to do; set for every failure.
	Fix string `json:"fix,omitempty"`
	// More are lines to show under the result (the key's fingerprint and
	// the authorized_keys line to paste).
	More []string `json:"more,omitempty"`
}

// Report is every check in the order they are shown.
type Report struct {
	Results []Result `json:"results"`

	section string // the section results are added to
}

// OK reports whether no check failed.
func (r *Report) OK() bool { return r.Failures() == 0 }

// Failures counts the failed checks.
func (r *Report) Failures() int {
	n := 0
	for _, res := range r.Results {
		if res.Status == Fail {
			n++
		}
	}
	return n
}

// Find returns the results called name.
func (r *Report) Find(name string) []Result {
	var out []Result
	for _, res := range r.Results {
		if res.Name == name {
			out = append(out, res)
		}
	}
	return out
}

func (r *Report) start(section string) { r.section = section }

func (r *Report) add(res Result) *Result {
	res.Section = r.section
	r.Results = append(r.Results, res)
	return &r.Results[len(r.Results)-1]
}

func (r *Report) pass(name, detail string) *Result {
	return r.add(Result{Name: name, Status: Pass, Detail: detail})
}

func (r *Report) fail(name, detail, fix string) *Result {
	return r.add(Result{Name: name, Status: Fail, Detail: detail, Fix: fix})
}

func (r *Report) skip(name, why string) *Result {
	return r.add(Result{Name: name, Status: Skip, Detail: why})
}

// nameWidth is the width of the name column.
const nameWidth = 14

// WriteText prints the report as `oobd doctor` shows it: the sections,
// one line per check with its mark, the fix under each failure, and a
// last line that counts the failures.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	section := ""
	indent := strings.Repeat(" ", 4+nameWidth+1)
	for _, res := range r.Results {
		if res.Section != section {
			if section != "" {
				b.WriteString("\n")
			}
			section = res.Section
			b.WriteString(section + "\n")
		}
		fmt.Fprintf(&b, "  %s %-*s %s\n", res.Status.Mark(), nameWidth, res.Name, res.Detail)
		if res.Fix != "" {
			b.WriteString(indent + "fix: " + res.Fix + "\n")
		}
		for _, m := range res.More {
			b.WriteString(indent + m + "\n")
		}
	}
	b.WriteString("\n")
	skipped := 0
	for _, res := range r.Results {
		if res.Status == Skip {
			skipped++
		}
	}
	switch n := r.Failures(); {
	case n == 0 && skipped == 0:
		b.WriteString("No problems: everything a session needs is in place.\n")
	case n == 0:
		fmt.Fprintf(&b, "No problems found, but %d %s skipped (–): see why above.\n", skipped, plural(skipped, "check was", "checks were"))
	case n == 1:
		b.WriteString("1 problem (✗): fix it and run oobd doctor again.\n")
	default:
		fmt.Fprintf(&b, "%d problems (✗): fix them and run oobd doctor again.\n", n)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
