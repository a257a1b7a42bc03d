package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Size is a number of bytes, written "50MB" (decimal: 10⁶), "256KiB"
// (binary: 2¹⁰), or a plain number of bytes.
type Size int64

var sizeUnits = []struct {
	suffix string
	mult   float64
}{
	// Longest first, so "KiB" is not read as "B".
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"tib", 1 << 40},
	{"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9}, {"tb", 1e12},
	{"k", 1e3}, {"m", 1e6}, {"g", 1e9}, {"t", 1e12},
	{"b", 1},
}

// ParseSize parses a size with an optional unit (case-insensitive).
func ParseSize(s string) (Size, error) {
	t := strings.TrimSpace(s)
	low := strings.ToLower(t)
	mult := 1.0
	for _, u := range sizeUnits {
		if strings.HasSuffix(low, u.suffix) {
			low = strings.TrimSpace(strings.TrimSuffix(low, u.suffix))
			mult = u.mult
			break
		}
	}
	f, err := strconv.ParseFloat(low, 64)
	if err != nil || low == "" || strings.ContainsAny(low, "einx_") {
		return 0, fmt.Errorf("bad size %q (want e.g. 50MB, 256KiB)", s)
	}
	v := f * mult
	if v < 0 || v > math.MaxInt64/2 {
		return 0, fmt.Errorf("size %q out of range", s)
	}
	return Size(math.Round(v)), nil
}

// UnmarshalYAML accepts a plain integer (bytes) or a string with a unit.
func (s *Size) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("want a size like 50MB")
	}
	v, err := ParseSize(n.Value)
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// String writes the size with the largest decimal unit that divides it.
func (s Size) String() string {
	for _, u := range []struct {
		name string
		mult int64
	}{{"TB", 1e12}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}} {
		if s != 0 && int64(s)%u.mult == 0 {
			return fmt.Sprintf("%d%s", int64(s)/u.mult, u.name)
		}
	}
	if s != 0 && s%1024 == 0 {
		return fmt.Sprintf("%dKiB", s/1024)
	}
	return fmt.Sprintf("%dB", int64(s))
}
