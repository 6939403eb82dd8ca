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
