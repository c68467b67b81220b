package sim

import (
	"testing"
	"time"

	"github.com/phonewatch/phonewatch/internal/status"
)

// The store hands each run a copy it may change freely: nothing of the stored record is shared.
func TestDeepCopyShares(t *testing.T) {
	at := time.Date(2026, 11, 20, 1, 2, 3, 4, time.UTC)
	orig := status.Record{
		Number:    status.Number{ID: "n"},
		Episode:   &status.Episode{FailedSince: at, Operation: &status.Operation{Name: status.OpClaim, At: at}},
		Operation: &status.Operation{Name: status.OpUpdate, At: at},
		Attempted: []string{"a"},
		CheckedAt: at,
	}
	c := deepCopy(orig)
	c.Episode.FailedSince = at.Add(time.Hour)
	c.Episode.Operation.By = "x"
	c.Operation.By = "y"
	c.Attempted[0] = "b"
	if !orig.Episode.FailedSince.Equal(at) || orig.Episode.Operation.By != "" || orig.Operation.By != "" ||
		orig.Attempted[0] != "a" {
		t.Fatalf("the copy shares state with the original: %+v", orig)
	}
	if !c.CheckedAt.Equal(at) || c.ID != "n" {
		t.Fatalf("the copy lost values: %+v", c)
	}
}

// A world is a function of its seed: the same seed gives the same runs, notifications and
// findings, so that a printed seed replays what failed.
func TestWorldReplays(t *testing.T) {
	for _, seed := range []uint64{8, 28, 652} {
		a, b := NewWorld(seed).Run(), NewWorld(seed).Run()
		if a.Runs != b.Runs || a.Judged != b.Judged || len(a.Violations) != len(b.Violations) {
			t.Fatalf("seed %d: %d/%d/%d then %d/%d/%d runs/judged/violations", seed, a.Runs, a.Judged,
				len(a.Violations), b.Runs, b.Judged, len(b.Violations))
		}
		for i := range a.Violations {
			if a.Violations[i] != b.Violations[i] {
				t.Fatalf("seed %d: %s then %s", seed, a.Violations[i], b.Violations[i])
			}
		}
	}
}
