//go:build linux

package fusemount

import (
	"errors"
	"runtime"
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

// TestSpareProcs: go-fuse is made under one P, so that it keeps few
// readers, and the mount then runs with more Ps than those readers; a
// GOMAXPROCS from the environment is the user's and stays.
func TestSpareProcs(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	t.Setenv("GOMAXPROCS", "")
	var during int
	if err := spareProcs(func() error { during = runtime.GOMAXPROCS(0); return nil }); err != nil {
		t.Fatal(err)
	}
	if after := runtime.GOMAXPROCS(0); during != 1 || after != minProcs {
		t.Errorf("GOMAXPROCS 2: %d while go-fuse is made, %d after; want 1 and %d", during, after, minProcs)
	}
	runtime.GOMAXPROCS(8)
	spareProcs(func() error { return nil })
	if after := runtime.GOMAXPROCS(0); after != 8 {
		t.Errorf("GOMAXPROCS 8: %d after the mount, want 8 kept", after)
	}

	t.Setenv("GOMAXPROCS", "2")
	runtime.GOMAXPROCS(2)
	err := errors.New("mount failed")
	if got := spareProcs(func() error { during = runtime.GOMAXPROCS(0); return err }); got != err {
		t.Errorf("spareProcs returned %v, want the mount's error", got)
	}
	if after := runtime.GOMAXPROCS(0); during != 2 || after != 2 {
		t.Errorf("GOMAXPROCS=2 in the environment: %d while made, %d after; want 2 and 2", during, after)
	}
}
