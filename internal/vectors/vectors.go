// Package vectors reads and writes efs's test-vector files
// (testdata/vectors/*.txt, docs/FORMAT.md "Test vectors"). A file is a list
// of "key: value" lines, optionally followed by a line "---" and a raw body:
//
//	kind: name
//	parent: docs
//	---
//	<raw bytes>
//
// Lines starting with '#' are comments. Binary values are lowercase hex.
// The files are written by internal/vectorgen and never edited by hand.
package vectors

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Vector is one parsed vector file.
type Vector struct {
	Name   string // file name without .txt
	Keys   []string
	Values map[string]string
	Body   []byte // nil when the file has no "---" section
}

// Set appends or replaces a header field.
func (v *Vector) Set(key, value string) {
	if v.Values == nil {
		v.Values = map[string]string{}
	}
	if _, ok := v.Values[key]; !ok {
		v.Keys = append(v.Keys, key)
	}
	v.Values[key] = value
}

// Has reports whether the field is present.
func (v *Vector) Has(key string) bool { _, ok := v.Values[key]; return ok }

// Get returns a field; a missing field is an error so that a test cannot
// silently compare against "".
func (v *Vector) Get(key string) (string, error) {
	s, ok := v.Values[key]
	if !ok {
		return "", fmt.Errorf("vector %s: missing field %q", v.Name, key)
	}
	return s, nil
}

// Hex returns a hex field decoded.
func (v *Vector) Hex(key string) ([]byte, error) {
	s, err := v.Get(key)
	if err != nil {
		return nil, err
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("vector %s: field %q: %w", v.Name, key, err)
	}
	return b, nil
}

// Int returns an integer field.
func (v *Vector) Int(key string) (int64, error) {
	s, err := v.Get(key)
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("vector %s: field %q: %w", v.Name, key, err)
	}
	return n, nil
}

// Marshal returns the file text.
func (v *Vector) Marshal() []byte {
	var b bytes.Buffer
	for _, k := range v.Keys {
		fmt.Fprintf(&b, "%s: %s\n", k, v.Values[k])
	}
	if v.Body != nil {
		b.WriteString("---\n")
		b.Write(v.Body)
	}
	return b.Bytes()
}

// Parse decodes a vector file.
func Parse(name string, data []byte) (*Vector, error) {
	v := &Vector{Name: name, Values: map[string]string{}}
	for len(data) > 0 {
		line := data
		rest := []byte(nil)
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, rest = data[:i], data[i+1:]
		}
		data = rest
		s := string(line)
		switch {
		case s == "---":
			v.Body = append([]byte{}, data...)
			return v, nil
		case s == "" || strings.HasPrefix(s, "#"):
			continue
		}
		k, val, ok := strings.Cut(s, ": ")
		if !ok {
			k, ok = strings.CutSuffix(s, ":")
			if !ok {
				return nil, fmt.Errorf("vector %s: line %q is not \"key: value\"", name, s)
			}
		}
		if v.Has(k) {
			return nil, fmt.Errorf("vector %s: duplicate field %q", name, k)
		}
		v.Set(k, val)
	}
	return v, nil
}

// Load reads every *.txt vector in dir whose kind field is one of kinds,
// sorted by name.
func Load(dir string, kinds ...string) ([]*Vector, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.txt"))
	if err != nil {
		return nil, err
	}
	sort.Strings(paths)
	var out []*Vector
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		v, err := Parse(strings.TrimSuffix(filepath.Base(p), ".txt"), data)
		if err != nil {
			return nil, err
		}
		for _, k := range kinds {
			if v.Values["kind"] == k {
				out = append(out, v)
			}
		}
	}
	return out, nil
}

// TB is the part of testing.TB the Must accessors use.
type TB interface {
	Helper()
	Fatal(args ...any)
}

// MustGet is Get for tests: a missing field fails the test.
func (v *Vector) MustGet(t TB, key string) string {
	t.Helper()
	s, err := v.Get(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// MustHex is Hex for tests.
func (v *Vector) MustHex(t TB, key string) []byte {
	t.Helper()
	b, err := v.Hex(key)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// MustInt is Int for tests.
func (v *Vector) MustInt(t TB, key string) int64 {
	t.Helper()
	n, err := v.Int(key)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// Must turns (value, error) into a function that fails the test on error,
// for computing a vector's value through an API in one expression:
// Must(f())(t).
func Must[T any](v T, err error) func(TB) T {
	return func(t TB) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}
