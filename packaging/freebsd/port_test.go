// Package freebsd holds the checks of the FreeBSD port skeleton in
// sysutils/oobd, which cannot be built here.
package freebsd

import (
	"bufio"
	"os"
	"path"
	"reflect"
	"sort"
	"strings"
	"testing"
)

const port = "sysutils/oobd"

// installed parses the port's install targets: the files they install
// (from where in the source tree) and the directories they make.
func installed(t *testing.T) (files map[string]string, dirs []string) {
	t.Helper()
	f, err := os.Open(port + "/Makefile")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// The port framework's variables for this port (PREFIX is /usr/local
	// unless the builder changes it).
	makeVars := strings.NewReplacer(
		"${STAGEDIR}", "",
		"${ETCDIR}", "/usr/local/etc/oobd",
		"${EXAMPLESDIR}", "/usr/local/share/examples/oobd",
		"${PREFIX}", "/usr/local",
	)
	files = map[string]string{}
	inRecipe := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := sc.Text()
		if strings.HasPrefix(l, "do-install:") || strings.HasPrefix(l, "do-install-EXAMPLES-on:") {
			inRecipe = true
			continue
		}
		if !strings.HasPrefix(l, "\t") {
			inRecipe = false
			continue
		}
		if !inRecipe {
			continue
		}
		w := strings.Fields(strings.TrimPrefix(strings.TrimSpace(l), "@"))
		if len(w) < 2 {
			t.Fatalf("recipe line %q", l)
		}
		dest := makeVars.Replace(w[len(w)-1])
		switch {
		case w[0] == "${MKDIR}":
			dirs = append(dirs, dest)
		case strings.HasPrefix(w[0], "${INSTALL"):
			if w[0] == "${INSTALL_MAN}" {
				dest += ".gz" // the framework compresses manual pages
			}
			files[dest] = w[len(w)-2]
		default:
			t.Fatalf("a recipe line this test cannot read: %q", l)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return files, dirs
}

// listed parses pkg-plist: its files and its @dir directories.
func listed(t *testing.T) (files, dirs []string) {
	t.Helper()
	b, err := os.ReadFile(port + "/pkg-plist")
	if err != nil {
		t.Fatal(err)
	}
	plistVars := strings.NewReplacer(
		"%%ETCDIR%%", "etc/oobd",
		"%%EXAMPLESDIR%%", "share/examples/oobd",
		"%%PORTEXAMPLES%%", "",
	)
	abs := func(p string) string {
		if path.IsAbs(p) {
			return p
		}
		return "/usr/local/" + p
	}
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		l = plistVars.Replace(strings.TrimSpace(l))
		switch {
		case strings.HasPrefix(l, "@dir"):
			dirs = append(dirs, abs(strings.Fields(l)[1]))
		case strings.HasPrefix(l, "@sample"):
			files = append(files, abs(strings.Fields(l)[1]))
		case strings.HasPrefix(l, "@"):
			t.Fatalf("a plist keyword this test cannot read: %q", l)
		default:
			files = append(files, abs(l))
		}
	}
	return files, dirs
}

func TestPlistListsWhatTheInstallInstalls(t *testing.T) {
	inst, mkdirs := installed(t)
	var instFiles []string
	for dest, src := range inst {
		instFiles = append(instFiles, dest)
		// Every source is in the repository (GO_WRKDIR_BIN is the build's).
		if rel, ok := strings.CutPrefix(src, "${WRKSRC}/"); ok {
			if _, err := os.Stat("../../" + rel); err != nil {
				t.Errorf("the port installs %s, which the repository lacks", rel)
			}
		} else if src != "${GO_WRKDIR_BIN}/oobd" {
			t.Errorf("%s installed from %s", dest, src)
		}
	}
	files, dirs := listed(t)
	sort.Strings(instFiles)
	sort.Strings(files)
	if !reflect.DeepEqual(instFiles, files) {
		t.Errorf("pkg-plist files:\n  %v\ninstalled:\n  %v", files, instFiles)
	}
	made := map[string]bool{}
	for _, d := range mkdirs {
		made[d] = true
	}
	for _, d := range dirs {
		if !made[d] {
			t.Errorf("pkg-plist has @dir %s, which the install does not make", d)
		}
	}
	// A directory made but not listed must hold an installed file, or the
	// package would not carry it.
	for _, d := range mkdirs {
		holds := false
		for _, f := range files {
			holds = holds || strings.HasPrefix(f, d+"/")
		}
		listedDir := false
		for _, l := range dirs {
			listedDir = listedDir || l == d
		}
		if !holds && !listedDir {
			t.Errorf("the install makes %s, empty and not in pkg-plist", d)
		}
	}
}

// The port's rc.d script is the repository's, with PREFIX for /usr/local.
func TestRCScriptIsTheRepositorys(t *testing.T) {
	want, err := os.ReadFile("../../rc.d/oobd")
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(port + "/files/oobd.in")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != strings.ReplaceAll(string(want), "/usr/local", "%%PREFIX%%") {
		t.Error("files/oobd.in is not rc.d/oobd: regenerate it with\n" +
			"  sed 's|/usr/local|%%PREFIX%%|g' rc.d/oobd >packaging/freebsd/sysutils/oobd/files/oobd.in")
	}
}
