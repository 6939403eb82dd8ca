//go:build linux

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Tool names, in table order.
const (
	toolEFS = "efs"
	toolGo  = "gocryptfs"
	toolEnc = "encfs"
	// toolPriv is efs with both privacy options (issue 11), measured in
	// the same run as toolEFS so the two compare on the same load.
	toolPriv = "efs-private"
	password = "bench-password-not-secret"
)

// tool drives one encrypting file system. Configs live outside the
// plaintext trees, so all three tools see exactly the same files (same
// inodes, same page cache) and none of them shows another's config.
type tool struct {
	name string
	// kind is which program it is: toolPriv is of kind toolEFS.
	kind    string
	bin     string
	version string
	// unavailable, when set, says why the tool's columns read "n/a".
	unavailable string
	work        string // this tool's scratch directory (configs, logs)
	pwFile      string
	initFlags   []string // efs: the format options of efs init (-padding)
}

func (t *tool) cfg(root string) string {
	ext := map[string]string{toolEFS: ".toml", toolGo: ".conf", toolEnc: ".xml"}[t.kind]
	return filepath.Join(t.work, filepath.Base(root)+ext)
}

func (t *tool) log() string { return filepath.Join(t.work, "daemon.log") }

// newTools finds the binaries and their versions. A missing peer is not an
// error: its columns read "n/a".
// With privacy, efs runs a second time as toolPriv, with --padding padme
// and --hide-metadata.
func newTools(ctx context.Context, efsBin, tmp string, efsInit []string, privacy bool) ([]*tool, error) {
	var tools []*tool
	names := []string{toolEFS, toolGo, toolEnc}
	if privacy {
		names = []string{toolEFS, toolPriv, toolGo, toolEnc}
	}
	for _, name := range names {
		t := &tool{name: name, kind: name, work: filepath.Join(tmp, "tool-"+name)}
		switch name {
		case toolEFS:
			t.initFlags = efsInit
		case toolPriv:
			t.kind, t.initFlags = toolEFS, privacyFlags
		}
		if err := os.MkdirAll(t.work, 0o700); err != nil {
			return nil, err
		}
		t.pwFile = filepath.Join(t.work, "password")
		if err := os.WriteFile(t.pwFile, []byte(password+"\n"), 0o600); err != nil {
			return nil, err
		}
		bin := name
		if t.kind == toolEFS {
			bin = efsBin
		}
		p, err := exec.LookPath(bin)
		if err != nil {
			t.unavailable = fmt.Sprintf("%s not found", bin)
			tools = append(tools, t)
			continue
		}
		if p, err = filepath.Abs(p); err != nil {
			return nil, err
		}
		t.bin = p
		t.version = toolVersion(ctx, t)
		tools = append(tools, t)
	}
	return tools, nil
}

func toolVersion(ctx context.Context, t *tool) string {
	arg := map[string]string{toolEFS: "version", toolGo: "-version", toolEnc: "--version"}[t.kind]
	out, _ := exec.CommandContext(ctx, t.bin, arg).CombinedOutput()
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	if line == "" {
		return "unknown"
	}
	return line
}

// initRoot creates the tool's config for the plaintext root, outside it.
func (t *tool) initRoot(ctx context.Context, root, scratchMnt string) error {
	switch t.kind {
	case toolEFS:
		args := append([]string{t.bin, "init", "--config", t.cfg(root), "--passfile", t.pwFile,
			"--kdf-memory", "8", "--kdf-time", "1", "-q"}, t.initFlags...)
		return run(ctx, append(args, root), nil, "")
	case toolGo:
		return run(ctx, []string{t.bin, "-init", "-reverse", "-q", "-extpass", "cat " + t.pwFile,
			"-scryptn", "10", "-config", t.cfg(root), root}, nil, "")
	case toolEnc:
		// encfs can only create its config inside the root, while
		// mounting; move it out afterwards and point ENCFS6_CONFIG at it.
		m, err := startDaemon([]string{t.bin, "-f", "--standard", "--stdinpass", "--reverse", root, scratchMnt},
			nil, password+"\n", scratchMnt, t.log(), []string{"fusermount3", "-u"})
		if err != nil {
			return err
		}
		if err := m.unmount(); err != nil {
			return err
		}
		return os.Rename(filepath.Join(root, ".encfs6.xml"), t.cfg(root))
	}
	return fmt.Errorf("unknown tool %s", t.name)
}

// reverse mounts the encrypting view of root at mnt.
func (t *tool) reverse(root, mnt string) (*mount, error) {
	switch t.kind {
	case toolEFS:
		return startDaemon([]string{t.bin, "reverse", "--fg", "-q", "--config", t.cfg(root), "--passfile", t.pwFile, root, mnt},
			nil, "", mnt, t.log(), []string{t.bin, "unmount"})
	case toolGo:
		return startDaemon([]string{t.bin, "-fg", "-q", "-reverse", "-extpass", "cat " + t.pwFile, "-config", t.cfg(root), root, mnt},
			nil, "", mnt, t.log(), []string{"fusermount3", "-u"})
	case toolEnc:
		return startDaemon([]string{t.bin, "-f", "--stdinpass", "--reverse", root, mnt},
			[]string{"ENCFS6_CONFIG=" + t.cfg(root)}, password+"\n", mnt, t.log(), []string{"fusermount3", "-u"})
	}
	return nil, fmt.Errorf("unknown tool %s", t.name)
}

// hasForward reports whether the bench measures the tool's forward mount
// (the issue compares efs with gocryptfs only).
func (t *tool) hasForward() bool { return t.name == toolEFS || t.name == toolGo }

// forward mounts the decrypting view of an uploaded copy of root's view.
func (t *tool) forward(root, copyDir, mnt string) (*mount, error) {
	switch t.kind {
	case toolEFS: // the copy carries efs.toml, as every backup does
		return startDaemon([]string{t.bin, "mount", "--fg", "-q", "--passfile", t.pwFile, copyDir, mnt},
			nil, "", mnt, t.log(), []string{t.bin, "unmount"})
	case toolGo:
		return startDaemon([]string{t.bin, "-fg", "-q", "-ro", "-extpass", "cat " + t.pwFile, "-config", t.cfg(root), copyDir, mnt},
			nil, "", mnt, t.log(), []string{"fusermount3", "-u"})
	}
	return nil, fmt.Errorf("%s: forward mode not benchmarked", t.name)
}
