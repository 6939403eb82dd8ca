package config

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzParse: Parse never panics, rejects with ErrCorrupt, and whatever it
// accepts is stable: Parse → Marshal → Parse → Marshal gives the same text
// and the same fields.
func FuzzParse(f *testing.F) {
	f.Add([]byte("version = 1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v is not ErrCorrupt", err)
			}
			return
		}
		m := c.Marshal()
		c2, err := Parse(m)
		if err != nil {
			t.Fatalf("Parse(Marshal(c)): %v\n%s", err, m)
		}
		if c2.Settings != c.Settings || c2.Creator != c.Creator || c2.KDF.Time != c.KDF.Time ||
			c2.KDF.MemoryKiB != c.KDF.MemoryKiB || c2.KDF.Threads != c.KDF.Threads ||
			!bytes.Equal(c2.KDF.Salt, c.KDF.Salt) || !bytes.Equal(c2.wrapped, c.wrapped) || !bytes.Equal(c2.mac, c.mac) {
			t.Fatal("fields changed through Marshal → Parse")
		}
		if !bytes.Equal(c2.Marshal(), m) {
			t.Fatal("Marshal is not stable")
		}
	})
}
