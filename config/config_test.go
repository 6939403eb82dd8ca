package config

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/efs-project/efs/content"
	"github.com/efs-project/efs/keys"
	"github.com/efs-project/efs/naming"
)

// fastKDF keeps argon2id cheap in tests; TestDefaultKDF covers the defaults.
func fastKDF() KDF {
	return KDF{Salt: bytes.Repeat([]byte{3}, 32), Time: 1, MemoryKiB: 8192, Threads: 1}
}

var pw = []byte("correct horse battery staple")

func newConfig(t *testing.T, s Settings) (*Config, *keys.MasterKey) {
	t.Helper()
	c, mk, err := Create(pw, s, fastKDF(), "efs test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(mk.Wipe)
	return c, mk
}

// edit returns text with the line "key = ..." replaced by repl (or removed
// when repl is "").
func edit(t *testing.T, text []byte, key, repl string) []byte {
	t.Helper()
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(key) + ` = .*\n`)
	if !re.Match(text) {
		t.Fatalf("no line %q in the config", key)
	}
	if repl != "" {
		repl += "\n"
	}
	return re.ReplaceAll(text, []byte(repl))
}

func TestCreateUnlock(t *testing.T) {
	s := Settings{Version: 2, NameEncoding: naming.Base64, NameMax: 143, BlockSize: 65536, FileID: content.FileIDVersion}
	c, mk := newConfig(t, s)
	text := c.Marshal()
	p, err := Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	if p.Settings != s || p.Creator != "efs test" || !bytes.Equal(p.KDF.Salt, c.KDF.Salt) {
		t.Fatalf("parsed settings %+v differ from %+v", p.Settings, s)
	}
	if !bytes.Equal(p.Marshal(), text) {
		t.Fatal("Marshal(Parse(text)) != text")
	}
	got, err := p.Unlock(pw)
	if err != nil {
		t.Fatal(err)
	}
	defer got.Wipe()
	if got.Recovery() != mk.Recovery() {
		t.Fatal("unlocked master key differs")
	}
	if err := p.Verify(mk); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Unlock([]byte("Correct horse battery staple")); !errors.Is(err, ErrWrongPassword) {
		t.Fatalf("wrong password: %v", err)
	}
	// Two configs get different master keys.
	c2, mk2 := newConfig(t, s)
	if mk2.Recovery() == mk.Recovery() || bytes.Equal(c2.wrapped, c.wrapped) {
		t.Fatal("two configs share a master key")
	}
	// VerifyKeys tells them apart by the subkeys alone.
	k, err := mk.Derive()
	if err != nil {
		t.Fatal(err)
	}
	defer k.Wipe()
	if err := p.VerifyKeys(k); err != nil {
		t.Errorf("VerifyKeys with the config's own keys: %v", err)
	}
	if err := c2.VerifyKeys(k); !errors.Is(err, ErrTampered) {
		t.Errorf("VerifyKeys with another config's keys: %v, want ErrTampered", err)
	}
}

// TestTamperedFields: with the right password, a changed format field is
// ErrTampered; a changed KDF parameter makes the password wrong; the
// creator is informational.
func TestTamperedFields(t *testing.T) {
	c, _ := newConfig(t, Defaults())
	text := c.Marshal()
	for _, e := range []struct {
		key, value string
		want       error
	}{
		{"block_size", "block_size = 8192", ErrTampered},
		{"name_max", "name_max = 143", ErrTampered},
		{"name_encoding", `name_encoding = "base64"`, ErrTampered},
		{"file_id", `file_id = "path"`, ErrTampered},
		{"time", "time = 2", ErrWrongPassword},
		{"memory_kib", "memory_kib = 8193", ErrWrongPassword},
		{"threads", "threads = 2", ErrWrongPassword},
		{"salt", `salt = "` + strings.Repeat("A", 43) + `="`, ErrWrongPassword},
		{"creator", `creator = "someone else"`, nil},
	} {
		p, err := Parse(edit(t, text, e.key, e.value))
		if err != nil {
			t.Fatalf("%s: %v", e.key, err)
		}
		mk, err := p.Unlock(pw)
		if !errors.Is(err, e.want) || (err == nil) != (e.want == nil) {
			t.Errorf("%s changed: %v, want %v", e.key, err, e.want)
		}
		mk.Wipe()
	}
	// Swapping in the MAC of another config, or another wrapped key.
	other, _ := newConfig(t, Defaults())
	ot := other.Marshal()
	macLine := regexp.MustCompile(`(?m)^mac = .*$`).Find(ot)
	p, _ := Parse(edit(t, text, "mac", string(macLine)))
	if _, err := p.Unlock(pw); !errors.Is(err, ErrTampered) {
		t.Errorf("foreign MAC: %v", err)
	}
	wrapLine := regexp.MustCompile(`(?m)^wrapped = .*$`).Find(ot)
	// Same password and salt, so it unwraps, but to a key under which
	// this config's MAC does not verify.
	p, _ = Parse(edit(t, text, "wrapped", string(wrapLine)))
	if _, err := p.Unlock(pw); !errors.Is(err, ErrTampered) {
		t.Errorf("foreign wrapped key: %v", err)
	}
}

// TestStrictParse: every malformed config is ErrCorrupt naming the field.
func TestStrictParse(t *testing.T) {
	c, _ := newConfig(t, Defaults())
	text := c.Marshal()
	for _, f := range requiredFields {
		leaf := f[strings.LastIndex(f, ".")+1:]
		_, err := Parse(edit(t, text, leaf, ""))
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "missing field "+f) {
			t.Errorf("without %s: %v", f, err)
		}
	}
	cases := []struct {
		key, repl, field string
	}{
		{"version", "version = 3", "version"},
		{"version", "version = 0", "version"},
		{"version", `version = "1"`, "version"},
		{"name_encoding", `name_encoding = "base58"`, "name_encoding"},
		{"name_encoding", `name_encoding = "Base32"`, "name_encoding"},
		{"file_id", `file_id = "hash"`, "file_id"},
		{"block_size", "block_size = 5000", "block_size"},
		{"block_size", "block_size = 2048", "block_size"},
		{"block_size", "block_size = 2097152", "block_size"},
		{"name_max", "name_max = 50", "name_max"},
		{"name_max", "name_max = 256", "name_max"},
		{"flags", "flags = 4", "flags"},
		{"flags", "flags = -1", "flags"},
		{"flags", "flags = 4294967296", "flags"},
		{"algorithm", `algorithm = "argon2i"`, "kdf.algorithm"},
		{"salt", `salt = "not base64!"`, "kdf.salt"},
		{"salt", `salt = "AAAAAAAAAAA="`, "kdf.salt"},
		{"time", "time = 0", "kdf.time"},
		{"time", "time = 65", "kdf.time"},
		{"time", "time = -1", "kdf.time"},
		{"memory_kib", "memory_kib = 512", "kdf.memory_kib"},
		{"memory_kib", "memory_kib = 99999999", "kdf.memory_kib"},
		{"threads", "threads = 0", "kdf.threads"},
		{"threads", "threads = 256", "kdf.threads"},
		{"wrapped", `wrapped = "AAAA"`, "key.wrapped"},
		{"wrapped", `wrapped = "!!!!"`, "key.wrapped"},
		{"mac", `mac = "AAAA"`, "key.mac"},
		{"mac", `mac = "` + strings.Repeat("A", 43) + `"`, "key.mac"},
		{"version", "version = 1\nextra = 1", "extra"},
		{"threads", "threads = 1\nparallelism = 4", "kdf.parallelism"},
	}
	for _, tc := range cases {
		_, err := Parse(edit(t, text, tc.key, tc.repl))
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%q: %v (want ErrCorrupt naming %s)", tc.repl, err, tc.field)
		}
	}
	// A v1 config with the v2-only file-ID mode: each field is fine alone.
	v1 := edit(t, text, "version", "version = 1")
	if _, err := Parse(v1); err != nil {
		t.Fatalf("a v1 config: %v", err)
	}
	if _, err := Parse(edit(t, v1, "file_id", `file_id = "version"`)); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "file_id") {
		t.Errorf("v1 with file_id \"version\": %v (want ErrCorrupt naming file_id)", err)
	}
	// The same bytes in a non-canonical spelling: Go's base64 decoder
	// skips line breaks, so only re-encoding catches these.
	b64 := base64.StdEncoding
	for _, f := range []struct {
		key, field, value string
	}{
		{"salt", "kdf.salt", b64.EncodeToString(c.KDF.Salt)},
		{"wrapped", "key.wrapped", b64.EncodeToString(c.wrapped)},
		{"mac", "key.mac", b64.EncodeToString(c.mac)},
	} {
		for _, brk := range []string{`\n`, `\r\n`, `\r`} {
			repl := fmt.Sprintf("%s = \"%s%s%s\"", f.key, f.value[:8], brk, f.value[8:])
			_, err := Parse(edit(t, text, f.key, repl))
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), f.field) {
				t.Errorf("%q: %v (want ErrCorrupt naming %s)", repl, err, f.field)
			}
		}
	}
	for _, bad := range []string{"", "not toml at all = = =", string(text) + "\n[key]\nmac = \"x\"\n", "\xff\xfe"} {
		if _, err := Parse([]byte(bad)); !errors.Is(err, ErrCorrupt) {
			t.Errorf("Parse(%.20q): %v", bad, err)
		}
	}
}

func TestChangePassword(t *testing.T) {
	c, mk := newConfig(t, Defaults())
	oldSalt := bytes.Clone(c.KDF.Salt)
	if err := c.ChangePassword(mk, []byte("new password")); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(c.KDF.Salt, oldSalt) {
		t.Fatal("ChangePassword kept the salt")
	}
	p, err := Parse(c.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Unlock(pw); !errors.Is(err, ErrWrongPassword) {
		t.Fatalf("old password after the change: %v", err)
	}
	got, err := p.Unlock([]byte("new password"))
	if err != nil {
		t.Fatal(err)
	}
	defer got.Wipe()
	if got.Recovery() != mk.Recovery() {
		t.Fatal("ChangePassword changed the master key")
	}
}

// TestCreatorQuoting: a creator with quotes, backslashes and control
// characters survives Marshal → Parse (Go's %q would write \x01, which is
// not TOML).
func TestCreatorQuoting(t *testing.T) {
	c, _ := newConfig(t, Defaults())
	c.Creator = "efs \"x\" \\ \x01\x7f\ttab é"
	p, err := Parse(c.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	if p.Creator != c.Creator || !bytes.Equal(p.Marshal(), c.Marshal()) {
		t.Fatalf("creator %q came back as %q", c.Creator, p.Creator)
	}
}

func TestFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	if _, err := Load(path); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Load of a missing file: %v", err)
	}
	c, mk := newConfig(t, Defaults())
	if err := c.WriteNew(path); err != nil {
		t.Fatal(err)
	}
	// The error names the file, not what the CLI does about it (efs init
	// adds that as a hint).
	if err := c.WriteNew(path); !errors.Is(err, ErrExists) || err.Error() != "config already exists: "+path {
		t.Fatalf("second WriteNew: %v", err)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Fatalf("config mode %v", st.Mode().Perm())
	}
	if err := c.ChangePassword(mk, []byte("pw2")); err != nil {
		t.Fatal(err)
	}
	if err := c.Replace(path); err != nil {
		t.Fatal(err)
	}
	l, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Unlock([]byte("pw2")); err != nil {
		t.Fatalf("after Replace: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".efs.toml.tmp*")); len(left) != 0 {
		t.Fatalf("Replace left %v behind", left)
	}
	os.WriteFile(path, []byte("version = 1\n"), 0o600)
	if _, err := Load(path); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), path) {
		t.Fatalf("Load of a corrupt file: %v", err)
	}
}

func TestSettingsValidate(t *testing.T) {
	if err := Defaults().Validate(); err != nil {
		t.Fatal(err)
	}
	for _, s := range []Settings{
		{Version: 2, NameMax: 255, BlockSize: 4095}, {Version: 2, NameMax: 255, BlockSize: 1 << 21}, {Version: 2, NameMax: 62, BlockSize: 4096},
		{Version: 2, NameMax: 255, BlockSize: 4096, Flags: 4}, {Version: 1, NameMax: 255, BlockSize: 4096, Flags: FlagPadme},
		{Version: 1, NameMax: 255, BlockSize: 4096, Flags: FlagHideMetadata}, {NameMax: 255, BlockSize: 4096}, {Version: 3, NameMax: 255, BlockSize: 4096},
		{Version: 1, NameMax: 255, BlockSize: 4096, FileID: content.FileIDVersion},
	} {
		if err := s.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil", s)
		}
		if _, _, err := Create(pw, s, fastKDF(), "x"); err == nil {
			t.Errorf("Create accepted %+v", s)
		}
	}
	if _, _, err := Create(pw, Defaults(), KDF{Salt: make([]byte, 8), Time: 1, MemoryKiB: 8192, Threads: 1}, "x"); err == nil {
		t.Error("Create accepted an 8-byte salt")
	}
}

func TestSettingsText(t *testing.T) {
	for _, s := range []Settings{
		Defaults(),
		{Version: 1, NameEncoding: naming.Base64, NameMax: 143, BlockSize: 1 << 20, FileID: content.FileIDPath},
		{Version: 2, NameEncoding: naming.Base32, NameMax: 255, BlockSize: 4096, FileID: content.FileIDVersion},
		{Version: 2, NameEncoding: naming.Base32, NameMax: 255, BlockSize: 4096, FileID: content.FileIDInode, Flags: FlagPadme},
		{Version: 2, NameEncoding: naming.Base32, NameMax: 255, BlockSize: 4096, FileID: content.FileIDInode, Flags: FlagHideMetadata},
		{Version: 2, NameEncoding: naming.Base32, NameMax: 255, BlockSize: 4096, FileID: content.FileIDInode, Flags: FlagPadme | FlagHideMetadata},
	} {
		got, err := s.Text().Parse()
		if err != nil || got != s {
			t.Errorf("Text().Parse() of %+v = %+v, %v", s, got, err)
		}
	}
	if d := Defaults().Text(); d != (SettingsText{Version: 2, NameEncoding: "base32", NameMax: 255, BlockSize: 4096, FileID: "inode", Padding: "none"}) {
		t.Errorf("Defaults().Text() = %+v", d)
	}
	for _, st := range []SettingsText{
		{Version: 2, NameEncoding: "base58", NameMax: 255, BlockSize: 4096, FileID: "inode"},
		{Version: 2, NameEncoding: "", NameMax: 255, BlockSize: 4096, FileID: "inode"},
		{Version: 2, NameEncoding: "base32", NameMax: 255, BlockSize: 4096, FileID: "hash"},
		{Version: 2, NameEncoding: "base32", NameMax: 20, BlockSize: 4096, FileID: "inode"},
		{Version: 2, NameEncoding: "base32", NameMax: 255, BlockSize: 5000, FileID: "inode"},
		{Version: 2, NameEncoding: "base32", NameMax: 0, BlockSize: 0, FileID: "inode"},
		{Version: 0, NameEncoding: "base32", NameMax: 255, BlockSize: 4096, FileID: "inode"},
		{Version: 3, NameEncoding: "base32", NameMax: 255, BlockSize: 4096, FileID: "inode"},
		{Version: 1, NameEncoding: "base32", NameMax: 255, BlockSize: 4096, FileID: "version"},
		{Version: 2, NameEncoding: "base32", NameMax: 255, BlockSize: 4096, FileID: "inode", Padding: "Padme"},
		{Version: 1, NameEncoding: "base32", NameMax: 255, BlockSize: 4096, FileID: "inode", Padding: "padme"},
		{Version: 1, NameEncoding: "base32", NameMax: 255, BlockSize: 4096, FileID: "inode", HideMetadata: true},
	} {
		if s, err := st.Parse(); err == nil {
			t.Errorf("Parse(%+v) = %+v, want an error", st, s)
		}
	}
}

// TestDefaultKDF runs the real default parameters once.
func TestDefaultKDF(t *testing.T) {
	if testing.Short() {
		t.Skip("argon2id with 256 MiB")
	}
	kdf, err := DefaultKDF()
	if err != nil {
		t.Fatal(err)
	}
	// The defaults are what docs/FORMAT.md's config table says efs init writes.
	doc := formatDefaults(t)
	if fmt.Sprint(kdf.Time) != doc["kdf.time"] || fmt.Sprint(kdf.MemoryKiB) != doc["kdf.memory_kib"] ||
		fmt.Sprint(kdf.Threads) != doc["kdf.threads"] || len(kdf.Salt) != 32 {
		t.Fatalf("defaults %+v, FORMAT.md says %v", kdf, doc)
	}
	k2, _ := DefaultKDF()
	if bytes.Equal(kdf.Salt, k2.Salt) {
		t.Fatal("DefaultKDF salt is not random")
	}
	c, mk, err := Create(pw, Defaults(), kdf, "efs test")
	if err != nil {
		t.Fatal(err)
	}
	defer mk.Wipe()
	p, err := Parse(c.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	got, err := p.Unlock(pw)
	if err != nil {
		t.Fatal(err)
	}
	defer got.Wipe()
	if got.Recovery() != mk.Recovery() {
		t.Fatal("default-KDF config unlocks to another key")
	}
}

// formatDefaults reads the default column of docs/FORMAT.md's config
// table: field name → the first word of its default ("262144 (256 MiB)"
// gives "262144").
func formatDefaults(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile("../docs/FORMAT.md")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) != 6 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`kdf.") {
			continue
		}
		name := strings.Trim(strings.TrimSpace(cells[1]), "`")
		if def := strings.Fields(cells[4]); len(def) > 0 {
			out[name] = def[0]
		}
	}
	return out
}
