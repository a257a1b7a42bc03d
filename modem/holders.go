package modem

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
)

// Holder is a process that has a device open.
type Holder struct {
	PID  int    `json:"pid"`
	Name string `json:"name"` // the kernel's name for it (comm), e.g. "ModemManager"
}

func (h Holder) String() string { return fmt.Sprintf("%s (PID %d)", h.Name, h.PID) }

// ProcHolders finds device holders in a Linux /proc: every process's open
// descriptors (/proc/PID/fd/N, symlinks to what is open) and its name
// (/proc/PID/comm). Processes of other users cannot be looked at without
// root; the scan then says it is incomplete.
type ProcHolders struct {
	Proc fs.FS // /proc, e.g. os.DirFS("/proc"); must implement fs.ReadLinkFS
	Self int   // this process: never counted as a holder
}

// Holders maps each open path to the processes holding it. complete is
// false when some process's descriptors could not be read.
func (p ProcHolders) Holders() (held map[string][]Holder, complete bool, err error) {
	entries, err := fs.ReadDir(p.Proc, ".")
	if err != nil {
		return nil, false, fmt.Errorf("modem: holders: read /proc: %w", err)
	}
	held = map[string][]Holder{}
	complete = true
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid <= 0 || pid == p.Self {
			continue
		}
		fds, err := fs.ReadDir(p.Proc, path.Join(e.Name(), "fd"))
		if err != nil {
			// Gone since the listing: nothing held. Anything else (EACCES
			// for another user's process) leaves a blind spot.
			if !errors.Is(err, fs.ErrNotExist) {
				complete = false
			}
			continue
		}
		var name string
		seen := map[string]bool{}
		for _, fd := range fds {
			target, err := fs.ReadLink(p.Proc, path.Join(e.Name(), "fd", fd.Name()))
			if err != nil || !strings.HasPrefix(target, "/dev/") || seen[target] {
				continue
			}
			seen[target] = true
			if name == "" {
				name = p.name(e.Name())
			}
			held[target] = append(held[target], Holder{PID: pid, Name: name})
		}
	}
	return held, complete, nil
}

func (p ProcHolders) name(pid string) string {
	b, err := fs.ReadFile(p.Proc, path.Join(pid, "comm"))
	if n := strings.TrimSpace(string(b)); err == nil && n != "" {
		return n
	}
	return "?"
}
