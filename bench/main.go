//go:build linux

// Command bench measures efs side by side with gocryptfs -reverse and
// encfs --reverse on the same plaintext, in the same run, alternating the
// tools within each repetition, sets efs against the plaintext, restic and
// a slow remote, and writes tables with the issues' targets marked PASS or
// FAIL.
//
//	go run ./bench -efs bin/efs [-reps 3] [-size 1GiB] [-files 20000] [-entries 50000] [-only seq,find] [-out bench/RESULTS.md]
//
// It needs root or a working fusermount3, /dev/fuse, rsync and find; a
// missing peer, restic or rclone shows as "n/a". Everything it creates
// lives in one temporary directory, removed (after unmounting every view)
// on exit and on Ctrl-C.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Workload names accepted by -only.
func workloadNames() []string {
	return []string{"seq", "rand", "find", "ls", "rsync", "restic", "forward", "remote", "seal", "serve", "scale"}
}

// optIn reports whether workload w runs only when -only names it: the
// scale workload alone takes longer than all the others together.
func optIn(w string) bool { return w == "scale" }

type options struct {
	efs         string
	reps        int
	size        int64
	files       int
	entries     int           // entries of the large directory (ls)
	remoteFiles int           // files of the tree read through rclone (remote)
	latency     time.Duration // the slow server's answer delay (remote)
	only        []string
	out         string
	tmp         string
	padding     string // efs init --padding: "none" or "padme"
	privacy     bool   // also run efs with both privacy options (toolPriv)
	// scaleEntries are the file counts of the scale workload's trees.
	scaleEntries []int
}

func (o options) want(w string) bool {
	if len(o.only) == 0 {
		return !optIn(w)
	}
	return slices.Contains(o.only, w)
}

// bench is one run: its options, scratch space, tools and live mounts.
type bench struct {
	o        options
	log      *slog.Logger
	tmp      string
	bigRoot  string
	treeRoot string
	treeSize int64
	tools    []*tool
	live     map[*mount]struct{}
	res      *results
	changed  int
	// records is how many directory records the changes touch in efs's
	// view (format v2: one per directory holding a changed file; 0 for a
	// v1 view), which the incremental rsync must send too.
	records int
	notes   []string // anomalies seen during the run, for the report

	lsRoot     string // the large directory (ls)
	lsExport   string // its efs export, once made
	backupCfg  string // efs config with default key derivation (restic)
	resticPW   string
	restic     helper
	rclone     helper
	procs      int // GOMAXPROCS efs children get by default
	remoteDesc string
	// scaleEntries maps each scale tree's file count to its entries
	// (files and directories), once written.
	scaleEntries map[int]int
}

func main() {
	o, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	err = runBench(ctx, o, log)
	stop()
	if errors.Is(err, context.Canceled) {
		if err.Error() == context.Canceled.Error() { // cleanup went fine
			fmt.Fprintln(os.Stderr, "bench: interrupted; every mount and the test data were removed")
		} else {
			fmt.Fprintln(os.Stderr, "bench: interrupted:", err)
		}
		os.Exit(130)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string) (options, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	var o options
	var size, only, scale string
	fs.StringVar(&o.efs, "efs", "bin/efs", "efs binary to benchmark")
	fs.IntVar(&o.reps, "reps", 3, "repetitions of each workload per tool (the median is reported)")
	fs.StringVar(&size, "size", "1GiB", "size of the big file (e.g. 256MiB, 1GiB)")
	fs.IntVar(&o.files, "files", 20000, "files in the small-file tree (spread over 100 directories)")
	fs.IntVar(&o.entries, "entries", 50000, "entries of the one large directory listed with ls -l")
	fs.IntVar(&o.remoteFiles, "remote-files", 2000, "files in the tree read through rclone mount (spread over 100 directories)")
	fs.DurationVar(&o.latency, "latency", 10*time.Millisecond, "how long the slow HTTP server waits before each answer")
	fs.StringVar(&only, "only", "", "comma-separated workloads to run: "+strings.Join(workloadNames(), ","))
	fs.StringVar(&o.out, "out", "", "write the report here (default bench/RESULTS.md for a full run, none with -only)")
	fs.StringVar(&o.tmp, "tmp", "/var/tmp", "parent directory for the test data")
	fs.StringVar(&o.padding, "padding", "none", "efs init --padding for every efs tree: none or padme (make bench BENCH_FLAGS=-padding=padme)")
	fs.BoolVar(&o.privacy, "privacy", true, "also run efs with --padding padme --hide-metadata ("+toolPriv+") in the same run, against efs's defaults")
	fs.StringVar(&scale, "scale-entries", "100000,1000000", "files in the trees of the scale workload (1000 per directory), one tree after another")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	var err error
	if o.size, err = parseSize(size); err != nil {
		return o, err
	}
	if o.scaleEntries, err = parseCounts(scale); err != nil {
		return o, fmt.Errorf("-scale-entries: %w", err)
	}
	if o.padding != "none" && o.padding != "padme" {
		return o, fmt.Errorf("-padding %q: want none or padme", o.padding)
	}
	if o.reps < 1 || o.files < treeDirs || o.remoteFiles < treeDirs || o.entries < 1 || o.size < 16<<20 || o.latency < 0 {
		return o, errors.New("need -reps ≥ 1, -files ≥ 100, -remote-files ≥ 100, -entries ≥ 1, -size ≥ 16MiB and -latency ≥ 0")
	}
	if only != "" {
		for _, w := range strings.Split(only, ",") {
			if !slices.Contains(workloadNames(), w) {
				return o, fmt.Errorf("unknown workload %q (have %s)", w, strings.Join(workloadNames(), ", "))
			}
			o.only = append(o.only, w)
		}
	}
	if o.out == "" && only == "" {
		o.out = filepath.Join("bench", "RESULTS.md")
	}
	return o, nil
}

// parseSize reads "1GiB", "256MiB", "64KiB" or a plain byte count.
func parseSize(s string) (int64, error) {
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		m      int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSuffix(s, u.suffix), u.m
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("bad size %q (want e.g. 1GiB, 256MiB)", s)
	}
	return n * mult, nil
}

func runBench(ctx context.Context, o options, log *slog.Logger) (err error) {
	start := time.Now()
	load0 := loadAvg()
	tmp, err := os.MkdirTemp(o.tmp, "efs-bench-")
	if err != nil {
		return fmt.Errorf("temp dir: %w", err)
	}
	b := &bench{o: o, log: log, tmp: tmp, live: map[*mount]struct{}{}, res: newResults(),
		bigRoot: filepath.Join(tmp, "big"), treeRoot: filepath.Join(tmp, "tree"), lsRoot: filepath.Join(tmp, "large-dir"),
		procs: runtime.GOMAXPROCS(0), scaleEntries: map[int]int{}}
	defer func() { err = errors.Join(err, b.cleanup()) }()

	// The tree and rsync's three copies, plus an export, a restic
	// repository and two restores per repetition; the large directory and
	// its export; the remote tree, its export and three restores per
	// repetition (nothing is deleted before the run ends, see runTimed).
	reps := int64(o.reps)
	need := 3*o.size + int64(o.files)*40<<10*(4+4*reps) + int64(o.entries)*8<<10 + int64(o.remoteFiles)*40<<10*(2+3*reps)
	if o.want("serve") { // two copies of the big file's view and three of the tree's per repetition
		need += reps * (2*o.size + 3*int64(o.files)*40<<10)
	}
	if o.want("scale") { // one tree and two copies of it at a time, a block per file
		need += 3 * int64(slices.Max(o.scaleEntries)) * 4 << 10
	}
	if err := checkSpace(tmp, need); err != nil {
		return err
	}
	if b.tools, err = newTools(ctx, o.efs, tmp, []string{"--padding", o.padding}, o.privacy); err != nil {
		return err
	}
	if o.want("restic") {
		b.restic = findHelper(ctx, "restic")
	}
	if o.want("remote") || o.want("serve") {
		b.rclone = findHelper(ctx, "rclone")
	}
	if err := b.prepare(ctx); err != nil {
		return err
	}
	if err := b.measure(ctx); err != nil {
		return err
	}
	elapsed := time.Since(start).Round(time.Second)
	report := b.report(start, elapsed, load0, loadAvg())
	fmt.Print(report)
	if o.out != "" {
		if err := os.WriteFile(o.out, []byte(report), 0o644); err != nil {
			return fmt.Errorf("writing report: %w", err)
		}
		log.Info("report written", "file", o.out)
	}
	log.Info("done", "elapsed", elapsed)
	return nil
}

// checkSpace refuses to start when the data would not fit.
func checkSpace(dir string, need int64) error {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return fmt.Errorf("checking free space: %w", err)
	}
	if free := int64(st.Bavail) * st.Bsize; free < need {
		return fmt.Errorf("%s has %d MiB free, the bench needs about %d MiB (use -tmp or -size)", dir, free>>20, need>>20)
	}
	return nil
}

// cleanup unmounts every live view and removes the temp dir.
func (b *bench) cleanup() error {
	var errs []error
	for m := range b.live {
		errs = append(errs, b.unmount(m))
	}
	if err := os.RemoveAll(b.tmp); err != nil {
		errs = append(errs, fmt.Errorf("removing %s: %w", b.tmp, err))
	}
	return errors.Join(errs...)
}

// prepare writes the data and creates every tool's configs.
func (b *bench) prepare(ctx context.Context) error {
	needBig := b.o.want("seq") || b.o.want("rand") || b.o.want("forward") || b.o.want("serve")
	needTree := b.o.want("find") || b.o.want("rsync") || b.o.want("restic") || b.o.want("serve")
	roots := []string{b.bigRoot, b.treeRoot}
	if b.o.want("ls") {
		roots = append(roots, b.lsRoot)
	}
	for _, d := range append(roots, filepath.Join(b.tmp, "scratch-mnt")) {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	t0 := time.Now()
	if needBig {
		if err := writeBig(ctx, filepath.Join(b.bigRoot, bigName), b.o.size); err != nil {
			return err
		}
	}
	if needTree {
		var err error
		if b.treeSize, err = writeTree(ctx, b.treeRoot, b.o.files); err != nil {
			return err
		}
	}
	if b.o.want("ls") {
		if err := writeFlatDir(ctx, b.lsRoot, b.o.entries); err != nil {
			return err
		}
	}
	// Write the data back now, so writeback does not compete with the
	// first repetition.
	unix.Sync()
	b.log.Info("test data written", "big", b.o.size, "tree files", b.o.files, "tree bytes", b.treeSize, "took", time.Since(t0).Round(time.Millisecond))
	for _, t := range b.tools {
		if t.unavailable != "" {
			b.log.Warn("tool unavailable, its columns read n/a", "tool", t.name, "why", t.unavailable)
			continue
		}
		for _, root := range roots {
			if err := t.initRoot(ctx, root, filepath.Join(b.tmp, "scratch-mnt")); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				t.unavailable = "init failed: " + err.Error()
				b.log.Error("tool init failed, its columns read n/a", "tool", t.name, "err", err)
				break
			}
		}
	}
	if b.o.want("ls") {
		b.prepareLs(ctx)
	}
	if b.o.want("restic") {
		return b.prepareBackup(ctx)
	}
	return nil
}

// available lists the usable tools, rotated by rep so no tool always goes
// first (page cache, CPU frequency and background load even out).
func (b *bench) available(rep int) []*tool {
	var ts []*tool
	for _, t := range b.tools {
		if t.unavailable == "" {
			ts = append(ts, t)
		}
	}
	if len(ts) == 0 {
		return nil
	}
	k := rep % len(ts)
	return append(ts[k:len(ts):len(ts)], ts[:k]...)
}

// record stores a sample or a failure; it returns ctx's error once the run
// is being cancelled so the loops stop.
func (b *bench) record(ctx context.Context, metric string, t *tool, rep int, v float64, err error, format func(float64) string) error {
	return b.recordKey(ctx, metric, t.name, rep, v, err, format)
}

// recordKey is record for a result key that need not be a tool's name
// (the plaintext, restic, a way of reading the remote).
func (b *bench) recordKey(ctx context.Context, metric, key string, rep int, v float64, err error, format func(float64) string) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		b.log.Error("measurement failed", "metric", metric, "tool", key, "rep", rep+1, "err", err)
		b.res.fail(metric, key, err)
		return nil
	}
	b.res.add(metric, key, v)
	b.log.Info(metric, "tool", key, "rep", rep+1, "value", format(v))
	return nil
}

func (b *bench) measure(ctx context.Context) error {
	defs := map[string]metricDef{}
	for _, m := range metricDefs() {
		defs[m.id] = m
	}
	f := func(id string) func(float64) string { return defs[id].format }

	var sealBuf []byte
	if b.o.want("seal") {
		var err error
		if sealBuf, err = sealBuffer(b.o.size); err != nil {
			return err
		}
	}
	for rep := 0; rep < b.o.reps; rep++ {
		// Sealing runs inside each repetition, next to the FUSE reads it
		// bounds, so both see the same background load.
		if sealBuf != nil {
			v, cpu, err := sealRate(ctx, b.o.size, sealBuf, b.o.padding == "padme")
			if err := b.record(ctx, mSeal, b.tools[0], rep, v, err, f(mSeal)); err != nil {
				return err
			}
			if err == nil {
				b.res.add(mSealCPU, toolEFS, cpu)
			}
		}
		if b.o.want("seq") {
			for _, cold := range []bool{true, false} {
				id := map[bool]string{true: mSeqCold, false: mSeqWarm}[cold]
				for _, t := range b.available(rep) {
					v, cpu, err := b.seqRead(ctx, t, cold)
					if err := b.record(ctx, id, t, rep, v, err, f(id)); err != nil {
						return err
					}
					if err == nil && !cold {
						b.res.add(mSeqCPU, t.name, cpu)
					}
				}
			}
		}
		if b.o.want("rand") {
			for _, t := range b.available(rep) {
				if t.name == toolPriv {
					continue // the privacy table compares sequential reads and rsync
				}
				v, err := b.randRead(ctx, t)
				if err := b.record(ctx, mRand, t, rep, v, err, f(mRand)); err != nil {
					return err
				}
			}
		}
		if b.o.want("find") {
			for _, t := range b.available(rep) {
				v, err := b.find(ctx, t)
				if err := b.record(ctx, mFind, t, rep, v, err, f(mFind)); err != nil {
					return err
				}
			}
		}
		if b.o.want("ls") {
			if err := b.measureLs(ctx, rep); err != nil {
				return err
			}
		}
		// Before rsync, whose deletions of the last copies would slow
		// the file creation in export and restore (see runTimed).
		if b.o.want("restic") {
			if err := b.measureBackup(ctx, rep); err != nil {
				return err
			}
		}
		if b.o.want("rsync") {
			if err := b.measureRsync(ctx, rep, f); err != nil {
				return err
			}
		}
	}
	if b.o.want("forward") {
		uploads := map[*tool]string{}
		for _, t := range b.available(0) {
			if !t.hasForward() {
				continue
			}
			u, err := b.upload(ctx, t)
			if err != nil {
				if err := b.record(ctx, mForward, t, 0, 0, fmt.Errorf("uploading: %w", err), nil); err != nil {
					return err
				}
				continue
			}
			uploads[t] = u
		}
		for rep := 0; rep < b.o.reps; rep++ {
			for _, t := range b.available(rep) {
				if u, ok := uploads[t]; ok {
					v, err := b.forwardRead(ctx, t, u)
					if err := b.record(ctx, mForward, t, rep, v, err, f(mForward)); err != nil {
						return err
					}
				}
			}
		}
	}
	if b.o.want("serve") {
		if err := b.measureServe(ctx); err != nil {
			return err
		}
	}
	if b.o.want("remote") {
		if err := b.measureRemote(ctx); err != nil {
			return err
		}
	}
	if b.o.want("scale") {
		return b.measureScale(ctx)
	}
	return nil
}

// measureRsync does one repetition: a full copy of every tool's view into
// a fresh destination (daemon peak RSS read afterwards), then 1% of the
// plaintext changes, then an incremental rsync into the same destinations.
func (b *bench) measureRsync(ctx context.Context, rep int, f func(string) func(float64) string) error {
	dests := map[*tool]string{}
	for _, t := range b.available(rep) {
		dest := filepath.Join(b.tmp, "dest-"+t.name)
		if err := os.RemoveAll(dest); err != nil {
			return err
		}
		secs, _, cpu, rss, err := b.rsync(ctx, t, dest)
		if err := b.record(ctx, mRsyncFull, t, rep, secs, err, f(mRsyncFull)); err != nil {
			return err
		}
		if err == nil {
			dests[t] = dest
			b.res.add(mRsyncCPU, t.name, cpu.Seconds())
			if err := b.record(ctx, mRSS, t, rep, float64(rss), nil, f(mRSS)); err != nil {
				return err
			}
		}
	}
	changed, dirs, err := changeTree(b.treeRoot, b.o.files, rep)
	if err != nil {
		return fmt.Errorf("changing the tree: %w", err)
	}
	b.changed, b.records = changed, 0
	for t, dest := range dests {
		if _, err := os.Stat(filepath.Join(dest, "efs.dir")); t.name == toolEFS && err == nil {
			b.records = dirs
		}
	}
	for _, t := range b.available(rep) {
		dest, ok := dests[t]
		if !ok {
			continue
		}
		secs, st, _, _, err := b.rsync(ctx, t, dest)
		if err := b.record(ctx, mRsyncIncr, t, rep, secs, err, f(mRsyncIncr)); err != nil {
			return err
		}
		if err == nil {
			b.res.add(mIncrFiles, t.name, float64(st.filesTransferred))
			if t.name == toolEFS {
				b.res.add(mIncrWant, t.name, float64(b.changed+b.records))
			}
			b.res.add(mIncrBytes, t.name, float64(st.bytesSent))
			b.log.Info("incremental rsync", "tool", t.name, "rep", rep+1, "changed", changed,
				"files transferred", st.filesTransferred, "bytes sent", st.bytesSent)
		}
	}
	return nil
}

// report renders the Markdown report printed and written to -out.
func (b *bench) report(start time.Time, elapsed time.Duration, load0, load1 string) string {
	var r strings.Builder
	names := strings.NewReplacer(
		"BIG", sizeString(b.o.size),
		"tree", fmt.Sprintf("%d files in %d dirs (%.0f MB)", b.o.files, treeDirs, float64(b.treeSize)/1e6),
		"{entries}", strconv.Itoa(b.o.entries),
		"{remote}", b.remoteDesc,
		"{lat}", b.o.latency.String())
	fmt.Fprintf(&r, "# efs benchmark results\n\n")
	fmt.Fprintf(&r, "Generated by `make bench` (`go run ./bench -efs %s -reps %d -size %s -files %d -entries %d -remote-files %d -latency %s`) on %s; the run took %s.\n\n",
		b.o.efs, b.o.reps, strings.ReplaceAll(sizeString(b.o.size), " ", ""), b.o.files, b.o.entries, b.o.remoteFiles, b.o.latency,
		start.UTC().Format("2006-01-02 15:04 MST"), elapsed)
	fmt.Fprintf(&r, "- Machine: %d cores (%s), %s, kernel %s\n", runtime.NumCPU(), cpuModel(), memTotal(), kernel())
	fmt.Fprintf(&r, "- Load average (1/5/15 min) before: %s; after: %s\n", load0, load1)
	for _, t := range b.tools {
		v := t.version
		if t.unavailable != "" {
			v = "n/a: " + t.unavailable
		}
		fmt.Fprintf(&r, "- %s: %s\n", t.name, v)
	}
	for _, h := range []helper{b.restic, b.rclone} {
		if h.name == "" {
			continue // its workload was not selected
		}
		v := h.version
		if h.unavailable != "" {
			v = "n/a: " + h.unavailable
		}
		fmt.Fprintf(&r, "- %s: %s\n", h.name, v)
	}
	fmt.Fprintf(&r, "- Each value is the median of %d repetitions (peak RSS and rsync counts: the maximum); tools alternate within each repetition.\n", b.o.reps)
	if len(b.o.only) > 0 {
		fmt.Fprintf(&r, "- Only these workloads ran: %s\n", strings.Join(b.o.only, ", "))
	}
	r.WriteString("\n")
	if t := b.res.table(b.mainTools(), names); t != "" {
		r.WriteString(t)
		r.WriteString("\nRatios are efs/peer; for times and sizes lower is better.\n")
	}
	if t := b.res.compareTable(names); t != "" {
		r.WriteString("\n## Against the plaintext, restic and a slow remote (issue 12)\n\n")
		r.WriteString(t)
	}
	if t := b.res.rowsTable(serveDefs(), names); t != "" {
		r.WriteString("\n## efs serve against the FUSE view (issue 13)\n\n")
		r.WriteString(t)
	}
	if t := b.scaleTable(); t != "" {
		r.WriteString("\n## Reverse daemon memory at scale (issue 12)\n\n")
		r.WriteString(t)
	}
	if t := b.res.rowsTable(privacyDefs(), names); t != "" {
		r.WriteString("\n## Privacy options against the defaults (issue 11)\n\n")
		r.WriteString(t)
	}
	r.WriteString("\n## Targets (issues 5, 11 and 12)\n\n")
	ts := append(b.res.evaluate(b.changed, b.records), b.res.evaluateScale()...)
	ts = append(ts, b.evaluateMemScale(elapsed)...)
	r.WriteString(names.Replace(targetsTable(append(ts, b.res.evaluatePrivacy()...))))
	r.WriteString(`
## Method

- Sequential read: the view of a random (incompressible) file is read front to back with 1 MiB
  read(2) calls, on a fresh mount each time so the view's own page cache is cold and the number
  measures encryption. "Plaintext cold" first evicts the plaintext with posix_fadvise(DONTNEED);
  "warm" reads it once beforehand. MB/s counts view (ciphertext) bytes, 10^6 bytes per MB.
- Random reads: 20,000 page-aligned 4 KiB preads at offsets from a fixed seed, on the view file
  opened once on a fresh mount, plaintext warm.
- find and rsync: the small-file tree, fresh mount each time. The incremental rsync follows a
  rewrite of 1% of the files in place (same size, new bytes, new mtime); "files transferred" and
  "bytes sent" come from rsync --stats. The changed count, plus one directory record per directory holding a changed file in a format v2 view, is the target for "sends only changed files".
- Daemon CPU: user+system time of the reverse daemon (from /proc/PID/stat) during the warm
  sequential read (per GB read) and during the full rsync. On a shared machine this compares the
  work each tool does better than wall time.
- Peak RSS: VmHWM of the reverse daemon right after the full rsync of the tree (which lists, stats
  and reads every entry).
- Forward: each tool's view of the big file is copied ("uploaded") to a directory once, then read
  back through efs mount / gocryptfs forward mode (ciphertext in the page cache, fresh mount).
- Sealing: content.File.EncryptAt called in-process over a file of the same size served from a
  256 MiB random buffer, in 1 MiB requests taken in order by one caller per core (the kernel keeps
  several readahead requests in flight too); EncryptAt also spreads each request over the cores.
  It runs in every repetition just before the sequential reads. This is efs's crypto ceiling here.
- gocryptfs is created with -scryptn 10 and efs with --kdf-memory 8 --kdf-time 1: only the
  mount-time key derivation changes, not the data path. encfs uses --standard.
- ls -l: ` + "`ls -l`" + ` (C locale, output counted) of one directory of small files (0–511 bytes),
  through each reverse view and through efs mount of the directory's efs export, a fresh mount
  each time, and of the plaintext directory itself (its inodes cached by the kernel, as they are
  under the views). Daemon CPU from /proc/PID/stat. ls -l asks for every entry's ACL
  (getxattr system.posix_acl_access): efs mount shows the ACLs and xattrs its records carry, so
  each is a FUSE request: a round trip per entry that the reverse views (no xattrs) do not make.
- efs and restic: ` + "`restic backup .`" + ` run in the tree, into a repository made just before
  with ` + "`restic init`" + `, against ` + "`efs export`" + ` of the tree into an empty folder; then
  ` + "`restic restore latest --target`" + ` against ` + "`efs restore`" + ` of that export, each into
  an empty folder and checked for every file and byte afterwards. restic runs with --no-cache.
  The two tools alternate which goes first. Both keep their default key derivation here (efs:
  argon2id, 256 MiB, 2 passes; restic: scrypt as its init calibrates it), since every command
  timed derives the key once; the "reading the config and deriving the key" rows time that
  alone (` + "`efs encrypt-path`" + ` of one file, ` + "`restic cat config`" + `). CPU is the command's own
  user+system time (wait4 rusage). Dirty pages are written back before every command timed, so
  none pays for another's writes, and every export, repository and restore goes into a new
  folder, nothing deleted before the run ends (a file system that has just deleted many files
  is slower to create new ones); restic fsyncs its pack files, efs export and restore do not
  fsync. restic also compresses and deduplicates; efs encrypts each file on its own.
- Slow remote: a tree of the same shape is exported with efs, and the bench serves the export over
  HTTP on 127.0.0.1 (Go's file server), answering every request only after the latency given, a
  stand-in for storage a round trip away. ` + "`rclone mount :http:`" + ` mounts it, afresh for every
  command (so rclone lists every directory again and asks for each file's size with a HEAD
  request), and efs restore (into an empty folder, then checked) and efs fsck read the mount.
  "From local disk" is the same command on the export itself. efs handles max(8, 2×GOMAXPROCS)
  directories and files at once (` + "`--jobs`" + `' default); the --jobs 1 rows run the same binary one
  entry at a time, as efs restore and fsck did before. slowfs (internal/slowfs) is the second
  slow source: a FUSE passthrough of the export, served by the bench itself, whose every
  directory listing, lookup of a name not yet listed and open waits the latency, with no client
  of its own in between (rclone adds a HEAD per entry, eight at a time, and its own caching).
  rclone's WebDAV client was not used: it spaces its requests 10 ms apart
  whatever the latency, so no number of files in flight helps there (a restore of 20,000 files
  through ` + "`rclone serve webdav`" + ` and ` + "`rclone mount`" + ` took 224 s).
` + serveMethod + b.scaleMethod() + privacyMethod + `- The machine is shared: other processes (see the load average) add noise to every column alike.
`)
	if len(b.notes) > 0 {
		r.WriteString("\n## Anomalies\n\n")
		for _, n := range b.notes {
			fmt.Fprintf(&r, "- %s\n", n)
		}
	}
	if fails := b.res.failures(); len(fails) > 0 {
		r.WriteString("\n## Failures\n\n")
		for _, f := range fails {
			fmt.Fprintf(&r, "- %s\n", f)
		}
	}
	return r.String()
}

func sizeString(n int64) string {
	switch {
	case n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return strconv.FormatInt(n, 10)
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

func memTotal() string {
	var si unix.Sysinfo_t
	if err := unix.Sysinfo(&si); err != nil {
		return "unknown RAM"
	}
	return fmt.Sprintf("%d GiB RAM", (uint64(si.Totalram)*uint64(si.Unit))>>30)
}

func kernel() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "unknown"
	}
	return unix.ByteSliceToString(u.Release[:])
}
