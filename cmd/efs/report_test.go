package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/efs-project/efs/internal/report"
)

// TestReportFailuresQuotes: a plaintext path with invalid UTF-8 or control
// bytes never reaches the terminal raw; without showPlain only the stored
// path is shown.
func TestReportFailuresQuotes(t *testing.T) {
	fails := []report.Failure{
		{Path: "dir/bad-\xff\xfe-name", Stored: "abc/def", Err: errors.New("abc/def: backup is damaged")},
		{Path: "esc\x1b[31mred", Stored: "ghi", Err: errors.New("boom")},
		{Path: "plain ok.txt", Stored: "jkl", Err: errors.New("boom")},
		{Stored: "efs.\x1b[31mEVIL", Err: errors.New("efs.\x1b[31mEVIL: backup is damaged: companion efs.\x1b[31mEVIL.name")},
	}
	var buf bytes.Buffer
	err := reportFailures(&buf, "could not be restored", fails, true)
	if exitCode(err) != exitIntegrity {
		t.Errorf("exit code %d", exitCode(err))
	}
	out := buf.String()
	if !utf8.ValidString(out) || strings.ContainsRune(out, 0x1b) {
		t.Errorf("raw bytes reached the output: %q", out)
	}
	for _, want := range []string{`FAILED ciphertext "efs.\x1b[31mEVIL"`, `companion efs.\x1b[31mEVIL.name`, `FAILED "dir/bad-\xff\xfe-name"`, `FAILED "esc\x1b[31mred"`, `FAILED "plain ok.txt"`, "ciphertext abc/def\n", "backup is damaged\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	buf.Reset()
	reportFailures(&buf, "could not be exported", fails, false)
	if strings.Contains(buf.String(), "bad-") || strings.Contains(buf.String(), "plain ok") {
		t.Errorf("plaintext shown without showPlain:\n%s", buf.String())
	}
}

// TestReportOutOfSync: entries that differ from their directory records
// are their own block, worded apart from damage, quoted like failures,
// and exit 11.
func TestReportOutOfSync(t *testing.T) {
	var buf bytes.Buffer
	if err := reportOutOfSync(&buf, nil, true); err != nil || buf.Len() != 0 {
		t.Errorf("nothing out of sync: %v, %q", err, buf.String())
	}
	entries := []report.Failure{
		{Path: "a b/\xffc.txt", Stored: "abc/def", Err: errors.New("abc/def: listed in the directory record but not stored")},
		{Path: "new.txt", Stored: "ghi", Err: errors.New("stored but not listed in the directory record")},
	}
	err := reportOutOfSync(&buf, entries, true)
	if exitCode(err) != exitOutOfSync {
		t.Errorf("exit code %d (%v), want %d", exitCode(err), err, exitOutOfSync)
	}
	want := `2 entries differ from their directory records (changed while the upload ran, or rolled back by the storage); run the sync again, then efs fsck:
  DIFFERS "a b/\xffc.txt"
          ciphertext abc/def
          listed in the directory record but not stored
  DIFFERS new.txt
          ciphertext ghi
          stored but not listed in the directory record
`
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}
	if got := err.Error(); got != "2 entries out of sync with their directory records (listed above)" {
		t.Errorf("error %q", got)
	}
	buf.Reset()
	err = reportOutOfSync(&buf, entries[1:], false)
	if !strings.HasPrefix(buf.String(), "1 entry differs from its directory record (") || strings.Contains(buf.String(), "new.txt") {
		t.Errorf("one entry, no plaintext:\n%s", buf.String())
	}
	if got := err.Error(); got != "1 entry out of sync with its directory record (listed above)" {
		t.Errorf("error %q", got)
	}
}
