//go:build linux

package fusemount

import (
	"slices"
	"syscall"
	"testing"
)

func TestReadOnly(t *testing.T) {
	for flags, want := range map[uint32]bool{
		syscall.O_RDONLY:                       true,
		syscall.O_RDONLY | syscall.O_NOFOLLOW:  true,
		syscall.O_WRONLY:                       false,
		syscall.O_RDWR:                         false,
		syscall.O_RDONLY | syscall.O_TRUNC:     false,
		syscall.O_RDONLY | syscall.O_APPEND:    false,
		syscall.O_RDONLY | syscall.O_CREAT:     false,
		syscall.O_WRONLY | syscall.O_CREAT:     false,
		syscall.O_RDONLY | syscall.O_NONBLOCK:  true,
		syscall.O_RDONLY | syscall.O_DIRECTORY: true,
	} {
		if got := ReadOnly(flags); got != want {
			t.Errorf("ReadOnly(%#x) = %v, want %v", flags, got, want)
		}
	}
}

// TestOptions: both views get kernel caching (nil timeouts would mean
// none), read-only mounts, 1 MiB reads and no splice.
func TestOptions(t *testing.T) {
	o := Options(Config{FsName: "x", RootIno: 42})
	if o.EntryTimeout == nil || o.AttrTimeout == nil || o.NegativeTimeout == nil || *o.EntryTimeout != CacheTTL {
		t.Error("cache timeouts not set")
	}
	if o.MaxWrite != MaxRead || !slices.Equal(o.Options, []string{"ro", "nosuid", "nodev"}) || o.RootStableAttr.Ino != 42 {
		t.Errorf("options: %+v", o.MountOptions)
	}
	if !o.DisableSplice {
		t.Error("splice enabled: every READ would go through a pipe and /dev/null first")
	}
	if o := Options(Config{DefaultPermissions: true}); !slices.Contains(o.Options, "default_permissions") {
		t.Errorf("default_permissions missing: %v", o.Options)
	}
}
