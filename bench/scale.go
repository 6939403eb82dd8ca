//go:build linux

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/efs-project/efs/internal/slowfs"
	"golang.org/x/sys/unix"
)

// The workloads of issue 12 ("fast at scale"): ls -l of one large
// directory against the plaintext, efs export and restore against restic,
// and efs restore and fsck reading their backup through a slow remote.

// helper is a program the bench compares efs with or reads through
// (restic, rclone); unlike a tool it mounts no encrypting view.
type helper struct {
	name, bin, version string
	unavailable        string // why its cells read n/a
}

// findHelper looks name up in PATH and asks it for its version.
func findHelper(ctx context.Context, name string) helper {
	h := helper{name: name}
	p, err := exec.LookPath(name)
	if err != nil {
		h.unavailable = name + " not found"
		return h
	}
	h.bin = p
	out, _ := exec.CommandContext(ctx, p, "version").CombinedOutput()
	h.version, _, _ = strings.Cut(strings.TrimSpace(string(out)), "\n")
	if h.version == "" {
		h.version = "unknown"
	}
	return h
}

// efsTool is efs, or nil if it cannot run.
func (b *bench) efsTool() *tool {
	for _, t := range b.tools {
		if t.name == toolEFS && t.unavailable == "" {
			return t
		}
	}
	return nil
}

// runTimed runs a command to completion and returns its wall time and the
// CPU time (user + system) the kernel accounted to it. It writes back
// dirty pages first: the command must not pay for an earlier one's writes
// (the first of two commands after the rsync ran up to 2× slower).
//
// The workloads that use it write into new folders and delete nothing
// until the run ends: ext4 gives a new file an inode only after skipping
// those deleted in the last 30 seconds or so, and a creating command that
// follows a large deletion spends seconds of system time in that scan.
func runTimed(ctx context.Context, argv, env []string, dir string) (wall, cpu time.Duration, err error) {
	unix.Sync()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err = cmd.Run()
	wall = time.Since(start)
	if cmd.ProcessState != nil {
		cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	if err != nil {
		return 0, 0, fmt.Errorf("%s %s: %w: %s", filepath.Base(argv[0]), argv[1], err, tailString(out.String()))
	}
	return wall, cpu, nil
}

// checkRestored fails unless dir holds files regular files of size bytes
// in all: a restore that left files out must not post a time.
func checkRestored(dir string, files int, size int64) error {
	n, got, err := countTree(dir)
	if err != nil {
		return fmt.Errorf("counting the restored files: %w", err)
	}
	if n != files || got != size {
		return fmt.Errorf("restored %d files of %d bytes, the original has %d of %d", n, got, files, size)
	}
	return nil
}

// runLs times `ls -l dir` (C locale, output counted) and checks it listed
// at least want entries.
func runLs(ctx context.Context, dir string, want int) (float64, error) {
	var lines lineCounter
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "ls", "-l", dir)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	cmd.Stdout, cmd.Stderr = &lines, &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return 0, fmt.Errorf("ls -l: %w: %s", err, tailString(stderr.String()))
	}
	secs := time.Since(start).Seconds()
	if int(lines) < want+1 { // "total" comes first
		return 0, fmt.Errorf("ls -l listed %d lines, the directory has %d entries", lines, want)
	}
	return secs, nil
}

// prepareLs exports the large directory once, for the ls -l through
// efs mount (the export stands in for an upload).
func (b *bench) prepareLs(ctx context.Context) {
	t := b.efsTool()
	if t == nil {
		return
	}
	dest := filepath.Join(b.tmp, "export-ls")
	err := run(ctx, []string{t.bin, "export", "-q", "--config", t.cfg(b.lsRoot), "--passfile", t.pwFile, b.lsRoot, dest}, nil, "")
	if err != nil {
		b.log.Error("exporting the large directory failed", "err", err)
		b.res.fail(mLsFwd, toolEFS, fmt.Errorf("export: %w", err))
		return
	}
	b.lsExport = dest
}

// measureLs does one repetition of ls -l over the large directory: the
// plaintext, then each tool's reverse view, then efs mount of its export,
// every view on a fresh mount.
func (b *bench) measureLs(ctx context.Context, rep int) error {
	secs, err := runLs(ctx, b.lsRoot, b.o.entries)
	if err := b.recordKey(ctx, mLs, keyPlain, rep, secs, err, fmtSecs); err != nil {
		return err
	}
	for _, t := range b.available(rep) {
		var cpu time.Duration
		err := b.withMount(t, b.lsRoot, func(m *mount) (err error) {
			secs, cpu, err = b.lsMounted(ctx, m)
			return err
		})
		if err := b.record(ctx, mLs, t, rep, secs, err, fmtSecs); err != nil {
			return err
		}
		if err == nil {
			b.res.add(mLsCPU, t.name, cpu.Seconds())
		}
	}
	t := b.efsTool()
	if t == nil || b.lsExport == "" {
		return nil
	}
	m, err := b.mountFwd(t, b.lsRoot, b.lsExport)
	var cpu time.Duration
	if err == nil {
		secs, cpu, err = b.lsMounted(ctx, m)
		err = errors.Join(err, b.unmount(m))
	}
	if err := b.record(ctx, mLsFwd, t, rep, secs, err, fmtSecs); err != nil {
		return err
	}
	if err == nil {
		b.res.add(mLsFwdCPU, toolEFS, cpu.Seconds())
	}
	return nil
}

// lsMounted times ls -l of the large directory through mount m, with the
// daemon's CPU time meanwhile.
func (b *bench) lsMounted(ctx context.Context, m *mount) (secs float64, cpu time.Duration, err error) {
	cpu0, err := m.cpuTime()
	if err != nil {
		return 0, 0, err
	}
	if secs, err = runLs(ctx, m.dir, b.o.entries); err != nil {
		return 0, 0, err
	}
	cpu1, err := m.cpuTime()
	return secs, cpu1 - cpu0, err
}

// prepareBackup makes the config for the restic comparison: efs's default
// key derivation, as restic uses its own default, since both tools derive
// their key in every command timed.
func (b *bench) prepareBackup(ctx context.Context) error {
	t := b.efsTool()
	if t == nil {
		return nil
	}
	b.backupCfg = filepath.Join(t.work, "tree-default-kdf.toml")
	args := append([]string{t.bin, "init", "--config", b.backupCfg, "--passfile", t.pwFile, "-q"}, t.initFlags...)
	if err := run(ctx, append(args, b.treeRoot), nil, ""); err != nil {
		b.backupCfg = ""
		b.log.Error("efs init for the restic comparison failed", "err", err)
		b.res.fail(mExport, toolEFS, fmt.Errorf("init: %w", err))
		return nil
	}
	b.resticPW = filepath.Join(b.tmp, "restic-password")
	return os.WriteFile(b.resticPW, []byte(password+"\n"), 0o600)
}

// measureBackup does one repetition of efs export against restic backup
// of the tree (into an empty folder, a new repository), then efs restore
// of that export against restic restore of that snapshot (into empty
// folders). The order of the two tools alternates between repetitions.
// Each repetition writes new folders (see runTimed).
func (b *bench) measureBackup(ctx context.Context, rep int) error {
	t := b.efsTool()
	if t == nil || b.backupCfg == "" {
		return nil
	}
	dir := func(name string) string { return filepath.Join(b.tmp, fmt.Sprintf("%s-%d", name, rep+1)) }
	export, repo := dir("export-tree"), dir("restic-repo")
	dests := map[string]string{toolEFS: dir("restore-efs"), keyRestic: dir("restore-restic")}
	order := []string{toolEFS}
	var env []string
	if b.restic.unavailable == "" {
		env = []string{"RESTIC_PASSWORD_FILE=" + b.resticPW}
		if err := run(ctx, []string{b.restic.bin, "-r", repo, "--no-cache", "-q", "init"}, env, ""); err != nil {
			b.res.fail(mExport, keyRestic, err)
		} else if rep%2 == 0 {
			order = append(order, keyRestic)
		} else {
			order = []string{keyRestic, toolEFS}
		}
	}
	backup := map[string][]string{
		toolEFS:   {t.bin, "export", "-q", "--config", b.backupCfg, "--passfile", t.pwFile, b.treeRoot, export},
		keyRestic: {b.restic.bin, "-r", repo, "--no-cache", "-q", "backup", "."},
	}
	restore := map[string][]string{
		toolEFS:   {t.bin, "restore", "-q", "--passfile", t.pwFile, export, dests[toolEFS]},
		keyRestic: {b.restic.bin, "-r", repo, "--no-cache", "-q", "restore", "latest", "--target", dests[keyRestic]},
	}
	var backedUp []string
	for _, k := range order {
		wall, cpu, err := runTimed(ctx, backup[k], env, b.treeRoot)
		if err := b.recordKey(ctx, mExport, k, rep, wall.Seconds(), err, fmtSecs); err != nil {
			return err
		}
		if err == nil {
			b.res.add(mExportCPU, k, cpu.Seconds())
			backedUp = append(backedUp, k)
		}
	}
	for _, k := range backedUp {
		wall, cpu, err := runTimed(ctx, restore[k], env, "")
		if err == nil {
			err = checkRestored(dests[k], b.o.files, b.treeSize)
		}
		if err := b.recordKey(ctx, mRestore, k, rep, wall.Seconds(), err, fmtSecs); err != nil {
			return err
		}
		if err == nil {
			b.res.add(mRestCPU, k, cpu.Seconds())
		}
	}
	// What each command above spends before any file: reading the config
	// and deriving the key.
	first, err := filepath.Rel(b.treeRoot, treeFile(b.treeRoot, 0))
	if err != nil {
		return err
	}
	open := map[string][]string{
		toolEFS:   {t.bin, "encrypt-path", "--config", b.backupCfg, "--passfile", t.pwFile, b.treeRoot, first},
		keyRestic: {b.restic.bin, "-r", repo, "--no-cache", "-q", "cat", "config"},
	}
	for _, k := range backedUp {
		wall, cpu, err := runTimed(ctx, open[k], env, "")
		if err := b.recordKey(ctx, mKeyOpen, k, rep, wall.Seconds(), err, fmtSecs); err != nil {
			return err
		}
		if err == nil {
			b.res.add(mKeyOpenCPU, k, cpu.Seconds())
		}
	}
	unix.Sync() // the rsync that follows must not pay for these writes
	return nil
}

// slowServer serves a directory over HTTP on 127.0.0.1, answering every
// request only after a fixed latency: a stand-in for cloud storage a
// round trip away, for rclone to mount.
type slowServer struct {
	srv      *http.Server
	url      string
	requests atomic.Int64
}

func startSlowServer(dir string, latency time.Duration) (*slowServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("slow server: %w", err)
	}
	files := http.FileServer(http.Dir(dir))
	s := &slowServer{url: "http://" + ln.Addr().String() + "/"}
	s.srv = &http.Server{ReadHeaderTimeout: time.Minute, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		t := time.NewTimer(latency)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return
		}
		files.ServeHTTP(w, r)
	})}
	go s.srv.Serve(ln) // returns ErrServerClosed once closed
	return s, nil
}

func (s *slowServer) close() error { return s.srv.Close() }

// remote is the state of the remote workload.
type remote struct {
	root, export string
	size         int64
	srv          *slowServer
	rcloneConf   string
	restores     int // restores so far, to name each one's new folder
}

// prepareRemote writes a small tree, exports it with efs and serves the
// export through a slowServer. It returns nil when efs or rclone is
// missing or the export fails (the rows then read n/a or failed).
func (b *bench) prepareRemote(ctx context.Context) (*remote, error) {
	t := b.efsTool()
	if t == nil || b.rclone.unavailable != "" {
		return nil, nil
	}
	r := &remote{root: filepath.Join(b.tmp, "remote"), export: filepath.Join(b.tmp, "export-remote"),
		rcloneConf: filepath.Join(b.tmp, "rclone.conf")}
	var err error
	if r.size, err = writeTree(ctx, r.root, b.o.remoteFiles); err != nil {
		return nil, err
	}
	// An empty config: rclone needs none for an :http: remote and must
	// not read the user's.
	if err := os.WriteFile(r.rcloneConf, nil, 0o600); err != nil {
		return nil, err
	}
	err = t.initRoot(ctx, r.root, "")
	if err == nil {
		err = run(ctx, []string{t.bin, "export", "-q", "--config", t.cfg(r.root), "--passfile", t.pwFile, r.root, r.export}, nil, "")
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		b.log.Error("exporting the remote tree failed", "err", err)
		b.res.fail(mRemRest, keyRemote, err)
		return nil, nil
	}
	b.remoteDesc = fmt.Sprintf("%d files in %d dirs (%.0f MB)", b.o.remoteFiles, treeDirs, float64(r.size)/1e6)
	if r.srv, err = startSlowServer(r.export, b.o.latency); err != nil {
		return nil, err
	}
	return r, nil
}

// measureRemote runs efs restore and efs fsck of the remote export from
// local disk, through rclone mount of the slow server and through slowfs,
// the last two with the default --jobs and with --jobs 1, alternating; a
// fresh mount each time, so no cache starts warm.
func (b *bench) measureRemote(ctx context.Context) error {
	r, err := b.prepareRemote(ctx)
	if err != nil || r == nil {
		return err
	}
	defer r.srv.close()
	ops := []struct{ name, id, cpu string }{{"restore", mRemRest, mRemRestC}, {"fsck", mRemFsck, mRemFsckC}}
	keys := []string{keyLocal, keyRemote, keyRemoteOne, keySlow, keySlowOne}
	for rep := 0; rep < b.o.reps; rep++ {
		for _, op := range ops {
			for i := range keys {
				key := keys[(i+rep)%len(keys)]
				req0 := r.srv.requests.Load()
				wall, cpu, err := b.remoteRun(ctx, r, op.name, key)
				if err := b.recordKey(ctx, op.id, key, rep, wall.Seconds(), err, fmtSecs); err != nil {
					return err
				}
				if err == nil {
					b.res.add(op.cpu, key, cpu.Seconds())
					b.log.Info("remote "+op.name, "how", key, "http requests", r.srv.requests.Load()-req0, "cpu", cpu.Round(time.Millisecond))
				}
			}
		}
	}
	return nil
}

// remoteRun runs one efs restore or fsck of the remote export, from local
// disk or through a fresh rclone or slowfs mount.
func (b *bench) remoteRun(ctx context.Context, r *remote, op, key string) (wall, cpu time.Duration, err error) {
	t := b.efsTool()
	src := r.export
	switch key {
	case keySlow, keySlowOne:
		mnt := filepath.Join(b.tmp, "mnt-slowfs")
		if err := os.MkdirAll(mnt, 0o755); err != nil {
			return 0, 0, err
		}
		var s *slowfs.Server
		if s, err = slowfs.Mount(r.export, mnt, b.o.latency); err != nil {
			return 0, 0, err
		}
		defer func() {
			if uerr := s.Unmount(); uerr != nil {
				err = errors.Join(err, fmt.Errorf("unmounting slowfs: %w", uerr))
			}
		}()
		src = mnt
	case keyRemote, keyRemoteOne:
		mnt := filepath.Join(b.tmp, "mnt-rclone")
		if err := os.MkdirAll(mnt, 0o755); err != nil {
			return 0, 0, err
		}
		var m *mount
		m, err = startDaemon([]string{b.rclone.bin, "mount", ":http:", mnt, "--http-url", r.srv.url, "--config", r.rcloneConf, "--read-only", "-q"},
			nil, "", mnt, filepath.Join(b.tmp, "rclone.log"), []string{"fusermount3", "-u"})
		if err != nil {
			return 0, 0, err
		}
		b.live[m] = struct{}{}
		defer func() { err = errors.Join(err, b.unmount(m)) }()
		src = mnt
	}
	jobs := "0" // the default
	if key == keyRemoteOne || key == keySlowOne {
		jobs = "1"
	}
	if op == "fsck" {
		return runTimed(ctx, []string{t.bin, "fsck", "-q", "--jobs", jobs, "--passfile", t.pwFile, src}, nil, "")
	}
	r.restores++
	dest := filepath.Join(b.tmp, fmt.Sprintf("restore-remote-%d", r.restores))
	wall, cpu, err = runTimed(ctx, []string{t.bin, "restore", "-q", "--jobs", jobs, "--passfile", t.pwFile, src, dest}, nil, "")
	if err == nil {
		err = checkRestored(dest, b.o.remoteFiles, r.size)
	}
	return wall, cpu, err
}
