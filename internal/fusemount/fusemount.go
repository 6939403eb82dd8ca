//go:build linux

// Package fusemount is what efs's two read-only FUSE views (the encrypting
// view of `efs reverse` and the decrypting one of `efs mount`) share about
// being mounted: the go-fuse options, the kernel readahead window, the
// process's Ps (spareProcs), the refusal of any open for writing, and
// go-fuse's log lines routed to slog.
// Each view keeps only its own node types and the choices that differ.
package fusemount

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"
)

// CacheTTL is how long the kernel may cache entries, attributes and
// negative lookups. Set explicitly: go-fuse treats nil as "no caching".
const CacheTTL = time.Second

// MaxRead is the largest read request the kernel may send (go-fuse uses
// MaxWrite as max_read and max_pages too). 1 MiB is the most the kernel
// grants without raising fs.fuse.max_pages_limit; larger requests let the
// crypto spread more blocks over the cores per round trip.
const MaxRead = 1 << 20

// Config is what differs between the two views.
type Config struct {
	// FsName is shown as the mount's source in the mount table and df.
	FsName string
	// AllowOther lets other users see the mount (FUSE allow_other).
	AllowOther bool
	// DefaultPermissions makes the kernel check the shown mode bits.
	DefaultPermissions bool
	// RootIno is the root's stable inode number.
	RootIno uint64
	// Debug logs every FUSE request at debug level, names included: the
	// view's names for the reverse view, plaintext names for `efs mount`.
	Debug bool
	// Log receives go-fuse's own lines; without Debug they carry no names.
	Log *slog.Logger
}

// Options returns the go-fuse options of a read-only efs view.
func Options(c Config) *fs.Options {
	ttl := CacheTTL
	// ro: the kernel refuses every write with EROFS before it reaches us.
	// nosuid, nodev: a v2 backup shows set-id bits from its records, and a
	// root mount with allow_other must not hand a set-uid binary of the
	// backup to other users. go-fuse's own mount adds both today; saying
	// so here keeps it true if that default changes.
	mo := []string{"ro", "nosuid", "nodev"}
	if c.DefaultPermissions {
		mo = append(mo, "default_permissions")
	}
	lg := c.Log
	if lg == nil {
		lg = slog.New(slog.DiscardHandler)
	}
	return &fs.Options{
		MountOptions: fuse.MountOptions{
			AllowOther: c.AllowOther,
			FsName:     c.FsName,
			Name:       "efs",
			Options:    mo,
			MaxWrite:   MaxRead,
			// The kernel offers 128 KiB and this can only lower it; see
			// SetReadahead for the real knob.
			MaxReadAhead: MaxRead,
			// Up to 64 readahead requests in flight instead of 12.
			MaxBackground: 64,
			// Both views answer reads with bytes computed in memory
			// (ReadResultData), never with a file descriptor to
			// splice from. go-fuse's splice path still writes each
			// reply's header into a pipe before finding out it cannot
			// splice, then drains the pipe into /dev/null: four
			// wasted syscalls per READ (pipe resize, writev, splice,
			// FIONREAD), and the "trySplice" warnings when a pipe
			// cannot grow to 1 MiB.
			DisableSplice: true,
			Debug:         c.Debug,
			Logger:        log.New(slogWriter{lg, slog.LevelDebug}, "", 0),
		},
		EntryTimeout:    &ttl,
		AttrTimeout:     &ttl,
		NegativeTimeout: &ttl,
		// Show mode 000 as 000, not as go-fuse's 0644/0755 stand-in.
		NullPermissions: true,
		// A stable root inode number, like every other node's.
		RootStableAttr: &fs.StableAttr{Mode: unix.S_IFDIR, Ino: c.RootIno},
		Logger:         log.New(slogWriter{lg, slog.LevelWarn}, "", 0),
	}
}

// Mount mounts root at mountpoint with opts, widens the readahead to
// MaxRead and gives the process the spare Ps its FUSE readers need
// (spareProcs).
func Mount(mountpoint string, root fs.InodeEmbedder, opts *fs.Options, lg *slog.Logger) (*fuse.Server, error) {
	var server *fuse.Server
	err := spareProcs(func() (err error) {
		server, err = fs.Mount(mountpoint, root, opts)
		return err
	})
	if err != nil {
		return nil, err
	}
	SetReadahead(mountpoint, MaxRead, lg)
	return server, nil
}

// minProcs is the GOMAXPROCS a mount runs with at least: one more P than
// the readers go-fuse keeps blocked in read(2) on /dev/fuse when sized
// for one P (two, and a third while the others handle requests).
const minProcs = 4

// spareProcs runs mount, which creates a go-fuse server, so that the
// server keeps few readers, and then lets the process run with more Ps
// than readers. A goroutine blocked in a system call keeps its P, and
// go-fuse keeps max(2, GOMAXPROCS)+1 readers: with every P held by a
// blocked reader none is idle, so the runtime's monitor thread takes a P
// back from a reader each time it looks (every 20 µs) and never sleeps
// longer. In a full rsync of 20,000 small files through the reverse view
// on 2 cores that was ~48,000 monitor wake-ups, 15,000 P hand-offs and a
// sixth of the daemon's CPU. go-fuse reads GOMAXPROCS once, when the
// server is made: so it is 1 then, and max(GOMAXPROCS, minProcs) after
// (more Ps than cores costs nothing while they are idle). A GOMAXPROCS
// the user set in the environment is left alone.
func spareProcs(mount func() error) error {
	if os.Getenv("GOMAXPROCS") != "" {
		return mount()
	}
	prev := runtime.GOMAXPROCS(1)
	err := mount()
	runtime.GOMAXPROCS(max(prev, minProcs))
	return err
}

// SetReadahead sets the kernel's readahead window for the mount at
// mountpoint to size bytes (Mount sets MaxRead, up from the 128 KiB
// default): the FUSE handshake can only lower the window, so it is set
// through sysfs. Sequential reads then arrive as 1 MiB requests, which seal
// or open blocks in parallel (measured on 2 cores: ~250-350 MB/s at
// 128 KiB, ~400-550 MB/s at 1 MiB); a window of several MiB keeps several
// of them in flight. Only root may write there; otherwise the default
// stays.
func SetReadahead(mountpoint string, size int, lg *slog.Logger) {
	var st unix.Stat_t
	if err := unix.Stat(mountpoint, &st); err != nil {
		return
	}
	path := fmt.Sprintf("/sys/class/bdi/%d:%d/read_ahead_kb", unix.Major(st.Dev), unix.Minor(st.Dev))
	if err := os.WriteFile(path, []byte(strconv.Itoa(size>>10)), 0); err != nil && lg != nil {
		lg.Debug("kernel readahead stays at its default", "err", err)
	}
}

// ReadOnly reports whether open flags ask for nothing but reading; the
// views answer EROFS otherwise (the "ro" mount stops most such opens in
// the kernel already).
func ReadOnly(flags uint32) bool {
	return flags&(syscall.O_ACCMODE|syscall.O_TRUNC|syscall.O_APPEND|syscall.O_CREAT) == syscall.O_RDONLY
}

// slogWriter turns go-fuse's log.Logger lines into slog records.
type slogWriter struct {
	log   *slog.Logger
	level slog.Level
}

func (w slogWriter) Write(p []byte) (int, error) {
	w.log.Log(context.Background(), w.level, "fuse: "+strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
