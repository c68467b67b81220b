package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/phonewatch/phonewatch/internal/cloudtrail/cloudtrailtest"
	"github.com/phonewatch/phonewatch/internal/connect/connecttest"
	"github.com/phonewatch/phonewatch/internal/status"
)

// TestFleetWiring: the monitor wired through app.NewMonitor and the services config file
// reaches both test servers; a run right after a full one describes nothing; a failed
// UpdatePhoneNumber shown by CloudTrail is described and announced by the next run alone.
func TestFleetWiring(t *testing.T) {
	ctx := context.Background()
	f := &fleet{
		connect: connecttest.NewServer(), trail: cloudtrailtest.NewServer(),
		store: newMemStore(), pub: newRecorder(), clock: newSimClock(time.Now().UTC().Truncate(time.Second)),
	}
	defer f.connect.Close()
	defer f.trail.Close()
	const n = 30
	for i := range n {
		f.connect.Put(connecttest.NewSummary(fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i), fmt.Sprintf("+1800%07d", i), "", "CLAIMED", ""))
	}
	if err := f.wire(ctx, t.TempDir(), map[string]string{"CONNECT_RPS": "500", "CONNECT_BURST": "10"}); err != nil {
		t.Fatal(err)
	}
	if f.reader == nil {
		t.Fatal("CLOUDTRAIL defaults to on, but the monitor has no CloudTrail reader")
	}
	first, err := f.run(ctx, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if first.describes != n || first.store.Writes != n || first.lookups < 3 {
		t.Fatalf("first run: %d describes, %d writes, %d lookups; want %d, %d, at least 3", first.describes, first.store.Writes, first.lookups, n, n)
	}
	quiet, err := f.run(ctx, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if quiet.describes != 0 || quiet.store.Writes != 0 || quiet.sum.Unchanged != n {
		t.Errorf("run after a full one: %d describes, %d writes, %d unchanged; want 0, 0, %d", quiet.describes, quiet.store.Writes, quiet.sum.Unchanged, n)
	}

	victim := fmt.Sprintf("%08x-0000-4000-8000-%012x", 7, 7)
	f.trail.Add(cloudtrailtest.Update(victim, connecttest.DefaultInstanceARN, operator, f.clock.Now().Add(-time.Minute)))
	f.connect.SetStatus(victim, string(status.Failed), "The phone number update failed.")
	a, err := f.untilAnnounced(ctx, victim, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if a.runs != 1 || a.describes != 1 || a.throttled != 0 {
		t.Errorf("announcement: %+v; want the next run, describing only the touched number, unthrottled", a)
	}
}
