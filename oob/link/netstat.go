package link

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// parseNetstat reads FreeBSD's `netstat --libxo json -I NAME -b -n`: the
// interface's link-level row (network "<Link#N>") carries its byte
// counters; the address rows carry the addresses' own.
func parseNetstat(name string, out []byte) (byteCounts, error) {
	var doc struct {
		Statistics struct {
			Interface []struct {
				Name    string    `json:"name"`
				Network string    `json:"network"`
				RxBytes jsonCount `json:"received-bytes"`
				TxBytes jsonCount `json:"sent-bytes"`
			} `json:"interface"`
		} `json:"statistics"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		return byteCounts{}, fmt.Errorf("netstat -I %s: %w", name, err)
	}
	for _, row := range doc.Statistics.Interface {
		if row.Name == name && strings.HasPrefix(row.Network, "<Link#") {
			return byteCounts{RxBytes: uint64(row.RxBytes), TxBytes: uint64(row.TxBytes)}, nil
		}
	}
	return byteCounts{}, fmt.Errorf("netstat -I %s: no link-level row", name)
}

// jsonCount is a counter that libxo writes as a number, and that a string
// holding one is taken for too.
type jsonCount uint64

func (c *jsonCount) UnmarshalJSON(b []byte) error {
	b = bytes.Trim(b, `"`)
	n, err := strconv.ParseUint(string(b), 10, 64)
	if err != nil {
		return fmt.Errorf("counter %s: %w", b, err)
	}
	*c = jsonCount(n)
	return nil
}
