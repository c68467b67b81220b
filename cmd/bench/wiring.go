package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	sdkconnect "github.com/aws/aws-sdk-go-v2/service/connect"

	"github.com/phonewatch/phonewatch/internal/connect"
	"github.com/phonewatch/phonewatch/internal/connect/connecttest"
	"github.com/phonewatch/phonewatch/internal/monitor"
	"github.com/phonewatch/phonewatch/internal/status"
)

// benchRegion is the Region of every client the benchmark builds; connecttest ignores it.
const benchRegion = "us-east-1"

// newMonitor wires a monitor as cmd/handler's newMonitor does (connect.New with its limiter,
// the same InFlight formula, the same FinishReserve), with the Connect endpoint pointed at
// endpoint, state in st and every notification discarded by pub.
func newMonitor(ctx context.Context, endpoint string, rps float64, burst int, st monitor.Store, pub monitor.Publisher) (*monitor.Monitor, error) {
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx,
		awsconfig.WithRegion(benchRegion),
		awsconfig.WithCredentialsProvider(aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "bench", SecretAccessKey: "bench", Source: "phonewatch bench"}, nil
		})),
	)
	if err != nil {
		return nil, fmt.Errorf("AWS configuration: %w", err)
	}
	return &monitor.Monitor{
		Source: connect.New(awsCfg, rps, burst, func(o *sdkconnect.Options) {
			o.BaseEndpoint = aws.String(endpoint)
		}),
		Store:         st,
		Publisher:     pub,
		Policy:        status.DefaultPolicy(),
		Now:           time.Now,
		InFlight:      monitor.InFlightFor(rps, burst),
		FinishReserve: 2 * time.Second,
		Log:           slog.New(slog.DiscardHandler),
	}, nil
}

func newRunID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on Linux
	return hex.EncodeToString(b)
}

// discard is a monitor.Publisher that accepts every notification and sends nothing, so that
// a run measures Connect, the monitor and the store, not SNS.
type discard struct{ accepted atomic.Int64 }

func (d *discard) Publish(_ context.Context, ns []status.Notification) []error {
	d.accepted.Add(int64(len(ns)))
	return make([]error, len(ns))
}

// seed puts n well-formed numbers on srv and returns their IDs. One in a hundred is FAILED and
// one in a hundred IN_PROGRESS, so that a run also decides, claims, notifies and saves twice.
func seed(srv *connecttest.Server, n int) []string {
	ids := make([]string, n)
	sums := make([]status.Summary, n)
	for i := range n {
		id := fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i)
		st, msg := "CLAIMED", ""
		switch i % 100 {
		case 1:
			st, msg = "FAILED", "The phone number could not be claimed."
		case 2:
			st = "IN_PROGRESS"
		}
		ids[i] = id
		sums[i] = connecttest.NewSummary(id, fmt.Sprintf("+1800%07d", i), "", st, msg)
	}
	srv.Put(sums...)
	return ids
}
