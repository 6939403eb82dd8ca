//go:build linux

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"1GiB": 1 << 30, "256MiB": 256 << 20, "64K": 64 << 10, "12345": 12345} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "GiB", "-1MiB", "1TB", "0"} {
		if _, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) accepted", in)
		}
	}
}

func TestParseFlags(t *testing.T) {
	o, err := parseFlags(nil)
	if err != nil || o.out != "bench/RESULTS.md" || o.reps != 3 || o.size != 1<<30 || o.files != 20000 {
		t.Fatalf("defaults: %+v, %v", o, err)
	}
	o, err = parseFlags([]string{"-only", "seq,find"})
	if err != nil || o.out != "" || !o.want("seq") || o.want("rsync") {
		t.Fatalf("-only run must not overwrite RESULTS.md and must select workloads: %+v, %v", o, err)
	}
	if o.entries != 50000 || o.remoteFiles != 2000 || o.latency != 10*time.Millisecond {
		t.Errorf("defaults of the issue 12 workloads: %+v", o)
	}
	for _, args := range [][]string{{"-only", "seq,bogus"}, {"-reps", "0"}, {"extra"}, {"-size", "1MiB"},
		{"-entries", "0"}, {"-remote-files", "99"}, {"-latency", "-1ms"}} {
		if _, err := parseFlags(args); err == nil {
			t.Errorf("parseFlags(%q) accepted", args)
		}
	}
}

const rsyncOut = `
Number of files: 20,201 (reg: 20,101, dir: 100)
Number of created files: 0
Number of deleted files: 0
Number of regular files transferred: 200
Total file size: 115,432,123 bytes
Total transferred file size: 1,154,321 bytes
Literal data: 1,154,321 bytes
Total bytes sent: 1,198,765
Total bytes received: 4,321

sent 1,198,765 bytes  received 4,321 bytes  2,406,172.00 bytes/sec
`

func TestParseRsyncStats(t *testing.T) {
	st, err := parseRsyncStats(rsyncOut)
	if err != nil || st.filesTransferred != 200 || st.bytesSent != 1198765 {
		t.Fatalf("got %+v, %v", st, err)
	}
	if _, err := parseRsyncStats(strings.ReplaceAll(rsyncOut, "Total bytes sent", "Total bytes")); err == nil {
		t.Error("missing bytes-sent line accepted")
	}
	if _, err := parseRsyncStats(strings.ReplaceAll(rsyncOut, "transferred: 200", "transferred: x")); err == nil {
		t.Error("garbled count accepted")
	}
}

func TestParseVmHWM(t *testing.T) {
	status := "Name:\tefs\nVmPeak:\t 2142592 kB\nVmHWM:\t   36528 kB\nVmRSS:\t   11376 kB\n"
	if got, err := parseVmHWM(strings.NewReader(status)); err != nil || got != 36528<<10 {
		t.Fatalf("got %d, %v", got, err)
	}
	if _, err := parseVmHWM(strings.NewReader("VmRSS:\t 1 kB\n")); err == nil {
		t.Error("status without VmHWM accepted")
	}
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{{[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := median(c.in); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

func TestUnescapeMountinfo(t *testing.T) {
	if got := unescapeMountinfo(`/tmp/a\040b\134c`); got != `/tmp/a b\c` {
		t.Errorf("got %q", got)
	}
	if got := unescapeMountinfo(`/tmp/x\04`); got != `/tmp/x\04` {
		t.Errorf("truncated escape changed: %q", got)
	}
}

func TestIsMounted(t *testing.T) {
	if ok, err := isMounted("/proc"); err != nil || !ok {
		t.Errorf("/proc not seen as mounted: %v, %v", ok, err)
	}
	if ok, err := isMounted(t.TempDir()); err != nil || ok {
		t.Errorf("fresh temp dir seen as mounted: %v, %v", ok, err)
	}
}

func TestRepeatReader(t *testing.T) {
	r := repeatReader("abcde")
	p := make([]byte, 12)
	if n, err := r.ReadAt(p, 3); n != 12 || err != nil || string(p) != "deabcdeabcde" {
		t.Fatalf("got %q, %d, %v", p, n, err)
	}
}

// results with efs at the given multiples of both peers.
func sampleResults(seq, find, rss float64, incr []float64) *results {
	r := newResults()
	for _, rep := range []float64{0.9, 1, 1.1} {
		r.add(mSeqWarm, toolGo, 100*rep)
		r.add(mSeqWarm, toolEnc, 200*rep)
		r.add(mSeqWarm, toolEFS, seq*rep)
		r.add(mSeal, toolEFS, 1000)
		r.add(mFind, toolGo, 2)
		r.add(mFind, toolEnc, 1)
		r.add(mFind, toolEFS, find)
		r.add(mRSS, toolEFS, rss)
		r.add(mForward, toolEFS, 300)
		r.add(mForward, toolGo, 100)
		r.add(mSealCPU, toolEFS, 1.4)
		r.add(mSeqCPU, toolEFS, 1.4*800/seq) // slower reads, more CPU per GB
	}
	for _, v := range incr {
		r.add(mIncrFiles, toolEFS, v)
	}
	return r
}

func status(ts []target, prefix string) string {
	for _, t := range ts {
		if strings.HasPrefix(t.goal, prefix) {
			return t.status
		}
	}
	return "missing"
}

func TestEvaluate(t *testing.T) {
	good := sampleResults(800, 0.9, 30<<20, []float64{200, 200, 200}).evaluate(200, 0)
	for prefix, want := range map[string]string{
		"seq read (warm) ≥ 5×":  "PASS",
		"seq read (warm) ≥ 2×":  "PASS",
		"seq read (warm) ≥ 70%": "PASS",
		"seq read (warm) per":   "PASS", // 1.4 vs 1.4 s/GB
		"seq read (cold)":       "n/a",  // never measured: must not pass
		"find":                  "PASS",
		"full rsync":            "n/a",
		"incremental":           "PASS",
		"forward":               "PASS",
		"efs reverse peak RSS":  "PASS",
	} {
		if got := status(good, prefix); got != want {
			t.Errorf("good run, %q: %s, want %s", prefix, got, want)
		}
	}
	bad := sampleResults(450, 1.01, 100<<20, []float64{200, 201, 200}).evaluate(200, 0)
	for prefix, want := range map[string]string{
		"seq read (warm) ≥ 5×":  "FAIL",
		"seq read (warm) ≥ 2×":  "PASS", // 450 ≥ 2×200
		"seq read (warm) ≥ 70%": "FAIL",
		"seq read (warm) per":   "FAIL", // 1.4 vs 2.49 s/GB = 56%
		"find":                  "FAIL", // 1.01 s vs encfs 1 s
		"incremental":           "FAIL",
		"efs reverse peak RSS":  "FAIL",
	} {
		if got := status(bad, prefix); got != want {
			t.Errorf("bad run, %q: %s, want %s", prefix, got, want)
		}
	}
}

// Issue 12 asks 75% of sealing per CPU second: 72% no longer passes.
func TestEvaluateSeqCPU(t *testing.T) {
	r := newResults()
	r.add(mSealCPU, toolEFS, 0.72)
	r.add(mSeqCPU, toolEFS, 1)
	if got := status(r.evaluate(0, 0), "seq read (warm) per CPU second ≥ 75%"); got != "FAIL" {
		t.Errorf("72%%: %s, want FAIL", got)
	}
	r.add(mSealCPU, toolEFS, 0.78)
	r.add(mSealCPU, toolEFS, 0.78)
	if got := status(r.evaluate(0, 0), "seq read (warm) per CPU second ≥ 75%"); got != "PASS" {
		t.Errorf("78%%: %s, want PASS", got)
	}
}

// A v2 view sends each changed file and the record of its directory.
func TestEvaluateRecords(t *testing.T) {
	v2 := sampleResults(800, 0.9, 30<<20, []float64{286, 286}).evaluate(200, 86)
	if got := status(v2, "incremental"); got != "PASS" {
		t.Errorf("200 files and 86 records sent: %s, want PASS", got)
	}
	short := sampleResults(800, 0.9, 30<<20, []float64{200, 200}).evaluate(200, 86)
	if got := status(short, "incremental"); got != "FAIL" {
		t.Errorf("the records not sent: %s, want FAIL", got)
	}
}

func TestTableMarksMissingTools(t *testing.T) {
	r := newResults()
	r.add(mSeqWarm, toolEFS, 800)
	r.add(mSeqWarm, toolGo, 100)
	r.add(mSeal, toolEFS, 1000)
	r.fail(mRand, toolEFS, bytes.ErrTooLarge)
	tools := []*tool{{name: toolEFS}, {name: toolGo}, {name: toolEnc, unavailable: "encfs not found"}}
	tab := r.table(tools, strings.NewReplacer("BIG", "1 GiB"))
	for _, want := range []string{
		"| seq read 1 GiB, plaintext warm | 800 MB/s | 100 MB/s | n/a | 8.00× |  | higher |",
		"| random 4 KiB preads | failed | not run | n/a |",
		"| efs in-process sealing, all cores | 1000 MB/s | — | — |",
	} {
		if !strings.Contains(tab, want) {
			t.Errorf("table lacks %q:\n%s", want, tab)
		}
	}
}

func TestTableEmpty(t *testing.T) {
	r := newResults()
	r.add(mExport, toolEFS, 2) // second table only
	if got := r.table([]*tool{{name: toolEFS}}, strings.NewReplacer()); got != "" {
		t.Errorf("no main-table workload ran, yet:\n%s", got)
	}
}

func TestParseStatCPU(t *testing.T) {
	// comm with a space and a parenthesis, utime 250 and stime 50 ticks.
	stat := "1234 (efs (rev) x) S 1 1234 1234 0 -1 4194560 2000 0 0 0 250 50 0 0 20 0 9 0 100 2142592 2844 18446744073709551615"
	if got, err := parseStatCPU(stat); err != nil || got.Milliseconds() != 3000 {
		t.Fatalf("got %v, %v; want 3s", got, err)
	}
	if _, err := parseStatCPU("1234 (efs) S 1 2"); err == nil {
		t.Error("short stat line accepted")
	}
}

func TestResidency(t *testing.T) {
	p := t.TempDir() + "/f"
	if err := os.WriteFile(p, make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := warmCache(p); err != nil {
		t.Fatal(err)
	}
	if r, err := residency(p); err != nil || r != 1 {
		t.Fatalf("after reading: %v, %v; want fully resident", r, err)
	}
	if err := dropCache(p); err != nil {
		t.Fatal(err)
	}
	if r, err := residency(p); err != nil || r > 0.5 {
		t.Fatalf("after DONTNEED: %v, %v; want mostly evicted", r, err)
	}
}

func TestEvaluateScale(t *testing.T) {
	r := newResults()
	for _, v := range []float64{0.5, 0.6, 0.7} {
		r.add(mLs, keyPlain, 0.2)
		r.add(mLs, toolEFS, v)      // median 0.6 = 3× plaintext: PASS
		r.add(mLsFwd, toolEFS, v+1) // median 1.6: FAIL
		r.add(mExport, toolEFS, 2)
		r.add(mExport, keyRestic, 3)
		r.add(mRestore, toolEFS, 2.5)
		r.add(mRestore, keyRestic, 2.4)
		r.add(mRsyncFull, toolEFS, 3) // 0.75× encfs, 1.5× export: PASS
		r.add(mRsyncFull, toolEnc, 4)
		r.add(mRsyncCPU, toolEFS, 2.1) // more than encfs: FAIL
		r.add(mRsyncCPU, toolEnc, 2)
	}
	ts := r.evaluateScale()
	for prefix, want := range map[string]string{
		"ls -l of {entries} entries, efs reverse": "PASS",
		"ls -l of {entries} entries, efs mount":   "FAIL",
		"efs export":                              "PASS",
		"efs restore":                             "FAIL",
		"full rsync through the view ≤ 0.8×":      "PASS",
		"daemon CPU during the full rsync":        "FAIL",
		"full rsync through the view ≤ 2× efs":    "PASS",
	} {
		if got := status(ts, prefix); got != want {
			t.Errorf("%q: %s, want %s", prefix, got, want)
		}
	}
	for _, tg := range newResults().evaluateScale() {
		if tg.status != "n/a" {
			t.Errorf("no measurements, %q: %s, want n/a", tg.goal, tg.status)
		}
	}
}

func TestCompareTable(t *testing.T) {
	r := newResults()
	r.add(mLs, keyPlain, 0.2)
	r.add(mLs, toolEFS, 0.5)
	r.add(mExport, toolEFS, 2)
	r.fail(mExport, keyRestic, bytes.ErrTooLarge)
	r.add(mRemRest, keyRemote, 10)
	r.add(mRemRest, keyRemoteOne, 40)
	r.add(mRemRest, keySlow, 4)
	tab := r.compareTable(strings.NewReplacer("{entries}", "50000", "tree", "the tree", "{remote}", "R", "{lat}", "10ms"))
	for _, want := range []string{
		"| ls -l, one directory of 50000 entries: efs reverse view | 0.50 s | plaintext | 0.20 s | 2.50× | lower |",
		"| efs export of the tree into an empty folder | 2.00 s | restic backup into a new local repository | failed |  | lower |",
		"| efs restore of R through rclone mount, 10ms per HTTP request | 10.00 s | efs restore from local disk | n/a |  | lower |",
		"|   the same, default --jobs | 10.00 s | --jobs 1 (one entry at a time) | 40.00 s | 0.25× | lower |",
		"| efs restore of R through slowfs, 10ms per listing, lookup and open, default --jobs | 4.00 s | --jobs 1 (one entry at a time) | n/a |  | lower |",
	} {
		if !strings.Contains(tab, want) {
			t.Errorf("table lacks %q:\n%s", want, tab)
		}
	}
	if strings.Contains(tab, "efs mount of its export") || strings.Contains(tab, "fsck") {
		t.Errorf("rows that never ran are shown:\n%s", tab)
	}
	if got := newResults().compareTable(strings.NewReplacer()); got != "" {
		t.Errorf("empty results give a table:\n%s", got)
	}
}

func TestCheckRestored(t *testing.T) {
	dir := t.TempDir()
	for name, size := range map[string]int{"a": 3, "sub/b": 5} {
		p := dir + "/" + name
		if err := os.MkdirAll(p[:strings.LastIndexByte(p, '/')], 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, make([]byte, size), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("a", dir+"/link"); err != nil {
		t.Fatal(err)
	}
	if err := checkRestored(dir, 2, 8); err != nil {
		t.Errorf("complete restore refused: %v", err)
	}
	if err := checkRestored(dir, 3, 8); err == nil {
		t.Error("restore missing a file accepted")
	}
	if err := checkRestored(dir, 2, 9); err == nil {
		t.Error("restore missing bytes accepted")
	}
}

func TestSlowServer(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(dir+"/f", []byte("ciphertext"), 0o644); err != nil {
		t.Fatal(err)
	}
	const latency = 50 * time.Millisecond
	s, err := startSlowServer(dir, latency)
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	for path, want := range map[string]string{"f": "ciphertext", "": `href="f"`} {
		start := time.Now()
		resp, err := http.Get(s.url + path)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || !strings.Contains(string(body), want) {
			t.Errorf("GET /%s: %q, %v; want %q in it", path, body, err, want)
		}
		if d := time.Since(start); d < latency {
			t.Errorf("GET /%s answered after %v, before the latency %v", path, d, latency)
		}
	}
	if n := s.requests.Load(); n != 2 {
		t.Errorf("counted %d requests, want 2", n)
	}
}

func TestRunTimed(t *testing.T) {
	wall, cpu, err := runTimed(context.Background(), []string{"sh", "-c", "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done"}, nil, "")
	if err != nil || cpu <= 0 || wall <= 0 {
		t.Fatalf("busy loop: wall %v, cpu %v, %v; want both > 0", wall, cpu, err)
	}
	_, _, err = runTimed(context.Background(), []string{"sh", "-c", "echo why >&2; exit 3"}, nil, "")
	if err == nil || !strings.Contains(err.Error(), "why") {
		t.Errorf("failing command: %v; want an error with its output", err)
	}
}

// TestPrivacyTargets: the privacy variant is judged against efs's own
// numbers from the same run, and only when both were measured.
func TestPrivacyTargets(t *testing.T) {
	r := newResults()
	if ts := r.evaluatePrivacy(); len(ts) != 0 {
		t.Errorf("no measurements: %+v, want no targets", ts)
	}
	r.add(mSeqWarm, toolEFS, 1000)
	r.add(mSeqWarm, toolPriv, 950) // 95%: PASS
	r.add(mRsyncFull, toolEFS, 4)
	r.add(mRsyncFull, toolPriv, 4.6) // 1.15×: FAIL
	r.add(mIncrFiles, toolEFS, 286)
	r.add(mIncrFiles, toolPriv, 286)
	got := map[string]string{}
	for _, tg := range r.evaluatePrivacy() {
		got[tg.goal[:strings.Index(tg.goal, " with")]] = tg.status
	}
	want := map[string]string{"seq read (warm)": "PASS", "full rsync": "FAIL", "incremental rsync": "PASS"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("targets %v, want %v", got, want)
	}
	table := r.rowsTable(privacyDefs(), strings.NewReplacer("BIG", "1 GiB", "tree", "the tree"))
	if !strings.Contains(table, "| seq read 1 GiB, plaintext warm, the same | 950 MB/s | efs defaults | 1000 MB/s | 0.95× | higher |") {
		t.Errorf("privacy table:\n%s", table)
	}
}

// TestScaleOptIn: the scale workload runs only when -only names it, and
// its counts are checked.
func TestScaleOptIn(t *testing.T) {
	o, err := parseFlags(nil)
	if err != nil || o.want("scale") || !o.want("rsync") || len(o.scaleEntries) != 2 {
		t.Fatalf("default run: want(scale) %v, want(rsync) %v, %v, %v", o.want("scale"), o.want("rsync"), o.scaleEntries, err)
	}
	o, err = parseFlags([]string{"-only", "scale", "-scale-entries", "5000, 20000"})
	if err != nil || !o.want("scale") || o.want("rsync") || len(o.scaleEntries) != 2 || o.scaleEntries[1] != 20000 {
		t.Fatalf("-only scale: %+v, %v", o, err)
	}
	for _, bad := range []string{"", "10", "1000,x", "-5000"} {
		if _, err := parseFlags([]string{"-scale-entries", bad}); err == nil {
			t.Errorf("-scale-entries %q accepted", bad)
		}
	}
}

// TestScaleTree writes a small scale tree, counts it and removes it.
func TestScaleTree(t *testing.T) {
	root := t.TempDir() + "/tree"
	entries, err := writeScaleTree(context.Background(), root, 2500)
	if err != nil || entries != 2503 {
		t.Fatalf("writeScaleTree: %d entries, %v", entries, err)
	}
	files, _, err := countTree(root)
	if err != nil || files != 2500 {
		t.Fatalf("%d files, %v", files, err)
	}
	if err := removeTree(root); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(root); !os.IsNotExist(err) {
		t.Errorf("tree still there: %v", err)
	}
	if err := removeTree(root); err != nil {
		t.Errorf("removing a missing tree: %v", err)
	}
}

// TestScratchFS makes, fills and removes a scale tree's own filesystem:
// nothing may stay behind (no mount, no loop device, no image).
func TestScratchFS(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("a loop device needs root")
	}
	if _, err := os.Stat("/dev/loop-control"); err != nil {
		t.Skip("no loop devices here:", err)
	}
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "scale")
	size, inodes := scratchSize(20000)
	s, err := mountScratch(ctx, dir, size, inodes)
	if err != nil {
		t.Fatal(err)
	}
	if mounted, err := isMounted(dir); err != nil || !mounted {
		t.Fatalf("%s mounted: %v, %v", dir, mounted, err)
	}
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	if int(st.Files) < inodes {
		t.Errorf("the filesystem has %d inodes, asked for %d", st.Files, inodes)
	}
	if _, err := writeScaleTree(ctx, filepath.Join(dir, "tree"), 3000); err != nil {
		t.Fatal(err)
	}
	if err := s.remove(ctx); err != nil {
		t.Fatal(err)
	}
	if mounted, _ := isMounted(dir); mounted {
		t.Errorf("%s still mounted", dir)
	}
	for _, p := range []string{dir, s.img} {
		if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left behind: %v", p, err)
		}
	}
	out, err := exec.Command("losetup", "--associated", s.img).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) != 0 {
		t.Errorf("a loop device still holds the image: %s %v", out, err)
	}
}
