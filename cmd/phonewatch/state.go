package main

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/gofrs/flock"

	"github.com/phonewatch/phonewatch/internal/app"
	"github.com/phonewatch/phonewatch/internal/config"
	"github.com/phonewatch/phonewatch/internal/monitor"
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
// one clear error now, not the monitor's retries later.
func openStore(ctx context.Context, file, table string, awsCfg aws.Config) (monitor.Store, error) {
	if table != "" {
		client := app.NewDynamo(awsCfg)
		if err := checkTable(ctx, client, table, awsCfg.Region); err != nil {
			return nil, err
		}
		return store.NewDynamo(client, table), nil
	}
	f := store.NewFile(file)
	if err := checkFile(ctx, f); err != nil {
		return nil, err
	}
	return f, nil
}

// lockState takes <file>.lock for the run, so that two local runs on one state file cannot
// both decide and send the same notification: the second fails at once. The lock file stays
// (removing it would race with a run that just opened it); `make reset` removes it.
func lockState(file string) (unlock func(), err error) {
	l := flock.New(file+".lock", flock.SetPermissions(0o600))
	ok, err := l.TryLock()
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", l.Path(), err)
	}
	if !ok {
		return nil, fmt.Errorf("another phonewatch check is running on %s (it holds %s): wait for it to finish, or use another --state", file, l.Path())
	}
	return func() { _ = l.Unlock() }, nil
}
