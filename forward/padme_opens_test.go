//go:build linux

package forward

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/efs-project/efs/config"
	"github.com/efs-project/efs/internal/slowfs"
	"github.com/efs-project/efs/internal/testenv"
)

// TestPaddedOpensOnce: fsck and restore of a padded backup open each file
// once, as of an unpadded one: the listing does not read the trailers the
// walk's own opens read anyway (through a remote each open is a round
// trip). slowfs counts the opens, listings and lookups it answers.
func TestPaddedOpensOnce(t *testing.T) {
	testenv.RequireFUSE(t)
	answers := func(v *v2) (check, restore int64) {
		mnt := t.TempDir()
		s, err := slowfs.Mount(v.cipher, mnt, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Unmount()
		b, err := New(mnt, v.keys, v.settings)
		if err != nil {
			t.Fatal(err)
		}
		before := s.Waits()
		if rep, err := Check(context.Background(), b, WalkOptions{}); err != nil || len(rep.Failures) != 0 {
			t.Fatalf("Check: %v %+v", err, rep.Failures)
		}
		check = s.Waits() - before
		before = s.Waits()
		if rep, err := Restore(context.Background(), b, filepath.Join(t.TempDir(), "out"), nil, WalkOptions{}); err != nil || len(rep.Failures) != 0 {
			t.Fatalf("Restore: %v %+v", err, rep.Failures)
		}
		return check, s.Waits() - before
	}
	pc, pr := answers(newPadded(t))
	plain := newV2(t, config.Defaults(), newPaddedFiles)
	uc, ur := answers(plain)
	if pc != uc || pr != ur {
		t.Errorf("padded backup: fsck %d and restore %d answers, unpadded %d and %d", pc, pr, uc, ur)
	}
}
