//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"
)

// The rows of issue 13: rclone copy pulling the big file and the tree from
// efs serve (WebDAV over mutual TLS) against rclone copy of the same view
// through the FUSE mount of efs reverse.

// Metric IDs and result keys of the serve rows.
const (
	mServeBig     = "serve-big"
	mServeBigCPU  = "serve-big-cpu"
	mServeTree    = "serve-tree"
	mServeTreeCPU = "serve-tree-cpu"

	keyServe     = "serve"      // rclone copy :webdav: from efs serve
	keyServeHTTP = "serve-http" // rclone copy :http: of efs serve's directory pages
	keyView      = "view"       // rclone copy of the efs reverse mount
)

// serveDefs are the rows of the serve table.
func serveDefs() []compareDef {
	const view = "rclone copy of the efs reverse FUSE view"
	ds := []compareDef{
		{label: "rclone copy of BIG from efs serve (webdav backend, mutual TLS)", id: mServeBig, key: keyServe, refName: view, refID: mServeBig, refKey: keyView},
		{label: "  daemon CPU (user+sys)", id: mServeBigCPU, key: keyServe, refName: "efs reverse daemon", refID: mServeBigCPU, refKey: keyView},
		{label: "rclone copy of tree from efs serve (webdav backend)", id: mServeTree, key: keyServe, refName: view, refID: mServeTree, refKey: keyView},
		{label: "  daemon CPU (user+sys)", id: mServeTreeCPU, key: keyServe, refName: "efs reverse daemon", refID: mServeTreeCPU, refKey: keyView},
		{label: "  the same through rclone's http backend (efs serve's directory pages)", id: mServeTree, key: keyServeHTTP, refName: view, refID: mServeTree, refKey: keyView},
		{label: "  daemon CPU (user+sys), http backend", id: mServeTreeCPU, key: keyServeHTTP, refName: "efs reverse daemon", refID: mServeTreeCPU, refKey: keyView},
	}
	for i := range ds {
		ds[i].format = fmtSecs
	}
	return ds
}

// serveMethod is the Method paragraph of the serve rows.
const serveMethod = `- efs serve: ` + "`rclone copy`" + ` pulls the big file's view and the tree's view into an empty
  folder from ` + "`efs serve`" + ` on 127.0.0.1 (TLS 1.3, a pinned Ed25519 server certificate, an
  Ed25519 client key: ` + "`:webdav,url=https://…: --ca-cert --client-cert --client-key`" + `), a
  fresh server each time, and from a fresh ` + "`efs reverse`" + ` FUSE mount of the same plaintext
  (rclone's local backend). rclone runs with its defaults (4 transfers, 8 checkers, multi-thread
  ranges for files over 250 MiB) and an empty config. Both copies of a repetition must hold the
  same files and bytes, and eight 1 MiB ranges of the big file must agree. The http-backend row
  reads the same server's HTML directory pages with ` + "`rclone copy :http:`" + ` (a HEAD per file),
  which has no pacer: rclone 1.60's webdav backend spaces its requests at least 10 ms apart (its
  pacer's minimum sleep, not configurable before 1.63), so a tree of small files is bounded by
  requests × 10 ms whatever the server does; that row runs in the first repetition only (one
  figure, not a median). Daemon CPU: /proc/PID/stat of efs serve or efs
  reverse during the copy.
`

// serveState is what the serve rows share across repetitions.
type serveState struct {
	keyDir, authorized, tlsDir, rcloneConf string
	copies                                 int // copies made so far, to name each one's folder
}

// prepareServe makes a client key, the authorized keys file and an empty
// rclone config; the first server makes the TLS directory.
func (b *bench) prepareServe(ctx context.Context) (*serveState, error) {
	t := b.efsTool()
	if t == nil || b.rclone.unavailable != "" {
		return nil, nil
	}
	s := &serveState{keyDir: filepath.Join(b.tmp, "serve-client"), authorized: filepath.Join(b.tmp, "serve-authorized"),
		tlsDir: filepath.Join(b.tmp, "serve-tls"), rcloneConf: filepath.Join(b.tmp, "rclone-serve.conf")}
	out, err := exec.CommandContext(ctx, t.bin, "keygen", "--comment", "bench", s.keyDir).Output()
	if err != nil {
		return nil, fmt.Errorf("efs keygen: %w", err)
	}
	if err := os.WriteFile(s.authorized, out, 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(s.rcloneConf, nil, 0o600); err != nil {
		return nil, err
	}
	return s, nil
}

// server is one running efs serve.
type server struct {
	cmd  *exec.Cmd
	addr string
	done chan struct{}
}

var serveAddrRE = regexp.MustCompile(`msg="serving [^"]*" addr=(127\.0\.0\.1:\d+)`)

// startServe runs efs serve of root (its config outside it) on a free
// port of 127.0.0.1 and returns once it listens.
func (b *bench) startServe(s *serveState, root string) (*server, error) {
	t := b.efsTool()
	logPath := filepath.Join(b.tmp, "serve.log")
	if err := os.WriteFile(logPath, nil, 0o600); err != nil {
		return nil, err
	}
	logf, err := os.OpenFile(logPath, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command(t.bin, "serve", "--config", t.cfg(root), "--passfile", t.pwFile, "--listen", "127.0.0.1:0",
		"--tls-dir", s.tlsDir, "--authorized-keys", s.authorized, root)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // Ctrl-C reaches the bench, which stops it
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting efs serve: %w", err)
	}
	srv := &server{cmd: cmd, done: make(chan struct{})}
	go func() { cmd.Wait(); close(srv.done) }()
	deadline := time.Now().Add(mountTimeout)
	for {
		if data, _ := os.ReadFile(logPath); serveAddrRE.Match(data) {
			srv.addr = string(serveAddrRE.FindSubmatch(data)[1])
			return srv, nil
		}
		select {
		case <-srv.done:
			return nil, fmt.Errorf("efs serve exited: %s", tail(logPath))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			srv.stop()
			return nil, fmt.Errorf("efs serve did not listen within %v: %s", mountTimeout, tail(logPath))
		}
	}
}

// cpuTime is the server's CPU time so far.
func (s *server) cpuTime() (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	return parseStatCPU(string(data))
}

// stop ends the server with SIGTERM (a graceful shutdown), or kills it.
func (s *server) stop() error {
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
		return nil
	case <-time.After(15 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
		return errors.New("efs serve did not stop within 15 s of SIGTERM")
	}
}

// measureServe runs the serve rows, alternating which way goes first.
func (b *bench) measureServe(ctx context.Context) error {
	s, err := b.prepareServe(ctx)
	if err != nil || s == nil {
		return err
	}
	t := b.efsTool()
	for rep := 0; rep < b.o.reps; rep++ {
		for _, w := range []struct {
			root, id, cpu string
			keys          []string
		}{
			{b.bigRoot, mServeBig, mServeBigCPU, []string{keyServe, keyView}},
			{b.treeRoot, mServeTree, mServeTreeCPU, []string{keyServe, keyServeHTTP, keyView}},
		} {
			ref := "" // the first copy of this repetition; the others must equal it
			for i := range w.keys {
				key := w.keys[(i+rep)%len(w.keys)]
				if rep > 0 && key == keyServe && w.id == mServeTree {
					// rclone's webdav pacer (10 ms a request) sets this
					// figure, about 220 s for 20,000 files: once is enough.
					continue
				}
				s.copies++
				dest := filepath.Join(b.tmp, fmt.Sprintf("serve-copy-%d", s.copies))
				wall, cpu, err := b.serveCopy(ctx, t, s, w.root, key, dest)
				if err == nil {
					if ref == "" {
						ref = dest
					} else {
						err = sameCopies(ref, dest)
					}
				}
				if err := b.recordKey(ctx, w.id, key, rep, wall.Seconds(), err, fmtSecs); err != nil {
					return err
				}
				if err == nil {
					b.res.add(w.cpu, key, cpu.Seconds())
				}
			}
		}
	}
	return nil
}

// serveCopy copies the view of root into dest with rclone, from a fresh
// efs serve (webdav or http backend) or a fresh efs reverse mount, and
// returns the wall time and the daemon's CPU time.
func (b *bench) serveCopy(ctx context.Context, t *tool, s *serveState, root, key, dest string) (wall, cpu time.Duration, err error) {
	var src string
	var cpuNow func() (time.Duration, error)
	var flags []string
	if key == keyView {
		m, err := b.mountRev(t, root)
		if err != nil {
			return 0, 0, err
		}
		defer func() { err = errors.Join(err, b.unmount(m)) }()
		src, cpuNow = m.dir, m.cpuTime
	} else {
		srv, err := b.startServe(s, root)
		if err != nil {
			return 0, 0, err
		}
		defer func() { err = errors.Join(err, srv.stop()) }()
		cpuNow = srv.cpuTime
		flags = []string{"--ca-cert", filepath.Join(s.tlsDir, "server.crt"),
			"--client-cert", filepath.Join(s.keyDir, "client.crt"), "--client-key", filepath.Join(s.keyDir, "client.key")}
		src = fmt.Sprintf(`:webdav,url="https://%s":`, srv.addr)
		if key == keyServeHTTP {
			src = fmt.Sprintf(`:http,url="https://%s/":`, srv.addr)
		}
	}
	cpu0, err := cpuNow()
	if err != nil {
		return 0, 0, err
	}
	argv := append([]string{b.rclone.bin, "copy", "-q", "--config", s.rcloneConf, src, dest}, flags...)
	wall, _, err = runTimed(ctx, argv, nil, "")
	if err != nil {
		return 0, 0, err
	}
	cpu1, err := cpuNow()
	return wall, cpu1 - cpu0, err
}

// sameCopies fails unless two copies of a view hold the same number of
// files and bytes and their largest file agrees in eight 1 MiB ranges.
func sameCopies(a, b string) error {
	na, ba, err := countTree(a)
	if err != nil {
		return err
	}
	nb, bb, err := countTree(b)
	if err != nil {
		return err
	}
	if na != nb || ba != bb {
		return fmt.Errorf("the copies differ: %d files of %d bytes against %d of %d", nb, bb, na, ba)
	}
	big, err := largestFile(a)
	if err != nil {
		return err
	}
	rel, _ := filepath.Rel(a, big)
	st, err := os.Stat(big)
	if err != nil {
		return err
	}
	if err := spotCheck(big, filepath.Join(b, rel), st.Size()); err != nil {
		return fmt.Errorf("the copies of the largest file differ: %s", strings.TrimPrefix(err.Error(), "forward mount returned "))
	}
	return nil
}
