package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/phonewatch/phonewatch/internal/app"
	"github.com/phonewatch/phonewatch/internal/notify"
	"github.com/phonewatch/phonewatch/internal/status"
)

// newTest is `phonewatch test`.
func newTest(e env, g *globals) *cobra.Command {
	timeout := 30 * time.Second
	cmd := &cobra.Command{
		Use:   "test",
		Short: "publish one TEST notification to TOPIC_ARN so every subscriber can be seen to get it",
		Long: `Publishes one TEST notification to TOPIC_ARN through the same path as every notification
(all protocol keys, message attributes with event = TEST), so that each subscriber (email,
Slack, queues) can be seen to receive it: step one after a deploy. A subscription whose
filter policy passes only some events (e.g. FAILED and EXPIRED) does not get it, by design.
Prints the notification ID and the SNS message ID.`,
		Annotations:       map[string]string{"exit": exitStatusHelp},
		Example:           `  TOPIC_ARN=arn:aws:sns:us-east-1:123456789012:phonewatch phonewatch test`,
		Args:              noArgs,
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return code(testCmd(cmd.Context(), *g, timeout, e))
		},
	}
	cmd.Flags().Var((*duration)(&timeout), "timeout", "give up publishing after this long (with a unit: 30s)")
	return cmd
}

// testCmd publishes one TEST notification and prints its IDs.
func testCmd(ctx context.Context, g globals, timeout time.Duration, e env) int {
	fail := failer(e.stderr)
	cfg, err := loadConfig(e.stderr)
	if err != nil {
		return fail("%v", err)
	}
	if cfg.TopicARN == "" {
		return fail("set TOPIC_ARN to the SNS topic to test (the stack's output TopicArn)")
	}
	awsCfg, err := loadAWS(ctx, g, "publish to TOPIC_ARN", logger(e.stderr, g.verbose))
	if err != nil {
		return fail("%v", err)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	n := notify.TestNotification(cfg.TopicARN, wallClock().UTC())
	ids := &messageIDs{}
	pub := app.NewPublisher(cfg, app.NewSNS(awsCfg, ids.option), logger(e.stderr, g.verbose))
	if err := pub.Publish(ctx, []status.Notification{n})[0]; err != nil {
		return fail("%v", err)
	}
	report(e.stdout, n, cfg.TopicARN, ids.take(n.ID))
	return exitOK
}

func report(w io.Writer, n status.Notification, topic, messageID string) {
	_, _ = fmt.Fprintf(w, "Published a TEST notification to %s\n  notificationId: %s\n  SNS message ID: %s\n"+
		"Check that every subscriber (email, Slack, queues) received it.\n", topic, n.ID, orDash(messageID))
}
