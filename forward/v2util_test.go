//go:build unix

package forward

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/efs-project/efs/config"
	"github.com/efs-project/efs/content"
	"github.com/efs-project/efs/keys"
	"github.com/efs-project/efs/naming"
	"github.com/efs-project/efs/record"
	"github.com/efs-project/efs/reverse"
	"golang.org/x/sys/unix"
)

// v2 is a format v2 backup made by reverse.Export of a plaintext tree.
type v2 struct {
	plain, cipher string
	settings      config.Settings
	keys          *keys.Keys
	tree          *reverse.Tree
	b             *Backup
}

// newV2 makes a plaintext tree with a v2 config (settings s, with
// Version 2), fills it with populate and exports it.
func newV2(t *testing.T, s config.Settings, populate func(t *testing.T, plain string)) *v2 {
	t.Helper()
	s.Version = 2
	v := &v2{plain: t.TempDir(), cipher: t.TempDir(), settings: s}
	kdf := config.KDF{Salt: bytes.Repeat([]byte{7}, 16), Time: 1, MemoryKiB: 1024, Threads: 1}
	cfg, mk, err := config.Create([]byte("pw"), s, kdf, "test")
	if err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(v.plain, config.FileName)
	if err := cfg.WriteNew(cfgPath); err != nil {
		t.Fatal(err)
	}
	v.keys, err = mk.Derive()
	mk.Wipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.keys.Wipe)
	if populate != nil {
		populate(t, v.plain)
	}
	v.tree, err = reverse.New(v.plain, v.keys, reverse.Options{Settings: cfg.Settings, ConfigPath: cfgPath})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.tree.Close() })
	v.export(t)
	if v.b, err = New(v.cipher, v.keys, cfg.Settings); err != nil {
		t.Fatal(err)
	}
	return v
}

// export exports the plaintext tree again into the backup.
func (v *v2) export(t *testing.T) {
	t.Helper()
	rep, err := reverse.Export(context.Background(), v.tree, v.cipher, reverse.ExportOptions{})
	if err != nil || len(rep.Failures) != 0 {
		t.Fatalf("export: %v %v", err, rep.Failures)
	}
	v.writeRecords(t)
}

// crel is the stored path of the plaintext path rel.
func (v *v2) crel(rel string) string {
	c, _ := v.b.EncryptPath(rel)
	return c
}

// cpath is the absolute stored path of the plaintext path rel.
func (v *v2) cpath(rel string) string {
	return filepath.Join(v.cipher, v.crel(rel))
}

// writeRecords writes efs.dir into every view directory that lacks one,
// computed from the plaintext as docs/FORMAT.md specifies. It stands in for
// the reverse side's records until they are merged; an export that writes
// its own leaves it nothing to do.
func (v *v2) writeRecords(t *testing.T) {
	t.Helper()
	namer, err := naming.New(v.keys.Name(), v.keys.Symlink(), v.settings.NamingOptions())
	if err != nil {
		t.Fatal(err)
	}
	var root unix.Stat_t
	if err := unix.Lstat(v.plain, &root); err != nil {
		t.Fatal(err)
	}
	var walk func(rel, crel string)
	walk = func(rel, crel string) {
		dir := filepath.Join(v.plain, rel)
		cdir := filepath.Join(v.cipher, crel)
		ents, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var self *record.Entry
		if rel == "" {
			self = recordEntry(t, v.keys, &root, dir, "", "")
		}
		var list []record.Entry
		for _, de := range ents {
			name := de.Name()
			if rel == "" && name == config.FileName {
				continue
			}
			sub := join(rel, name)
			cname := namer.Entry(rel, name).Name
			if _, err := os.Lstat(filepath.Join(cdir, cname)); err != nil {
				continue // not in the view
			}
			e := recordEntry(t, v.keys, &root, filepath.Join(dir, name), name, filepath.Join(cdir, cname))
			if e == nil {
				continue
			}
			list = append(list, *e)
			if e.Type == record.Dir {
				walk(sub, join(crel, cname))
			}
		}
		sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
		p := filepath.Join(cdir, naming.RecordName)
		if _, err := os.Lstat(p); err == nil {
			return // the export wrote it
		}
		sealRecord(t, v.keys, v.settings, rel, self, list, p)
	}
	walk("", "")
}

// sealRecord writes the sealed record of the directory rel to p.
func sealRecord(t *testing.T, k *keys.Keys, s config.Settings, rel string, self *record.Entry, list []record.Entry, p string) {
	t.Helper()
	plain, err := record.Encode(self, list)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := record.Seal(record.Keys{Content: k.Content(), FileID: k.FileID(), BlockSize: s.BlockSize}, rel, plain)
	if err != nil {
		t.Fatal(err)
	}
	defer sealed.Wipe()
	data := make([]byte, sealed.Size())
	if n, err := sealed.ReadAt(data, 0); n != len(data) && err != nil && err != io.EOF {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o444); err != nil {
		t.Fatal(err)
	}
}

// recordEntry is the record entry of the plaintext entry at p (stored at
// cp), nil for what a record does not list.
func recordEntry(t *testing.T, k *keys.Keys, root *unix.Stat_t, p, name, cp string) *record.Entry {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		t.Fatal(err)
	}
	e := &record.Entry{
		Name: name, Mode: uint32(st.Mode) & record.ModeBits, UID: st.Uid, GID: st.Gid,
		MtimeSec: st.Mtim.Sec, MtimeNsec: uint32(st.Mtim.Nsec),
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		e.Type = record.File
		e.Size = uint64(st.Size)
		hb := make([]byte, content.HeaderSize)
		f, err := os.Open(cp)
		if err != nil {
			t.Fatal(err)
		}
		_, err = io.ReadFull(f, hb)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		copy(e.FileID[:], hb[8:])
		if st.Nlink > 1 {
			e.Link = linkGroup(k.FileID(), uint64(st.Dev), uint64(root.Dev), st.Ino)
		}
	case unix.S_IFDIR:
		e.Type = record.Dir
	case unix.S_IFLNK:
		e.Type = record.Symlink
		target, err := os.Readlink(p)
		if err != nil {
			t.Fatal(err)
		}
		e.Target, e.Size = target, uint64(len(target))
	default:
		return nil
	}
	e.Xattrs = keptXattrs(t, p, e.Type)
	return e
}

// linkGroup is docs/FORMAT.md's link group.
func linkGroup(fileIDKey []byte, dev, rootDev, ino uint64) [record.LinkIDSize]byte {
	if dev == rootDev {
		dev = 0
	}
	m := hmac.New(sha256.New, fileIDKey)
	m.Write([]byte("efs-v2 link group\x00"))
	m.Write(binary.BigEndian.AppendUint64(nil, dev))
	m.Write(binary.BigEndian.AppendUint64(nil, ino))
	var g [record.LinkIDSize]byte
	copy(g[:], m.Sum(nil))
	return g
}

// keptXattrs are the xattrs a record keeps of the entry at p, sorted.
func keptXattrs(t *testing.T, p string, typ record.Type) []record.Xattr {
	t.Helper()
	if typ == record.Symlink {
		return nil
	}
	var out []record.Xattr
	for _, name := range listX(t, p) {
		if !record.KeptXattr(name) || name == record.ACLDefault && typ != record.Dir {
			continue
		}
		out = append(out, record.Xattr{Name: name, Value: getX(t, p, name)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// listX lists the xattr names of p (not following a symlink).
func listX(t *testing.T, p string) []string {
	t.Helper()
	buf := make([]byte, 64<<10)
	n, err := unix.Llistxattr(p, buf)
	if errors.Is(err, unix.ENOTSUP) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range strings.Split(string(buf[:n]), "\x00") {
		if s != "" {
			names = append(names, s)
		}
	}
	sort.Strings(names)
	return names
}

// getX reads one xattr of p.
func getX(t *testing.T, p, name string) []byte {
	t.Helper()
	buf := make([]byte, 64<<10)
	n, err := unix.Lgetxattr(p, name, buf)
	if err != nil {
		t.Fatal(err)
	}
	return append([]byte{}, buf[:n]...)
}
