package main

import (
	"context"
	"time"

	"github.com/phonewatch/phonewatch/internal/monitor"
	"github.com/phonewatch/phonewatch/internal/status"
)

// readOnly is the state of a dry run: it reads the real state and writes nothing. Save
// reports every record written (so the monitor goes on to "publish", to the printer, exactly
// as a real run would) and SetCursor keeps nothing, so a dry run against a shared table never
// marks a notification sent, never claims a record, and never moves the CloudTrail cursor.
type readOnly struct {
	monitor.Store
}

var (
	_ monitor.Store  = readOnly{}
	_ monitor.Cursor = readOnly{}
)

// Save writes nothing and reports no conflict.
func (readOnly) Save(context.Context, []status.Record) ([]string, error) { return nil, nil }

// Cursor reads the real cursor when the store keeps one: a dry run reads what a real run would.
func (r readOnly) Cursor(ctx context.Context) (time.Time, error) {
	if c, ok := r.Store.(monitor.Cursor); ok {
		return c.Cursor(ctx)
	}
	return time.Time{}, nil
}

// SetCursor keeps nothing.
func (readOnly) SetCursor(context.Context, time.Time) error { return nil }
