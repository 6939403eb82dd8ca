//go:build unix

package main

import (
	"encoding/binary"
	"strconv"
)

// hiddenMtime is the pseudo-mtime, in seconds, that a view with hidden
// metadata shows for the entry at path with the real mtime (sec, nsec),
// FORMAT.md "Hidden metadata".
func hiddenMtime(path string, sec int64, nsec uint32) (mac []byte, viewSec int64) {
	be := binary.BigEndian
	mac = hmacSHA256(fileIDKey, []byte("efs-v2 hidden mtime\x00"), be.AppendUint32(nil, uint32(len(path))), []byte(path),
		be.AppendUint64(nil, uint64(sec)), be.AppendUint32(nil, nsec))
	return mac, 946684800 + int64(be.Uint32(mac[:4])&(1<<30-1))
}

func (g *gen) hiddenMtimes() error {
	for _, c := range []struct {
		file, comment, path string
		sec                 int64
		nsec                uint32
	}{
		{"hidden-mtime", "pseudo-mtime of a file with hidden metadata", "docs/report.pdf", 1700000000, 123456789},
		{"hidden-mtime-changed", "the same file one nanosecond later: another pseudo-mtime", "docs/report.pdf", 1700000000, 123456790},
		{"hidden-mtime-root", "pseudo-mtime of the root directory (the empty path)", "", 1700000000, 0},
		{"hidden-mtime-negative", "an mtime before 1970 with nanoseconds: seconds in two's complement", "old/punch-card.txt", -86400 * 365, 999999999},
		{"hidden-mtime-config", "efs.toml and the companions: the path .efs.toml and the config's mtime", ".efs.toml", 1700000123, 456},
	} {
		v := newVector("hidden-mtime", c.comment)
		v.Set("file_id_key", hexs(fileIDKey))
		v.Set("path_hex", hexs([]byte(c.path)))
		v.Set("mtime_sec", strconv.FormatInt(c.sec, 10))
		v.Set("mtime_nsec", strconv.FormatUint(uint64(c.nsec), 10))
		mac, sec := hiddenMtime(c.path, c.sec, c.nsec)
		v.Set("hmac", hexs(mac))
		v.Set("view_mtime_sec", strconv.FormatInt(sec, 10))
		if err := g.write(c.file, v); err != nil {
			return err
		}
	}
	return nil
}
