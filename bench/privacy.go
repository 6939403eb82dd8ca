//go:build linux

package main

import "fmt"

// privacyFlags are efs init's options for toolPriv: both privacy options
// of issue 11, so the table shows their combined cost.
var privacyFlags = []string{"--padding", "padme", "--hide-metadata"}

// mainTools are the tools of the main table: efs and its peers, without
// the privacy variant, which has a table of its own.
func (b *bench) mainTools() []*tool {
	var ts []*tool
	for _, t := range b.tools {
		if t.name != toolPriv {
			ts = append(ts, t)
		}
	}
	return ts
}

// privacyDefs are the rows of the privacy table: efs with both options
// against efs's defaults, measured in the same repetitions.
func privacyDefs() []compareDef {
	const ref = "efs defaults"
	row := func(label, id string, format func(float64) string, higher bool) compareDef {
		return compareDef{label: label, id: id, key: toolPriv, refName: ref, refID: id, refKey: toolEFS, format: format, higherIsBetter: higher}
	}
	mbs := func(v float64) string { return fmt.Sprintf("%.0f MB/s", v) }
	count := func(v float64) string { return fmt.Sprintf("%.0f", v) }
	return []compareDef{
		row("seq read BIG, plaintext cold, --padding padme --hide-metadata", mSeqCold, mbs, true),
		row("seq read BIG, plaintext warm, the same", mSeqWarm, mbs, true),
		row("  daemon CPU per GB read (warm)", mSeqCPU, fmtSecs, false),
		row("find -ls, tree", mFind, fmtSecs, false),
		row("rsync -a, full copy of tree", mRsyncFull, fmtSecs, false),
		row("  daemon CPU during full copy", mRsyncCPU, fmtSecs, false),
		row("rsync -a, after 1% changed", mRsyncIncr, fmtSecs, false),
		row("  files transferred", mIncrFiles, count, false),
		row("ls -l, one directory of {entries} entries", mLs, fmtSecs, false),
		row("reverse daemon peak RSS (VmHWM)", mRSS, func(v float64) string { return fmt.Sprintf("%.0f MiB", v/(1<<20)) }, false),
	}
}

// evaluatePrivacy checks issue 11's targets: with both options, sequential
// reads and a full rsync at most 10% slower than efs's defaults, and an
// incremental rsync that moves the same files.
func (r *results) evaluatePrivacy() []target {
	var ts []target
	both := func(id string) (float64, float64, bool) {
		a, ok1 := r.get(id, toolPriv)
		d, ok2 := r.get(id, toolEFS)
		return a, d, ok1 && ok2 && d > 0
	}
	status := map[bool]string{true: "PASS", false: "FAIL"}
	if a, d, ok := both(mSeqWarm); ok {
		ts = append(ts, target{"seq read (warm) with padding + hidden metadata ≥ 90% of efs defaults", status[a >= 0.9*d],
			fmt.Sprintf("%.0f vs %.0f MB/s = %.0f%%", a, d, 100*a/d)})
	}
	if a, d, ok := both(mRsyncFull); ok {
		ts = append(ts, target{"full rsync with padding + hidden metadata ≤ 1.1× efs defaults", status[a <= 1.1*d],
			fmt.Sprintf("%.2f vs %.2f s = %.2f×", a, d, a/d)})
	}
	if a, d, ok := both(mIncrFiles); ok {
		ts = append(ts, target{"incremental rsync with padding + hidden metadata moves the files efs defaults move", status[a == d],
			fmt.Sprintf("%.0f vs %.0f files", a, d)})
	}
	return ts
}

// privacyMethod is the privacy table's paragraph of the report's Method.
const privacyMethod = `- Privacy options: efs-private is efs with a config made by efs init --padding padme
  --hide-metadata over the same plaintext, measured in the same repetitions as efs (the tools
  alternate) through seq, find, ls and rsync, and compared with efs's defaults.
`
