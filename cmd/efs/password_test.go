package main

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// TestReadLine checks the first-line reader of --passfile, --extpass and
// --masterkey-file at the 4 KiB edge, whole or a byte at a time.
func TestReadLine(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		tooLong  bool
	}{
		{"", "", false},
		{"pw", "pw", false},
		{"pw\n", "pw", false},
		{"pw\r\nmore\n", "pw", false},
		{"\nsecond", "", false},
		{strings.Repeat("a", maxSecretLen), strings.Repeat("a", maxSecretLen), false},
		{strings.Repeat("a", maxSecretLen) + "\n" + strings.Repeat("b", 10000), strings.Repeat("a", maxSecretLen), false},
		{strings.Repeat("a", maxSecretLen+1), "", true},
		{strings.Repeat("a", maxSecretLen+1) + "\n", "", true},
		{strings.Repeat("a", 300000), "", true},
	} {
		for name, r := range map[string]io.Reader{
			"whole":    strings.NewReader(tc.in),
			"bytewise": iotest.OneByteReader(strings.NewReader(tc.in)),
		} {
			got, err := readLine(r)
			if tc.tooLong {
				if !errors.Is(err, errTooLong) {
					t.Errorf("%s, %d bytes: err %v, want errTooLong", name, len(tc.in), err)
				}
				continue
			}
			if err != nil || !bytes.Equal(got, []byte(tc.want)) {
				t.Errorf("%s, %.20q (%d bytes): %.20q, %v; want %.20q", name, tc.in, len(tc.in), got, err, tc.want)
			}
		}
	}
}

func TestReadSecret(t *testing.T) {
	for n, ok := range map[int]bool{0: true, 1: true, maxSecretLen: true, maxSecretLen + 1: false, 70000: false} {
		got, err := readSecret(bytes.NewReader(bytes.Repeat([]byte{'x'}, n)))
		if ok != (err == nil) || (ok && len(got) != n) {
			t.Errorf("%d bytes: %d back, err %v", n, len(got), err)
		}
	}
}
