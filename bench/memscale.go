//go:build linux

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// The memory workload of issue 12: how the reverse daemons' resident
// memory grows with the number of entries the kernel looks up. A tree of
// many tiny files is listed with find -ls and copied with rsync -a through
// efs reverse and gocryptfs -reverse, each on a fresh mount, and the
// daemon's peak RSS is divided by the entries. It runs only when named
// (-only scale): at a million entries it writes a million files.

// scaleDirSize is the files per directory of the scale tree: a directory
// of realistic size, so that the number of entries, not one huge
// listing, is what the daemons hold.
const scaleDirSize = 1000

// Per-size metric IDs of the scale workload, keyed by tool name.
func scaleID(what string, entries int) string { return fmt.Sprintf("scale-%s-%d", what, entries) }

// parseCounts reads a comma-separated list of positive counts.
func parseCounts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < scaleDirSize {
			return nil, fmt.Errorf("bad entry count %q (want numbers ≥ %d, e.g. 100000,1000000)", f, scaleDirSize)
		}
		out = append(out, n)
	}
	return out, nil
}

// scaleFile is the path of file i of a scale tree.
func scaleFile(root string, i int) string {
	return filepath.Join(root, fmt.Sprintf("dir-%04d", i/scaleDirSize), fmt.Sprintf("file-%07d.txt", i))
}

// scaleFileSize: 0..127 bytes, so that the copy moves some content
// without the tree costing more than its inodes.
func scaleFileSize(i int) int { return (i * 37) % 128 }

// writeScaleTree writes n tiny files, scaleDirSize per directory, one
// directory per task on 2×NumCPU workers (file creation is mostly
// system time). It returns the entries made: files and directories.
func writeScaleTree(ctx context.Context, root string, n int) (int, error) {
	dirs := (n + scaleDirSize - 1) / scaleDirSize
	fill := bytes.Repeat([]byte("efs bench scale tree\n"), 7)
	next := make(chan int)
	errs := make([]error, 2*runtime.NumCPU())
	var wg sync.WaitGroup
	for w := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for d := range next {
				if err := os.MkdirAll(filepath.Dir(scaleFile(root, d*scaleDirSize)), 0o755); err != nil {
					errs[w] = err
					return
				}
				for i := d * scaleDirSize; i < min((d+1)*scaleDirSize, n); i++ {
					if err := os.WriteFile(scaleFile(root, i), fill[:scaleFileSize(i)], 0o644); err != nil {
						errs[w] = fmt.Errorf("writing the scale tree: %w", err)
						return
					}
				}
			}
		}()
	}
	for d := 0; d < dirs && ctx.Err() == nil; d++ {
		next <- d
	}
	close(next)
	wg.Wait()
	if err := errors.Join(append(errs, ctx.Err())...); err != nil {
		return 0, err
	}
	return n + dirs, nil
}

// scaleTools are the tools the scale workload compares: the issue sets
// efs against gocryptfs -reverse (encfs would double the run's time).
func (b *bench) scaleTools(rep int) []*tool {
	var ts []*tool
	for _, t := range b.available(rep) {
		if t.name == toolEFS || t.name == toolGo {
			ts = append(ts, t)
		}
	}
	return ts
}

// scaleRun is what one command through one fresh mount measured.
type scaleRun struct {
	wall, cpu time.Duration
	base, hwm int64 // the daemon's RSS once mounted, and its peak after
}

// scaleMounted runs argv (the mount's directory substituted for "VIEW")
// on a fresh mount of t's view of root.
func (b *bench) scaleMounted(ctx context.Context, t *tool, root string, argv []string, check func(lines int) error) (scaleRun, error) {
	var r scaleRun
	err := b.withMount(t, root, func(m *mount) error {
		var err error
		if r.base, err = m.rss(); err != nil {
			return err
		}
		cpu0, err := m.cpuTime()
		if err != nil {
			return err
		}
		args := make([]string, len(argv))
		for i, a := range argv {
			args[i] = strings.ReplaceAll(a, "VIEW", m.dir)
		}
		var out lineCounter
		var stderr bytes.Buffer
		cmd := exec.CommandContext(ctx, args[0], args[1:]...)
		cmd.Stdout, cmd.Stderr = &out, &stderr
		start := time.Now()
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("%s: %w: %s", args[0], err, tailString(stderr.String()))
		}
		r.wall = time.Since(start)
		if err := check(int(out)); err != nil {
			return err
		}
		cpu1, err := m.cpuTime()
		if err != nil {
			return err
		}
		r.cpu = cpu1 - cpu0
		r.hwm, err = m.peakRSS()
		return err
	})
	return r, err
}

// measureScale builds each tree of -scale-entries in turn and runs find
// -ls and a full rsync -a through each tool's view of it. Each size runs
// once (-reps does not apply: a tree of a million entries is copied in
// minutes, and the peak is what counts). Each size's tree and copies are
// removed before the next size.
func (b *bench) measureScale(ctx context.Context) error {
	for _, n := range b.o.scaleEntries {
		if err := b.measureScaleSize(ctx, n); err != nil {
			return err
		}
	}
	return nil
}

// measureScaleSize is measureScale for the tree of n files, on its own
// filesystem where one can be made (see scaleDisk).
func (b *bench) measureScaleSize(ctx context.Context, n int) (err error) {
	dir, done, err := b.scaleDisk(ctx, n)
	if err != nil {
		return err
	}
	defer func() {
		// The next size starts on an empty disk; removal is not timed.
		t0 := time.Now()
		if rerr := done(); rerr != nil {
			err = errors.Join(err, fmt.Errorf("removing the scale tree: %w", rerr))
		}
		b.log.Info("scale tree and copies removed", "took", time.Since(t0).Round(time.Millisecond))
	}()
	root := filepath.Join(dir, fmt.Sprintf("scale-%d", n)) // its base names the tools' configs
	t0 := time.Now()
	entries, err := writeScaleTree(ctx, root, n)
	if err != nil {
		return err
	}
	b.scaleEntries[n] = entries
	b.log.Info("scale tree written", "files", n, "entries", entries, "took", time.Since(t0).Round(time.Millisecond))
	for _, t := range b.scaleTools(0) {
		if err := t.initRoot(ctx, root, ""); err != nil {
			b.res.fail(scaleID("rss", n), t.name, fmt.Errorf("init: %w", err))
			continue
		}
		find, err := b.scaleMounted(ctx, t, root, []string{"find", "VIEW", "-ls"}, func(lines int) error {
			if lines < entries {
				return fmt.Errorf("find listed %d entries, the tree has %d", lines, entries)
			}
			return nil
		})
		if err := b.recordScale(ctx, "find", n, entries, t, find, err); err != nil {
			return err
		}
		dest := filepath.Join(dir, "copy-"+t.name)
		unix.Sync() // the copy must not pay for earlier writes
		copied, err := b.scaleMounted(ctx, t, root, []string{"rsync", "-a", "VIEW/", dest + "/"}, func(int) error {
			files, _, err := countTree(dest)
			if err == nil && files < n {
				err = fmt.Errorf("rsync copied %d files, the tree has %d", files, n)
			}
			return err
		})
		if err := b.recordScale(ctx, "rsync", n, entries, t, copied, err); err != nil {
			return err
		}
	}
	return nil
}

// recordScale stores one command's wall, daemon CPU and the daemon's peak
// RSS (the larger of the find's and the rsync's mount) and bytes per entry.
func (b *bench) recordScale(ctx context.Context, what string, n, entries int, t *tool, r scaleRun, err error) error {
	if cerr := b.recordKey(ctx, scaleID(what, n), t.name, 0, r.wall.Seconds(), err, fmtSecs); cerr != nil {
		return cerr
	}
	if err != nil {
		b.res.fail(scaleID("rss", n), t.name, fmt.Errorf("%s: %w", what, err))
		return nil
	}
	b.res.add(scaleID(what+"-cpu", n), t.name, r.cpu.Seconds())
	b.res.add(scaleID("rss", n), t.name, float64(r.hwm))
	b.res.add(scaleID("per-entry", n), t.name, float64(r.hwm-r.base)/float64(entries))
	b.log.Info("scale "+what, "tool", t.name, "entries", entries, "wall", r.wall.Round(time.Millisecond),
		"daemon cpu", r.cpu.Round(time.Millisecond), "peak rss MiB", r.hwm>>20, "bytes/entry", (r.hwm-r.base)/int64(entries))
	return nil
}

// scaleTable renders the scale rows, one per tree size, or "" when the
// workload did not run.
func (b *bench) scaleTable() string {
	if !b.o.want("scale") {
		return ""
	}
	var r strings.Builder
	r.WriteString("| entries | tool | find -ls | daemon CPU | rsync -a, full copy | daemon CPU | peak RSS (VmHWM) | bytes per entry |\n")
	r.WriteString("|--:|---|--:|--:|--:|--:|--:|--:|\n")
	for _, n := range b.o.scaleEntries {
		for _, name := range []string{toolEFS, toolGo} {
			cell := func(what string, format func(float64) string) string {
				id := scaleID(what, n)
				if v, ok := b.scaleMax(id, name); ok {
					return format(v)
				}
				if _, failed := b.res.errs[id][name]; failed {
					return "failed"
				}
				return "n/a"
			}
			fmt.Fprintf(&r, "| %d | %s | %s | %s | %s | %s | %s | %s |\n", b.scaleEntries[n], name,
				cell("find", fmtSecs), cell("find-cpu", fmtSecs), cell("rsync", fmtSecs), cell("rsync-cpu", fmtSecs),
				cell("rss", fmtMiB), cell("per-entry", func(v float64) string { return fmt.Sprintf("%.0f B", v) }))
		}
	}
	return r.String()
}

func fmtMiB(v float64) string { return fmt.Sprintf("%.0f MiB", v/(1<<20)) }

// scaleMax is a scale metric's summary: its largest sample (the find's
// and the copy's mounts each add one to rss and per-entry; the others
// have one).
func (b *bench) scaleMax(id, tool string) (float64, bool) {
	v := b.res.vals[id][tool]
	if len(v) == 0 {
		return 0, false
	}
	return maxOf(v), true
}

// evaluateMemScale checks issue 12's memory target at each tree size
// (efs's reverse daemon peaks no higher than gocryptfs -reverse's) and,
// for a run of this workload alone, its time limit.
func (b *bench) evaluateMemScale(elapsed time.Duration) []target {
	if !b.o.want("scale") {
		return nil
	}
	var ts []target
	if len(b.o.only) == 1 && slices.Contains(b.o.scaleEntries, 1000000) {
		status := "FAIL"
		if elapsed < 15*time.Minute {
			status = "PASS"
		}
		ts = append(ts, target{"-only scale with 1,000,000 files finishes in under 15 minutes", status, elapsed.String()})
	}
	for _, n := range b.o.scaleEntries {
		goal := fmt.Sprintf("efs reverse peak RSS ≤ gocryptfs -reverse's, %d files (find -ls and rsync -a)", n)
		id := scaleID("rss", n)
		a, ok1 := b.scaleMax(id, toolEFS)
		p, ok2 := b.scaleMax(id, toolGo)
		if !ok1 || !ok2 || len(b.res.errs[id]) > 0 {
			ts = append(ts, target{goal, "n/a", "missing measurements"})
			continue
		}
		status := "FAIL"
		if a <= p {
			status = "PASS"
		}
		ea, _ := b.scaleMax(scaleID("per-entry", n), toolEFS)
		ep, _ := b.scaleMax(scaleID("per-entry", n), toolGo)
		ts = append(ts, target{goal, status, fmt.Sprintf("%.0f vs %.0f MiB (%.0f vs %.0f bytes per entry)", a/(1<<20), p/(1<<20), ea, ep)})
	}
	return ts
}

// scaleMethod is the Method paragraph of the scale rows, when they ran.
func (b *bench) scaleMethod() string {
	if !b.o.want("scale") {
		return ""
	}
	return `- Memory at scale (` + "`-only scale`" + `, not in the default run): for each ` + "`-scale-entries`" + ` count a
  tree of that many files (0–127 bytes each, 1,000 per directory, written by parallel workers;
  as root on an ext4 of its own in a sparse image on a loop device, removed by unmounting it)
  is listed with ` + "`find VIEW -ls`" + ` (output counted) and copied whole with ` + "`rsync -a VIEW/ DEST/`" + ` into a
  new folder on the same disk (checked for every file), each on a fresh mount of efs reverse and
  of gocryptfs -reverse; once per size, whatever -reps says. Peak RSS is the daemon's VmHWM
  after the command (the larger of the two mounts); bytes per entry is that peak less the
  RSS right after mounting, over the tree's files and directories. Daemon CPU from
  /proc/PID/stat. gocryptfs keeps a node for every entry the kernel has looked up until the
  kernel forgets it, which on a machine with free memory it does not do during one walk; efs
  asks the kernel to forget all but the newest 16,384 files' nodes, so its bytes per entry
  fall as the tree grows.
`
}

// removeTree removes dir, its subdirectories on 2×NumCPU workers: a
// million files take minutes to unlink one after another.
func removeTree(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	}
	next := make(chan string)
	errs := make([]error, 2*runtime.NumCPU())
	var wg sync.WaitGroup
	for w := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range next {
				if err := os.RemoveAll(p); err != nil && errs[w] == nil {
					errs[w] = err
				}
			}
		}()
	}
	for _, e := range ents {
		next <- filepath.Join(dir, e.Name())
	}
	close(next)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return os.RemoveAll(dir)
}
