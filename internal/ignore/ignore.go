// Package ignore matches paths against exclusion patterns with the
// semantics of git's .gitignore; efs reverse and efs export use it for
// --exclude and --exclude-from.
//
// It is our own matcher (a port of git's wildmatch and of the pattern rules
// in git's dir.c) rather than a library: go-git's gitignore package drags in
// the whole go-git module for ~300 lines of code, and the small standalone
// packages get negation or directory rules wrong — the very bugs users
// report against gocryptfs's --exclude. The matcher is checked against
// `git ls-files` itself in ignore_test.go.
package ignore

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
)

// Matcher is a compiled list of gitignore patterns, evaluated as git does:
// the last matching pattern decides, "!" re-includes, and nothing below an
// excluded directory can be re-included. It is safe for concurrent use (it
// is immutable).
type Matcher struct {
	patterns []pattern
}

// pattern is one parsed gitignore line.
type pattern struct {
	glob     string // wildmatch pattern, without "!", leading "/" and trailing "/"
	negate   bool   // "!pattern": re-include
	dirOnly  bool   // "pattern/": only matches directories
	basename bool   // no "/" in the pattern: matched against the last name only
}

// Compile parses patterns, each one line of gitignore syntax: blank
// lines and "#" comments are skipped, so --exclude and --exclude-from read
// the same way. A pattern git would silently never match (an unterminated
// "[" class, an unknown [:class:], a trailing backslash) is an error here,
// so a typo does not quietly upload what was meant to be left out.
func Compile(patterns []string) (*Matcher, error) {
	ex := &Matcher{}
	for _, line := range patterns {
		p, ok, err := parsePattern(line)
		if err != nil {
			return nil, fmt.Errorf("exclude pattern %q: %w", line, err)
		}
		if ok {
			ex.patterns = append(ex.patterns, p)
		}
	}
	return ex, nil
}

// ReadFile reads a gitignore-style file: one pattern per line (LF or
// CRLF), without blank lines and comments. Trailing spaces are left for
// Compile, which applies git's rule for them.
func ReadFile(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading exclude file: %w", err)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // git skips a UTF-8 BOM too
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), len(data)+1)
	for sc.Scan() {
		line := strings.TrimSuffix(sc.Text(), "\r")
		if strings.TrimRight(line, " ") == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, line)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading exclude file: %w", err)
	}
	return out, nil
}

var (
	errTrailingBackslash = errors.New("ends with a backslash")
	errBadClass          = errors.New("unterminated or malformed [...] class")
)

// parsePattern turns one gitignore line into a pattern; ok is false for
// blank lines and comments.
func parsePattern(line string) (p pattern, ok bool, err error) {
	line = strings.TrimSuffix(line, "\r")
	if line == "" || line[0] == '#' {
		return p, false, nil
	}
	line = trimTrailingSpaces(line)
	if line == "" {
		return p, false, nil
	}
	if line[0] == '!' {
		p.negate = true
		line = line[1:]
	}
	// A trailing "/" means directories only; it is not part of the glob.
	if strings.HasSuffix(line, "/") && !escapedAt(line, len(line)-1) {
		p.dirOnly = true
		line = strings.TrimRight(line, "/")
	}
	if line == "" {
		return p, false, nil // "/" or "!" alone: git ignores them too
	}
	// A "/" at the start or in the middle anchors the pattern at the root;
	// without one it matches a name at any depth.
	if strings.Contains(line, "/") {
		line = strings.TrimPrefix(line, "/")
	} else {
		p.basename = true
	}
	if line == "" {
		return p, false, nil
	}
	if err := validGlob(line); err != nil {
		return p, false, err
	}
	p.glob = line
	return p, true, nil
}

// trimTrailingSpaces drops trailing spaces unless backslash-escaped.
func trimTrailingSpaces(s string) string {
	last := 0 // end of the last non-space or escaped character
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
			last = i + 1
		} else if s[i] != ' ' {
			last = i + 1
		}
	}
	return s[:last]
}

// escapedAt reports whether s[i] is preceded by an odd number of
// backslashes.
func escapedAt(s string, i int) bool {
	n := 0
	for j := i - 1; j >= 0 && s[j] == '\\'; j-- {
		n++
	}
	return n%2 == 1
}

// validGlob rejects globs that can never match.
func validGlob(g string) error {
	for i := 0; i < len(g); i++ {
		switch g[i] {
		case '\\':
			if i+1 == len(g) {
				return errTrailingBackslash
			}
			i++
		case '[':
			_, next, ok := matchClass(g, i, 'a')
			if !ok {
				return errBadClass
			}
			i = next - 1
		}
	}
	return nil
}

// Excluded reports whether the entry at rel ("/"-separated, relative to the
// root, no leading "/") is excluded, itself or through an excluded parent
// directory.
func (e *Matcher) Excluded(rel string, isDir bool) bool {
	if e == nil || len(e.patterns) == 0 || rel == "" {
		return false
	}
	for i := 0; i < len(rel); i++ {
		if rel[i] == '/' && e.matches(rel[:i], true) {
			return true
		}
	}
	return e.matches(rel, isDir)
}

// matches applies the patterns to rel alone: the last match decides.
func (e *Matcher) matches(rel string, isDir bool) bool {
	base := rel
	if i := strings.LastIndexByte(rel, '/'); i >= 0 {
		base = rel[i+1:]
	}
	for i := len(e.patterns) - 1; i >= 0; i-- {
		p := &e.patterns[i]
		if p.dirOnly && !isDir {
			continue
		}
		subject := rel
		if p.basename {
			subject = base
		}
		if wildmatch(p.glob, subject) == wmMatch {
			return !p.negate
		}
	}
	return false
}

// Results of wildmatch; the two aborts prune the backtracking as in git.
const (
	wmMatch = iota
	wmNoMatch
	wmAbortAll
	wmAbortToStarStar
)

// wildmatch matches text against glob with git's WM_PATHNAME rules: "*",
// "?" and classes never match "/"; "**" between slashes (or at either end)
// matches any number of directories; "\" escapes. Bytes, not runes, are
// compared, as git does.
func wildmatch(glob, text string) int {
	p, t := 0, 0
	for ; p < len(glob); p, t = p+1, t+1 {
		pc := glob[p]
		if t >= len(text) && pc != '*' {
			return wmAbortAll
		}
		switch pc {
		case '\\':
			p++
			if p >= len(glob) || text[t] != glob[p] {
				return wmNoMatch
			}
		case '?':
			if text[t] == '/' {
				return wmNoMatch
			}
		case '[':
			if text[t] == '/' {
				return wmNoMatch
			}
			matched, next, ok := matchClass(glob, p, text[t])
			if !ok {
				return wmAbortAll
			}
			if !matched {
				return wmNoMatch
			}
			p = next - 1
		case '*':
			matchSlash := false
			p++
			if p < len(glob) && glob[p] == '*' {
				start := p - 1
				for p < len(glob) && glob[p] == '*' {
					p++
				}
				if (start == 0 || glob[start-1] == '/') &&
					(p == len(glob) || glob[p] == '/' || (glob[p] == '\\' && p+1 < len(glob) && glob[p+1] == '/')) {
					// "**/" may also match no directory at all.
					if p < len(glob) && glob[p] == '/' && wildmatch(glob[p+1:], text[t:]) == wmMatch {
						return wmMatch
					}
					matchSlash = true
				}
			}
			if p == len(glob) {
				// A trailing "**" matches everything, "*" only within one name.
				if !matchSlash && strings.IndexByte(text[t:], '/') >= 0 {
					return wmNoMatch
				}
				return wmMatch
			}
			if !matchSlash && glob[p] == '/' {
				// "*/" matches the rest of this name.
				i := strings.IndexByte(text[t:], '/')
				if i < 0 {
					return wmNoMatch
				}
				t += i
				continue // the loop steps over the "/" in both
			}
			for ; t < len(text); t++ {
				r := wildmatch(glob[p:], text[t:])
				if r != wmNoMatch {
					if !matchSlash || r != wmAbortToStarStar {
						return r
					}
				} else if !matchSlash && text[t] == '/' {
					return wmAbortToStarStar
				}
			}
			return wmAbortAll
		default:
			if text[t] != pc {
				return wmNoMatch
			}
		}
	}
	if t < len(text) {
		return wmNoMatch
	}
	return wmMatch
}

// matchClass evaluates the class starting at glob[open] == '[' for byte c:
// "[!...]"/"[^...]" negate, "a-z" ranges, "\" escapes, "[:alpha:]" and the
// other POSIX names, and a "]" first in the class is literal. next is the
// index after the closing "]"; ok is false for a malformed class.
func matchClass(glob string, open int, c byte) (matched bool, next int, ok bool) {
	p := open + 1
	negated := false
	if p < len(glob) && (glob[p] == '!' || glob[p] == '^') {
		negated = true
		p++
	}
	var prev byte
	havePrev := false
	for first := true; ; first = false {
		if p >= len(glob) {
			return false, 0, false
		}
		pc := glob[p]
		if pc == ']' && !first {
			break
		}
		switch {
		case pc == '\\':
			p++
			if p >= len(glob) {
				return false, 0, false
			}
			pc = glob[p]
			if c == pc {
				matched = true
			}
			prev, havePrev = pc, true
		case pc == '-' && havePrev && p+1 < len(glob) && glob[p+1] != ']':
			p++
			hi := glob[p]
			if hi == '\\' {
				p++
				if p >= len(glob) {
					return false, 0, false
				}
				hi = glob[p]
			}
			if c >= prev && c <= hi {
				matched = true
			}
			havePrev = false
		case pc == '[' && p+1 < len(glob) && glob[p+1] == ':':
			// As git: the class name runs to the next "]", which must
			// follow a ":"; otherwise the "[" is an ordinary character.
			end := strings.IndexByte(glob[p+2:], ']')
			if end < 0 {
				return false, 0, false
			}
			if end == 0 || glob[p+2+end-1] != ':' {
				if c == '[' {
					matched = true
				}
				prev, havePrev = pc, true
				break
			}
			in, known := posixClass(glob[p+2:p+2+end-1], c)
			if !known {
				return false, 0, false
			}
			if in {
				matched = true
			}
			p += 2 + end // at the "]" of ":]"
			havePrev = false
		default:
			if c == pc {
				matched = true
			}
			prev, havePrev = pc, true
		}
		p++
	}
	return matched != negated, p + 1, true
}

// posixClass reports whether c is in the named [:class:] (ASCII only, as
// git's wildmatch), and whether the name is known.
func posixClass(name string, c byte) (in, known bool) {
	lower := c >= 'a' && c <= 'z'
	upper := c >= 'A' && c <= 'Z'
	digit := c >= '0' && c <= '9'
	switch name {
	case "alnum":
		return lower || upper || digit, true
	case "alpha":
		return lower || upper, true
	case "blank":
		return c == ' ' || c == '\t', true
	case "cntrl":
		return c < 0x20 || c == 0x7f, true
	case "digit":
		return digit, true
	case "graph":
		return c > 0x20 && c < 0x7f, true
	case "lower":
		return lower, true
	case "print":
		return c >= 0x20 && c < 0x7f, true
	case "punct":
		return c > 0x20 && c < 0x7f && !lower && !upper && !digit, true
	case "space":
		return c == ' ' || (c >= '\t' && c <= '\r'), true
	case "upper":
		return upper, true
	case "xdigit":
		return digit || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'), true
	}
	return false, false
}
