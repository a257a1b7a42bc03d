package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Problem is one thing wrong with a config: where (the key path and, when
// known, the line) and what.
type Problem struct {
	File string
	Line int    // 0 when unknown
	Path string // e.g. "tunnel.forwards[1].remote"; "" for the whole file
	Msg  string
}

func (p Problem) String() string {
	var b strings.Builder
	if p.File != "" {
		b.WriteString(p.File)
		if p.Line > 0 {
			fmt.Fprintf(&b, ":%d", p.Line)
		}
		b.WriteString(": ")
	}
	if p.Path != "" {
		b.WriteString(p.Path + ": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Problems is every problem found in a config; it is the error Load
// returns when the config cannot be used.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Option changes how Load checks a config.
type Option func(*loader)

// WithoutFileChecks skips the checks that look at the file system (secret
// files, state_dir), for tests of the schema alone.
func WithoutFileChecks() Option { return func(l *loader) { l.noFiles = true } }

// WithGOOS sets the OS whose defaults apply (tests).
func WithGOOS(goos string) Option { return func(l *loader) { l.goos = goos } }

type loader struct {
	file     string
	noFiles  bool
	goos     string
	lines    map[string]int
	failed   map[string]bool // key paths with a decoding problem
	decoded  bool            // decoding is over: validation is running
	problems Problems
	warnings Problems

	rejectPlaceholders bool // RejectPlaceholders
}

// Load reads, decodes and checks the config at path. When anything is
// wrong the error is a Problems listing all of it.
func Load(path string, opts ...Option) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, Problems{{File: path, Msg: fmt.Sprintf("cannot read config: %v", errors.Unwrap(err))}}
	}
	return Parse(path, data, opts...)
}

// Parse decodes and checks config text; name is the file it came from,
// for messages and relative paths.
func Parse(name string, data []byte, opts ...Option) (*Config, error) {
	l := &loader{file: name, lines: map[string]int{}, failed: map[string]bool{}}
	for _, o := range opts {
		o(l)
	}
	var cfg Config
	if l.goos != "" {
		cfg = defaultFor(l.goos)
	} else {
		cfg = Default()
	}
	cfg.Path = name

	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	switch err := dec.Decode(&doc); {
	case errors.Is(err, io.EOF):
		// An empty file: every default, and validation says what is missing.
	case err != nil:
		l.add("", 0, cleanYAMLError(err))
		return nil, l.problems
	default:
		var extra yaml.Node
		if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
			l.add("", extra.Line, "more than one YAML document")
		}
		root := &doc
		if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
			root = root.Content[0]
		}
		l.decode(root, reflect.ValueOf(&cfg).Elem(), "")
		if len(l.problems) == 0 {
			l.strictCheck(data, cfg)
		}
	}
	// Validate even after decoding problems, so the owner sees every
	// problem at once; keys that failed to decode are not reported twice.
	l.decoded = true
	l.validate(&cfg)
	if len(l.problems) > 0 {
		// In file order; problems without a line (whole-file ones) first.
		sort.SliceStable(l.problems, func(i, j int) bool { return l.problems[i].Line < l.problems[j].Line })
		return nil, l.problems
	}
	cfg.Warnings = l.warnings
	return &cfg, nil
}

// strictCheck decodes the whole document once more with yaml.v3's own
// strict mode (KnownFields), so nothing the walker might let through gets
// in. It reports only what the walker did not.
func (l *loader) strictCheck(data []byte, defaults Config) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	c := defaults
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		l.add("", 0, cleanYAMLError(err))
	}
}

func (l *loader) add(path string, line int, msg string) {
	if !l.decoded {
		l.failed[path] = true
	} else if l.failedAt(path) {
		return
	}
	if line == 0 {
		line = l.lineOf(path)
	}
	l.problems = append(l.problems, Problem{File: l.file, Line: line, Path: path, Msg: msg})
}

func (l *loader) warn(path, msg string) {
	l.warnings = append(l.warnings, Problem{File: l.file, Line: l.lineOf(path), Path: path, Msg: msg})
}

// failedAt reports whether path or a parent of it failed to decode.
func (l *loader) failedAt(path string) bool {
	for p := path; p != ""; {
		if l.failed[p] {
			return true
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return false
}

// lineOf finds the line of path, or of its nearest parent that was in the
// file (a missing key is reported at its section).
func (l *loader) lineOf(path string) int {
	for p := path; p != ""; {
		if n, ok := l.lines[p]; ok {
			return n
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return 0
}

var durationType = reflect.TypeOf(time.Duration(0))

var unmarshalerType = reflect.TypeOf((*yaml.Unmarshaler)(nil)).Elem()

// decode walks node against the struct v, decoding each value separately
// so that one bad value does not hide the next, and every problem carries
// the key path and line.
func (l *loader) decode(n *yaml.Node, v reflect.Value, path string) {
	if path != "" {
		l.lines[path] = n.Line
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return // "key:" with nothing: keep the default
	}
	t := v.Type()
	switch {
	case t == durationType:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
			l.add(path, n.Line, fmt.Sprintf("want a duration with a unit like 30s or 15m, not %q", n.Value))
			return
		}
		d, err := time.ParseDuration(n.Value)
		if err != nil {
			l.add(path, n.Line, fmt.Sprintf("bad duration %q (want e.g. 30s, 15m, 4h)", n.Value))
			return
		}
		v.SetInt(int64(d))
	case reflect.PointerTo(t).Implements(unmarshalerType):
		if err := n.Decode(v.Addr().Interface()); err != nil {
			l.add(path, n.Line, cleanYAMLError(err))
		}
	case t.Kind() == reflect.Struct:
		if n.Kind != yaml.MappingNode {
			l.add(path, n.Line, "want a mapping of keys")
			return
		}
		fields := map[string]int{}
		for i := 0; i < t.NumField(); i++ {
			tag := strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]
			if tag != "" && tag != "-" {
				fields[tag] = i
			}
		}
		seen := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			p := join(path, k.Value)
			if first, dup := seen[k.Value]; dup {
				l.add(p, k.Line, fmt.Sprintf("duplicate key (first on line %d)", first))
				continue
			}
			seen[k.Value] = k.Line
			fi, ok := fields[k.Value]
			if !ok {
				l.add(p, k.Line, "unknown key")
				continue
			}
			l.decode(val, v.Field(fi), p)
		}
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Struct:
		if n.Kind != yaml.SequenceNode {
			l.add(path, n.Line, "want a list")
			return
		}
		s := reflect.MakeSlice(t, len(n.Content), len(n.Content))
		for i, e := range n.Content {
			l.decode(e, s.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
		v.Set(s)
	default:
		if t.Kind() == reflect.Slice && n.Kind != yaml.SequenceNode {
			l.add(path, n.Line, "want a list")
			return
		}
		if t.Kind() == reflect.String && n.Kind == yaml.ScalarNode && n.Tag != "!!str" {
			// A number or a bool where text belongs is usually a slip
			// ("baud" vs "port"); yaml.v3 would take it as text silently
			// for some, so say so for all but plain ints ("46").
			if n.Tag == "!!bool" {
				l.add(path, n.Line, fmt.Sprintf("want text, got %s %q (quote it)", strings.TrimPrefix(n.Tag, "!!"), n.Value))
				return
			}
		}
		if err := n.Decode(v.Addr().Interface()); err != nil {
			l.add(path, n.Line, cleanYAMLError(err))
		}
		if t.Kind() == reflect.Slice {
			for i, e := range n.Content {
				l.lines[fmt.Sprintf("%s[%d]", path, i)] = e.Line
			}
		}
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

var yamlLinePrefix = regexp.MustCompile(`^(yaml: )?(unmarshal errors:\n\s*)?(line \d+: )?`)

// cleanYAMLError drops yaml.v3's "yaml: unmarshal errors: line N:"
// framing, since the problem already says where.
func cleanYAMLError(err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs := make([]string, len(te.Errors))
		for i, e := range te.Errors {
			msgs[i] = yamlLinePrefix.ReplaceAllString(e, "")
		}
		return strings.Join(msgs, "; ")
	}
	s := err.Error()
	if strings.HasPrefix(s, "yaml: line ") {
		return "YAML syntax: " + strings.TrimPrefix(s, "yaml: ")
	}
	return strings.TrimPrefix(s, "yaml: ")
}
