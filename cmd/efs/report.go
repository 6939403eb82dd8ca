package main

// Rendering of what export, restore and fsck report: one progress line and
// one failure list for all three.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/efs-project/efs/forward"
	"github.com/efs-project/efs/internal/report"
	"golang.org/x/term"
)

// progress keeps a one-line status on stderr while it is a terminal:
// files, bytes, rate and, once the total is known, percent and ETA.
// Silent in scripts. Safe for concurrent use.
type progress struct {
	verb  string
	on    bool
	start time.Time
	files atomic.Int64
	bytes atomic.Int64
	total atomic.Int64 // bytes expected; 0 while unknown

	mu   sync.Mutex
	last time.Time
}

func newProgress(verb string, quiet bool) *progress {
	now := time.Now()
	return &progress{verb: verb, on: !quiet && term.IsTerminal(int(os.Stderr.Fd())), start: now, last: now}
}

// add is a report.Progress.
func (p *progress) add(files int, bytes int64) {
	p.files.Add(int64(files))
	p.bytes.Add(bytes)
	if !p.on {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if time.Since(p.last) < 200*time.Millisecond {
		return
	}
	p.last = time.Now()
	fmt.Fprintf(os.Stderr, "\r\033[K%s", p.line())
}

// line is the status text.
func (p *progress) line() string {
	done := p.bytes.Load()
	s := fmt.Sprintf("%s %d files, %s (%s)", p.verb, p.files.Load(), mib(done), p.rate())
	total := p.total.Load()
	if total > 0 && done <= total {
		secs := time.Since(p.start).Seconds()
		s += fmt.Sprintf(", %d%% of %s", done*100/total, mib(total))
		if done > 0 && secs > 1 {
			eta := time.Duration(float64(total-done) / (float64(done) / secs) * float64(time.Second))
			s += ", ETA " + eta.Round(time.Second).String()
		}
	}
	return s
}

// countTotal sums the sizes of the regular files below dir in the
// background, for percent and ETA; a rough total (ciphertext sizes) is
// enough. Only when the line is shown.
func (p *progress) countTotal(dir string) {
	if !p.on {
		return
	}
	go func() {
		var total int64
		filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() {
				if fi, err := d.Info(); err == nil {
					total += fi.Size()
				}
			}
			return nil
		})
		p.total.Store(total)
	}()
}

func (p *progress) rate() string {
	secs := time.Since(p.start).Seconds()
	if secs <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f MB/s", float64(p.bytes.Load())/1e6/secs)
}

func (p *progress) elapsed() float64 { return time.Since(p.start).Seconds() }

// done clears the status line. It is called once the walk has returned,
// when no more add calls can come; on is never written after
// newProgress, so add may read it without the lock.
func (p *progress) done() {
	if p.on {
		p.mu.Lock()
		fmt.Fprint(os.Stderr, "\r\033[K")
		p.mu.Unlock()
	}
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// reportFailures lists the failed entries for the user and returns the
// exit-9 error, or nil. Plaintext paths are shown only when showPlain is
// set (the user's own terminal), and never end up in a log; the stored
// (view or ciphertext) path is always shown. what finishes the summary
// ("could not be restored").
func reportFailures(w io.Writer, what string, fails []report.Failure, showPlain bool) error {
	if len(fails) == 0 {
		return nil
	}
	n := len(fails)
	fmt.Fprintf(w, "%d %s failed:\n", n, plural(n, "entry", "entries"))
	listEntries(w, "FAILED", fails, showPlain)
	return withCode(exitIntegrity, fmt.Errorf("%d %s %s (listed above)", n, plural(n, "entry", "entries"), what))
}

// reportOutOfSync lists the entries of a format v2 backup that differ
// from their directory records, apart from damage: a sync tool copied the
// record and the entry at different moments, or the storage rolled one
// back. It returns the exit-11 error, or nil.
func reportOutOfSync(w io.Writer, entries []report.Failure, showPlain bool) error {
	if len(entries) == 0 {
		return nil
	}
	n := len(entries)
	fmt.Fprintf(w, "%d %s from %s directory %s (changed while the upload ran, or rolled back by the storage); run the sync again, then efs fsck:\n",
		n, plural(n, "entry differs", "entries differ"), plural(n, "its", "their"), plural(n, "record", "records"))
	listEntries(w, "DIFFERS", entries, showPlain)
	return withCode(exitOutOfSync, fmt.Errorf("%d %s out of sync with %s directory %s (listed above)",
		n, plural(n, "entry", "entries"), plural(n, "its", "their"), plural(n, "record", "records")))
}

// listEntries writes one block per entry, its first line starting with
// tag, the lines after it indented under the path.
func listEntries(w io.Writer, tag string, fails []report.Failure, showPlain bool) {
	indent := strings.Repeat(" ", len("  ")+len(tag)+len(" "))
	for _, f := range fails {
		// Stored names come from the storage: never raw to the terminal.
		stored := quote(f.Stored)
		if f.Stored == "" {
			stored = "/"
		}
		msg := printable(failureReason(f))
		switch {
		case f.Stored == "" && f.Path == "":
			fmt.Fprintf(w, "  %s / (the root)\n%s%s\n", tag, indent, msg)
		case showPlain && f.Path != "":
			fmt.Fprintf(w, "  %s %s\n%sciphertext %s\n%s%s\n", tag, quote(f.Path), indent, stored, indent, msg)
		case showPlain:
			fmt.Fprintf(w, "  %s ciphertext %s (plaintext name not recoverable)\n%s%s\n", tag, stored, indent, msg)
		default:
			fmt.Fprintf(w, "  %s %s\n%s%s\n", tag, stored, indent, msg)
		}
	}
}

// v1Notice says, once, that a format v1 backup's modes, owners and times
// are the storage's: nothing authenticates them.
func v1Notice(w io.Writer) {
	fmt.Fprintln(w, "note: a format v1 backup: modes, owners and times come from the storage, unauthenticated (format v2 carries them in authenticated directory records)")
}

// failureReason words a failure without repeating its path: library
// errors may start with the stored path, and os errors carry a path of
// their own that is dropped for their cause.
func failureReason(f report.Failure) string {
	err := f.Err
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Err != nil {
		if pe.Path == f.Stored || strings.TrimPrefix(f.Stored, "/") == pe.Path {
			return pe.Op + ": " + pe.Err.Error()
		}
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Op + ": " + le.Err.Error()
	}
	msg := err.Error()
	for _, p := range []string{f.Stored, strings.TrimPrefix(f.Stored, "/")} {
		if p != "" {
			msg = strings.TrimPrefix(msg, p+": ")
		}
	}
	return msg
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// printable escapes what a terminal would act on (control bytes, invalid
// UTF-8) in a message that may embed names from the storage.
func printable(s string) string {
	q := strconv.Quote(s)
	if q[1:len(q)-1] == s {
		return s
	}
	return q[1 : len(q)-1]
}

// quote shows a plaintext path on one line, readably: as it is when it is
// printable UTF-8 without spaces, else Go-quoted with escapes (so a
// non-UTF-8 or control byte never reaches the terminal raw).
func quote(s string) string {
	q := strconv.Quote(s)
	if q[1:len(q)-1] == s && !strings.ContainsAny(s, " :") {
		return s
	}
	return q
}

// interruptible is a context cancelled by the first SIGINT or SIGTERM, so
// a walk can stop between files and remove its temporary files; a second
// signal kills the process as usual.
func interruptible() (context.Context, context.CancelFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop() // restore the default action for the next signal
	}()
	return ctx, stop
}

// maxForeignShown bounds the foreign names listed on one line.
const maxForeignShown = 10

// reportForeign says which stored names were ignored as foreign (not efs
// names: a sync tool's or the storage's own files). They are not damage.
func reportForeign(w io.Writer, foreign []string) {
	n := len(foreign)
	if n == 0 {
		return
	}
	shown := make([]string, 0, min(n, maxForeignShown))
	for _, p := range foreign[:min(n, maxForeignShown)] {
		shown = append(shown, quote(p))
	}
	more := ""
	if n > maxForeignShown {
		more = fmt.Sprintf(", … (%d more)", n-maxForeignShown)
	}
	fmt.Fprintf(w, "%d foreign %s ignored (not efs names, e.g. a sync tool's own files): %s%s\n",
		n, plural(n, "entry", "entries"), strings.Join(shown, ", "), more)
}

// reportRenamed lists, on the user's own terminal and never in a log, the
// entries a restore onto Windows wrote under another name (Windows cannot
// hold theirs), and counts the entries whose xattrs it could not keep.
func reportRenamed(w io.Writer, renamed []forward.Renamed, xattrsLost int64) {
	if n := len(renamed); n > 0 {
		fmt.Fprintf(w, "%d %s written under another name (Windows cannot hold theirs; the mapping is reversible):\n",
			n, plural(n, "entry", "entries"))
		for _, r := range renamed {
			fmt.Fprintf(w, "  %s as %s\n", quote(r.Rel), quote(r.As))
		}
	}
	if xattrsLost > 0 {
		fmt.Fprintf(w, "%d %s had xattrs or ACLs, not restored: Windows has nowhere to keep them\n",
			xattrsLost, plural(int(xattrsLost), "entry", "entries"))
	}
}
