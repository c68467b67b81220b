package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/gofrs/flock"

	"github.com/phonewatch/phonewatch/internal/app"
	"github.com/phonewatch/phonewatch/internal/config"
	"github.com/phonewatch/phonewatch/internal/monitor"
	"github.com/phonewatch/phonewatch/internal/status"
	"github.com/phonewatch/phonewatch/internal/store"
)

// defaultStateFile is where a local run keeps state when neither --state nor STATE_TABLE says.
const defaultStateFile = ".phonewatch-state.json"

// stateHelp describes --state for check and status.
const stateHelp = "keep state in `FILE` (default " + defaultStateFile + ", or the DynamoDB table STATE_TABLE when set)"

// where says where state lives: a file (the one given, or the default), or STATE_TABLE when no
// file is given and it is set. Exactly one of file and table is non-empty.
func where(path string, cfg config.Config) (file, table string) {
	switch {
	case path != "":
		return path, ""
	case cfg.StateTable != "":
		return "", cfg.StateTable
	default:
		return defaultStateFile, ""
	}
}

// openStore opens the state and reads it once, so that a corrupt file or a missing table is
// one clear error now, not the monitor's retries later. For a table it also returns the time
// AWS's answer was sent (its Date header), zero when unknown.
func openStore(ctx context.Context, file, table string, awsCfg aws.Config) (monitor.Store, time.Time, error) {
	if table != "" {
		client := app.NewDynamo(awsCfg)
		serverTime, err := checkTable(ctx, client, table, awsCfg.Region)
		if err != nil {
			return nil, time.Time{}, err
		}
		return store.NewDynamo(client, table), serverTime, nil
	}
	if dir := filepath.Dir(file); dir != "" {
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			return nil, time.Time{}, fmt.Errorf("state file %s: its directory %s does not exist (create it, or choose another --state)", file, dir)
		}
	}
	f := store.NewFile(file)
	if err := checkFile(ctx, f); err != nil {
		return nil, time.Time{}, err
	}
	return f, time.Time{}, nil
}

// checkSkew refuses to write a shared table with a clock that disagrees with AWS's by more
// than status.WriterSkew: the deployed function would take this run's checks for stamps from the
// future (or its claims for stale ones). A zero server time (no Date header) is not checked.
func checkSkew(local, server time.Time, table string) error {
	if server.IsZero() {
		return nil
	}
	skew := local.Sub(server)
	if skew.Abs() <= status.WriterSkew {
		return nil
	}
	dir := "ahead of"
	if skew < 0 {
		dir = "behind"
	}
	return fmt.Errorf("this computer's clock is %s %s AWS's (%s by the table's answer, more than the %s tolerated): "+
		"set the clock right (e.g. enable NTP) before writing STATE_TABLE=%s, or use --dry-run",
		skew.Abs().Round(time.Second), dir, server.UTC().Format(time.RFC3339), status.WriterSkew, table)
}

// lockState takes <file>.lock for the run, so that two local runs on one state file cannot
// both decide and send the same notification: the second fails at once. unlock removes the
// lock file while still holding it; a run that opened the old file before then finds, once
// locked, that the path no longer names what it holds, and tries again on the new one.
func lockState(file string) (unlock func(), err error) {
	path := file + ".lock"
	for range 3 {
		l := flock.New(path, flock.SetPermissions(0o600))
		ok, err := l.TryLock()
		if err != nil {
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if !ok {
			return nil, fmt.Errorf("another phonewatch check is running on %s (it holds %s): wait for it to finish, or use another --state", file, path)
		}
		if sameFile(l, path) {
			return func() {
				_ = os.Remove(path)
				_ = l.Unlock()
			}, nil
		}
		_ = l.Unlock() // the holder removed it meanwhile: lock the one now at the path
	}
	return nil, fmt.Errorf("lock %s: it keeps being replaced; is another phonewatch check starting and stopping on %s?", path, file)
}

// sameFile reports whether the locked file is still the one at path.
func sameFile(l *flock.Flock, path string) bool {
	held, err := l.Stat()
	if err != nil {
		return false
	}
	now, err := os.Stat(path)
	return err == nil && os.SameFile(held, now)
}
