package ignore

import (
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/efs-project/efs/internal/testenv"
)

// exCase is one path checked against a pattern list.
type exCase struct {
	rel   string
	dir   bool
	wantX bool // excluded
}

func TestMatcherRules(t *testing.T) {
	tests := []struct {
		name     string
		patterns []string
		cases    []exCase
	}{
		{"plain name matches at any depth", []string{"foo"}, []exCase{
			{"foo", false, true}, {"foo", true, true}, {"a/foo", false, true},
			{"a/b/foo", true, true}, {"foo/bar", false, true}, {"foobar", false, false}, {"a/xfoo", false, false},
		}},
		{"trailing slash: directories only (git docs)", []string{"foo/"}, []exCase{
			{"foo", true, true}, {"foo", false, false}, {"foo/bar", false, true},
			{"a/foo", true, true}, {"a/foo", false, false}, {"a/foo/x/y", false, true},
		}},
		{"slash in the middle anchors (git docs doc/frotz)", []string{"doc/frotz/"}, []exCase{
			{"doc/frotz", true, true}, {"a/doc/frotz", true, false}, {"doc/frotz", false, false},
		}},
		{"leading slash anchors", []string{"/foo"}, []exCase{
			{"foo", false, true}, {"a/foo", false, false}, {"foo/x", false, true},
		}},
		{"star does not cross slashes", []string{"*.log"}, []exCase{
			{"a.log", false, true}, {"x/y/a.log", false, true}, {"a.log.txt", false, false}, {".log", false, true},
		}},
		{"anchored star", []string{"/a/*.c"}, []exCase{
			{"a/x.c", false, true}, {"a/b/x.c", false, false}, {"b/a/x.c", false, false},
		}},
		{"question mark", []string{"a?c"}, []exCase{
			{"abc", false, true}, {"ac", false, false}, {"abbc", false, false},
		}},
		{"question mark never matches slash", []string{"/a?c"}, []exCase{
			{"a/c", false, false},
		}},
		{"classes", []string{"[abc]x", "y[!0-9]", "z[^a]", "[]]w", "q[a-]", "[[:digit:]]d", "e[\\]]"}, []exCase{
			{"ax", false, true}, {"dx", false, false}, {"ya", false, true}, {"y5", false, false},
			{"zb", false, true}, {"za", false, false}, {"]w", false, true}, {"q-", false, true}, {"qa", false, true},
			{"qb", false, false}, {"7d", false, true}, {"xd", false, false}, {"e]", false, true},
		}},
		{"class never matches slash", []string{"/a[/]b"}, []exCase{{"a/b", false, false}}},
		{"leading **/", []string{"**/foo"}, []exCase{
			{"foo", false, true}, {"a/foo", false, true}, {"a/b/foo", true, true}, {"a/foox", false, false},
		}},
		{"leading **/ with path", []string{"**/foo/bar"}, []exCase{
			{"foo/bar", false, true}, {"x/y/foo/bar", false, true}, {"x/foo/baz", false, false},
		}},
		{"trailing /**", []string{"abc/**"}, []exCase{
			{"abc", true, false}, {"abc/x", false, true}, {"abc/x/y", false, true}, {"x/abc/y", false, false},
		}},
		{"middle /**/", []string{"a/**/b"}, []exCase{
			{"a/b", false, true}, {"a/x/b", false, true}, {"a/x/y/b", false, true}, {"a/xb", false, false}, {"x/a/b", false, false},
		}},
		{"** not between slashes is a plain star", []string{"/a**b"}, []exCase{
			{"axxb", false, true}, {"ab", false, true}, {"ax/b", false, false},
		}},
		{"negation: last match wins", []string{"*.log", "!keep.log"}, []exCase{
			{"a.log", false, true}, {"keep.log", false, false}, {"d/keep.log", false, false},
		}},
		{"negation order matters", []string{"!keep.log", "*.log"}, []exCase{
			{"keep.log", false, true},
		}},
		{"no re-include below an excluded directory", []string{"build/", "!build/keep"}, []exCase{
			{"build", true, true}, {"build/keep", false, true},
		}},
		{"git docs: keep only foo/bar", []string{"/*", "!/foo", "/foo/*", "!/foo/bar"}, []exCase{
			{"foo", true, false}, {"foo/bar", false, false}, {"foo/bar/x", false, false},
			{"foo/baz", false, true}, {"other", false, true}, {"other", true, true}, {"other/foo/bar", false, true},
		}},
		{"re-include directory contents with dir/**", []string{"dir/**", "!dir/keep"}, []exCase{
			{"dir/keep", false, false}, {"dir/other", false, true},
		}},
		{"escaped ! and #", []string{"\\!important", "\\#hash"}, []exCase{
			{"!important", false, true}, {"important", false, false}, {"#hash", false, true},
		}},
		{"comments and blanks ignored", []string{"# foo", "", "   "}, []exCase{
			{"# foo", false, false}, {"foo", false, false},
		}},
		{"trailing spaces trimmed unless escaped", []string{"a  ", "b\\ ", "c\\  "}, []exCase{
			{"a", false, true}, {"a ", false, false}, {"b ", false, true}, {"b", false, false}, {"c ", false, true},
		}},
		{"escaped star", []string{"a\\*"}, []exCase{{"a*", false, true}, {"ab", false, false}}},
		{"CR stripped", []string{"x.tmp\r"}, []exCase{{"x.tmp", false, true}}},
		{"dotfiles are ordinary names", []string{".*"}, []exCase{{".git", true, true}, {"a/.cache", false, true}, {"a", false, false}}},
		{"no patterns", nil, []exCase{{"a", false, false}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ex, err := Compile(tc.patterns)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range tc.cases {
				if got := ex.Excluded(c.rel, c.dir); got != c.wantX {
					t.Errorf("patterns %q: Excluded(%q, dir=%v) = %v, want %v", tc.patterns, c.rel, c.dir, got, c.wantX)
				}
			}
		})
	}
}

func TestCompileRejectsBrokenPatterns(t *testing.T) {
	for _, p := range []string{"a[bc", "foo\\", "[[:nope:]]", "x[", "[!"} {
		if _, err := Compile([]string{p}); err == nil {
			t.Errorf("Compile(%q) accepted a pattern that can never match", p)
		}
	}
	// "[[:" without a closing "]" at all is malformed; "[[:a]" is the
	// class {'[', ':', 'a'} as in git.
	ex, err := Compile([]string{"[[:a]x"})
	if err != nil {
		t.Fatal(err)
	}
	if !ex.Excluded(":x", false) || !ex.Excluded("[x", false) || ex.Excluded("bx", false) {
		t.Error("[[:a] is not read as a plain class")
	}
}

func TestReadFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "ex")
	data := "\xef\xbb\xbf# comment\r\n*.log\r\n\r\n   \n!keep.log\ncache/  \n\\#notcomment\n"
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"*.log", "!keep.log", "cache/  ", "\\#notcomment"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("ReadFile = %q, want %q", got, want)
	}
	ex, err := Compile(got)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []exCase{{"a.log", false, true}, {"keep.log", false, false}, {"cache/x", false, true}, {"#notcomment", false, true}} {
		if ex.Excluded(c.rel, c.dir) != c.wantX {
			t.Errorf("Excluded(%q) != %v", c.rel, c.wantX)
		}
	}
	if _, err := ReadFile(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("missing exclude file accepted")
	}
}

// TestMatcherMatchesGit compares the matcher with git itself: for random
// pattern lists over a fixed tree, the files git reports as not ignored
// must be exactly the files Excluded lets through.
func TestMatcherMatchesGit(t *testing.T) {
	git, err := exec.LookPath("git")
	if err != nil {
		testenv.SkipOrFail(t, "git not installed")
	}
	files := []string{
		"a.log", "keep.log", "foo", "bar/foo", "bar/baz.c", "foo2/bar", "doc/frotz/x",
		"a/b/c/d.txt", "a/x/b/y", "abc/def", "build/out.o", "build/keep", "src/main.go",
		"src/.hidden", ".env", "x[1]", "deep/er/still/foo/z", "q?r",
	}
	root := t.TempDir()
	for _, f := range files {
		p := filepath.Join(root, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(git, "init", "-q", root)
	if out, err := cmd.CombinedOutput(); err != nil {
		testenv.SkipOrFail(t, "git init: %v %s", err, out)
	}
	atoms := []string{
		"foo", "foo/", "/foo", "*.log", "!keep.log", "!*.log", "**/foo", "bar/**", "a/**/y", "a/**",
		"!a/x", "build/", "!build/keep", "/*", "!/src", "src/*", "!src/main.go", "*", "!*/", "doc/frotz/",
		"[ab]*", "?", "x\\[1]", "q\\?r", "**", "!**/foo", ".*", "*/b", "!bar/", "deep/**/foo",
		"*.[co]", "!/a", "abc/**/", "b*/*", "*.[!c]", "a/*/y", "**/b/**", "[[:alpha:]]*", "!*.txt",
		"x[[]1]", "src/", "!src/", "de*/**/z", "a?c/", "*/*/*",
	}
	rng := rand.New(rand.NewSource(1))
	rounds := 150
	if testing.Short() {
		rounds = 20
	}
	for round := 0; round < rounds; round++ {
		n := 1 + rng.Intn(5)
		pats := make([]string, n)
		for i := range pats {
			pats[i] = atoms[rng.Intn(len(atoms))]
		}
		if err := os.WriteFile(filepath.Join(root, ".gitignore"), []byte(strings.Join(pats, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(git, "-C", root, "ls-files", "--others", "--exclude-standard")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("git ls-files: %v", err)
		}
		want := strings.Fields(string(out))
		ex, err := Compile(pats)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, f := range append(files, ".gitignore") {
			if !ex.Excluded(f, false) {
				got = append(got, f)
			}
		}
		sort.Strings(want)
		sort.Strings(got)
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("patterns %q:\n efs keeps %q\n git keeps %q", pats, got, want)
		}
	}
}

func FuzzMatcher(f *testing.F) {
	f.Add("*.log\n!keep.log\ncache/", "a/keep.log", false)
	f.Add("/*\n!/foo\n/foo/*\n!/foo/bar", "foo/bar", true)
	f.Add("a/**/b\n[[:alpha:]-z]\\", "a/x/b", false)
	f.Fuzz(func(t *testing.T, patterns, rel string, isDir bool) {
		ex, err := Compile(strings.Split(patterns, "\n"))
		if err != nil {
			return
		}
		ex.Excluded(rel, isDir)
		// A literal pattern (no glob characters) always excludes that name.
		if rel != "" && !strings.ContainsAny(rel, "*?[\\!# \r\n/") {
			lit, err := Compile([]string{rel})
			if err != nil {
				t.Fatalf("literal pattern %q rejected: %v", rel, err)
			}
			if !lit.Excluded(rel, isDir) || !lit.Excluded("x/"+rel, isDir) {
				t.Fatalf("literal pattern %q does not exclude itself", rel)
			}
		}
	})
}
