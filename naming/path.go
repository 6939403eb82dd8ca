package naming

import (
	"fmt"
	"path"
	"strings"
)

// Path mapping: whole relative paths, component by component. Both
// directions take slash-separated paths relative to the root and accept
// "", ".", "/" (the root), leading and trailing slashes, and "." or ".."
// components, which are resolved lexically before mapping.

// cleanPath returns the components of rel, nil for the root.
func cleanPath(rel string) []string {
	rel = strings.Trim(path.Clean("/"+rel), "/")
	if rel == "" {
		return nil
	}
	return strings.Split(rel, "/")
}

func joinPath(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

// EncryptPath maps the plaintext path rel to its view path: every
// component encrypted in its parent, long names as their stand-ins. long
// lists the view paths of the components that are stand-ins, in order;
// the companion file beside each (its path + CompanionSuffix) holds the
// full encrypted name.
func (n *Namer) EncryptPath(rel string) (viewRel string, long []string) {
	parent := ""
	for _, name := range cleanPath(rel) {
		e := n.Entry(parent, name)
		viewRel = joinPath(viewRel, e.Name)
		if e.Long() {
			long = append(long, viewRel)
		}
		parent = joinPath(parent, name)
	}
	return viewRel, long
}

// DecryptPath maps the view path viewRel back to its plaintext path, the
// inverse of EncryptPath. It does no I/O: a stand-in does not hold its
// name, so for each stand-in full is asked for the contents of its
// companion file (given the stand-in's view path), which DecryptPath
// checks against the stand-in before decrypting it. full may be nil when
// the path holds no stand-ins. A path ending in a companion file maps to
// the path of its entry, with companion set. Errors name view paths only.
func (n *Namer) DecryptPath(viewRel string, full func(long string) (string, error)) (rel string, companion bool, err error) {
	parts := cleanPath(viewRel)
	if len(parts) == 1 && parts[0] == ConfigName {
		return "", false, fmt.Errorf("%w: %s is the view's config, not an encrypted entry", ErrMalformed, ConfigName)
	}
	dir := ""
	for i, entry := range parts {
		if i == len(parts)-1 {
			if long, ok := n.IsCompanion(entry); ok {
				entry, companion = long, true
			}
		}
		name, err := n.decryptEntry(rel, joinPath(dir, entry), entry, full)
		if err != nil {
			return "", false, fmt.Errorf("%s: %w", joinPath(dir, entry), err)
		}
		rel = joinPath(rel, name)
		dir = joinPath(dir, entry)
	}
	return rel, companion, nil
}

// decryptEntry decrypts the view name entry (at view path at) inside the
// plaintext directory parent, asking full for a stand-in's full name.
func (n *Namer) decryptEntry(parent, at, entry string, full func(string) (string, error)) (string, error) {
	var f func() (string, error)
	if full != nil {
		f = func() (string, error) { return full(at) }
	}
	return n.DecryptEntry(parent, entry, f)
}
