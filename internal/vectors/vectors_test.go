package vectors

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

const (
	formatDoc = "../../docs/FORMAT.md"
	vectorDir = "../../testdata/vectors"
)

// rejectTable reads the rule table of FORMAT.md's "What a decoder MUST
// reject" section: rule → the vectors its row lists, and the rows that
// name no vector but the test that checks them instead.
func rejectTable(t *testing.T, doc string) (rows map[string][]string, elsewhere map[string]bool) {
	t.Helper()
	_, sec, ok := strings.Cut(doc, "\n## What a decoder MUST reject")
	if !ok {
		t.Fatal("FORMAT.md has no \"What a decoder MUST reject\" section")
	}
	sec, _, _ = strings.Cut(sec, "\n## ")
	rows, elsewhere = map[string][]string{}, map[string]bool{}
	row := regexp.MustCompile("^\\| `([a-z0-9-]+)` +\\|.*\\|([^|]*)\\|$")
	name := regexp.MustCompile("`(reject-[a-z0-9-]+)`")
	for _, line := range strings.Split(sec, "\n") {
		m := row.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		if _, dup := rows[m[1]]; dup {
			t.Errorf("rule %s has two rows", m[1])
		}
		rows[m[1]] = nil
		for _, v := range name.FindAllStringSubmatch(m[2], -1) {
			rows[m[1]] = append(rows[m[1]], v[1])
		}
		if len(rows[m[1]]) == 0 {
			elsewhere[m[1]] = strings.Contains(m[2], "test/frozen")
		}
	}
	if len(rows) < 10 {
		t.Fatalf("the rule table has %d rows; is its layout still | `rule` | text | vectors |?", len(rows))
	}
	return rows, elsewhere
}

// TestRejectRules keeps FORMAT.md and testdata/vectors in step: every rule
// the text names is in the summary table, every reject vector names a rule
// of the table and is listed in that rule's row, every listed vector
// exists, and a rule without vectors says which test checks it.
func TestRejectRules(t *testing.T) {
	data, err := os.ReadFile(formatDoc)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	rows, elsewhere := rejectTable(t, doc)

	for _, m := range regexp.MustCompile("rules? `([a-z0-9-]+)`").FindAllStringSubmatch(doc, -1) {
		if _, ok := rows[m[1]]; !ok {
			t.Errorf("FORMAT.md names rule %s, which is not in the summary table", m[1])
		}
	}
	for rule, ok := range elsewhere {
		if !ok {
			t.Errorf("rule %s has no vector and names no test that checks it", rule)
		}
	}

	paths, err := filepath.Glob(filepath.Join(vectorDir, "*.txt"))
	if err != nil {
		t.Fatal(err)
	}
	byRule := map[string][]string{}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		v, err := Parse(strings.TrimSuffix(filepath.Base(p), ".txt"), data)
		if err != nil {
			t.Fatal(err)
		}
		reject := v.Values["expect"] == "reject"
		if reject != strings.HasPrefix(v.Name, "reject-") {
			t.Errorf("%s: expect %q; reject vectors, and only they, are called reject-*", v.Name, v.Values["expect"])
			continue
		}
		if !reject {
			continue
		}
		rule := v.Values["rule"]
		if _, ok := rows[rule]; !ok {
			t.Errorf("%s: rule %q is not in FORMAT.md's table", v.Name, rule)
		}
		if v.Body == nil {
			t.Errorf("%s: no body", v.Name)
		}
		byRule[rule] = append(byRule[rule], v.Name)
	}
	for rule, listed := range rows {
		got := slices.Clone(byRule[rule])
		sort.Strings(got)
		want := slices.Clone(listed)
		sort.Strings(want)
		if !slices.Equal(got, want) {
			t.Errorf("rule %s: FORMAT.md lists %v, testdata/vectors has %v", rule, want, got)
		}
	}
}

// TestKinds: every kind of vector in testdata/vectors has a row in the
// tables of FORMAT.md's "Test vectors" section, the valid ones in the
// table of fields, the reject ones in the table of inputs, and every
// row's kind has a vector.
func TestKinds(t *testing.T) {
	data, err := os.ReadFile(formatDoc)
	if err != nil {
		t.Fatal(err)
	}
	_, sec, ok := strings.Cut(string(data), "\n## Test vectors")
	if !ok {
		t.Fatal("FORMAT.md has no \"Test vectors\" section")
	}
	sec, _, _ = strings.Cut(sec, "\n## ")
	valid, reject, ok := strings.Cut(sec, "**Reject vectors**")
	if !ok {
		t.Fatal("the Test vectors section has no **Reject vectors** paragraph")
	}
	row := regexp.MustCompile("(?m)^\\| `([a-z0-9-]+)` +\\|")
	kinds := func(text string) map[string]bool {
		m := map[string]bool{}
		for _, r := range row.FindAllStringSubmatch(text, -1) {
			m[r[1]] = true
		}
		return m
	}
	documented := map[bool]map[string]bool{false: kinds(valid), true: kinds(reject)}
	seen := map[bool]map[string]bool{false: {}, true: {}}
	vs, err := Load(vectorDir, "subkeys", "file-id", "file-key", "content", "name", "symlink", "config", "recovery", "link-group", "record", "hidden-mtime")
	if err != nil {
		t.Fatal(err)
	}
	paths, _ := filepath.Glob(filepath.Join(vectorDir, "*.txt"))
	if len(vs) != len(paths) {
		t.Errorf("%d vector files, %d of a kind this test knows", len(paths), len(vs))
	}
	for _, v := range vs {
		r := v.Values["expect"] == "reject"
		seen[r][v.Values["kind"]] = true
		if !documented[r][v.Values["kind"]] {
			t.Errorf("%s: kind %s (reject %v) has no row in FORMAT.md's Test vectors tables", v.Name, v.Values["kind"], r)
		}
	}
	for r, ks := range documented {
		for k := range ks {
			if !seen[r][k] {
				t.Errorf("FORMAT.md documents kind %s (reject %v), which no vector has", k, r)
			}
		}
	}
}
