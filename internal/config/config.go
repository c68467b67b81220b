// Package config reads phonewatch's configuration from the environment (DESIGN.md
// "Configuration"), validating every value at start so that a bad one fails at once, by name.
package config

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // DISPLAY_TIMEZONE everywhere: provided.al2023 has no zoneinfo

	"github.com/phonewatch/phonewatch/internal/status"
)

// The environment variables, as DESIGN.md names them.
const (
	TopicARN       = "TOPIC_ARN"
	StateTable     = "STATE_TABLE"
	TargetARNs     = "TARGET_ARNS"
	PhoneNumberIDs = "PHONE_NUMBER_IDS"
	RetryWindow    = "RETRY_WINDOW"
	Reminders      = "REMINDERS"
	StuckAfter     = "STUCK_AFTER"
	NotifyRecovery = "NOTIFY_RECOVERY"
	ConnectRPS     = "CONNECT_RPS"
	ConnectBurst   = "CONNECT_BURST"
	CloudTrail     = "CLOUDTRAIL"
	SweepEvery     = "SWEEP_EVERY"
	// PhoneNumberQuota is the account's phone-number quota for the claim/release budget.
	PhoneNumberQuota = "PHONE_NUMBER_QUOTA"
	// DisplayTimezone is an optional IANA time zone name: messages show local time beside UTC.
	DisplayTimezone = "DISPLAY_TIMEZONE"
)

// MaxPhoneNumberQuota bounds PHONE_NUMBER_QUOTA: far above any quota Connect grants, low
// enough that 2 x quota cannot overflow.
const MaxPhoneNumberQuota = 10_000_000

// Variables returns every environment variable the code reads for its configuration (the SAM
// template must set each of them, and no other).
func Variables() []string {
	return []string{TopicARN, StateTable, TargetARNs, PhoneNumberIDs, RetryWindow, Reminders,
		StuckAfter, NotifyRecovery, ConnectRPS, ConnectBurst, CloudTrail, SweepEvery, PhoneNumberQuota, DisplayTimezone}
}

// Config is a validated configuration.
type Config struct {
	TopicARN       string
	StateTable     string
	TargetARNs     []string
	PhoneNumberIDs []string
	Policy         status.Policy
	ConnectRPS     float64
	ConnectBurst   int
	// CloudTrail: read Connect phone-number operations from CloudTrail's event history.
	CloudTrail bool
	// SweepEvery is how often a number that cannot have changed is described again.
	SweepEvery time.Duration
	// PhoneNumberQuota is PHONE_NUMBER_QUOTA: the claim/release budget's limit is twice it.
	// 0 (unset) means: read it from Service Quotas where possible.
	PhoneNumberQuota int
	// Location is DISPLAY_TIMEZONE's zone, nil when unset (UTC only).
	Location *time.Location
	// Warnings are problems that did not fail the configuration (e.g. a default that cannot
	// apply and was dropped); the caller logs each once.
	Warnings []string
}

// Checks validates identifiers; the handler passes Connect's format checks so that this package
// stays free of them.
type Checks struct {
	TargetARN      func(string) error
	PhoneNumberRef func(string) error
}

// Load reads the configuration through lookup (os.LookupEnv in production). An empty value
// means the default. Under Lambda, TOPIC_ARN and STATE_TABLE are required; a local run may
// print notifications and keep state in a file instead. All problems are reported together.
func Load(lookup func(string) (string, bool), underLambda bool, checks Checks) (Config, error) {
	get := func(name string) string {
		v, _ := lookup(name)
		return strings.TrimSpace(v)
	}
	var errs []error
	fail := func(name, value, rule string) {
		errs = append(errs, fmt.Errorf("%s=%s: %s", name, status.Quote(value, 60), rule))
	}
	c := Config{Policy: status.DefaultPolicy(), ConnectRPS: 2, ConnectBurst: 5, CloudTrail: true, SweepEvery: time.Hour}

	c.TopicARN = get(TopicARN)
	if c.TopicARN == "" && underLambda {
		fail(TopicARN, "", "required: the SNS topic ARN that receives every notification")
	} else if c.TopicARN != "" && !strings.HasPrefix(c.TopicARN, "arn:") {
		fail(TopicARN, c.TopicARN, "must be an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>)")
	}
	c.StateTable = get(StateTable)
	if c.StateTable == "" && underLambda {
		fail(StateTable, "", "required under Lambda: the DynamoDB table of per-number state")
	}

	list := func(name string, check func(string) error) []string {
		var out []string
		for item := range strings.SplitSeq(get(name), ",") {
			item = strings.TrimSpace(item)
			if item == "" {
				continue
			}
			if check != nil {
				if err := check(item); err != nil {
					errs = append(errs, fmt.Errorf("%s: %w", name, err))
					continue
				}
			}
			if !slices.Contains(out, item) {
				out = append(out, item)
			}
		}
		return out
	}
	c.TargetARNs = list(TargetARNs, checks.TargetARN)
	c.PhoneNumberIDs = list(PhoneNumberIDs, checks.PhoneNumberRef)

	duration := func(name string, def time.Duration) time.Duration {
		v := get(name)
		if v == "" {
			return def
		}
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			fail(name, v, "must be a positive Go duration such as 24h, 90m or 30s")
			return def
		}
		return d
	}
	c.Policy.RetryWindow = duration(RetryWindow, c.Policy.RetryWindow)
	c.Policy.StuckAfter = duration(StuckAfter, c.Policy.StuckAfter)

	c.SweepEvery = duration(SweepEvery, c.SweepEvery)

	switch v := get(Reminders); strings.ToLower(v) {
	case "":
		// The default offsets that a short RETRY_WINDOW cannot hold are dropped, with a
		// warning: an explicit REMINDERS that cannot apply is an error instead.
		kept := c.Policy.Reminders[:0:0]
		for _, d := range c.Policy.Reminders {
			if d < c.Policy.RetryWindow {
				kept = append(kept, d)
			} else {
				c.Warnings = append(c.Warnings, fmt.Sprintf("%s: the default reminder %s is not below %s=%s, so it is "+
					"dropped (set %s to offsets below the window, or none)", Reminders, d, RetryWindow, c.Policy.RetryWindow, Reminders))
			}
		}
		c.Policy.Reminders = kept
	case "none":
		c.Policy.Reminders = nil
	default:
		c.Policy.Reminders = nil
		for item := range strings.SplitSeq(v, ",") {
			item = strings.TrimSpace(item)
			d, err := time.ParseDuration(item)
			switch {
			case err != nil || d <= 0:
				fail(Reminders, item, "each reminder must be a positive Go duration (e.g. 6h,1h), or the whole value `none`")
			case d >= c.Policy.RetryWindow:
				fail(Reminders, item, fmt.Sprintf("must be below %s (%s): it is an offset before the deadline", RetryWindow, c.Policy.RetryWindow))
			case slices.Contains(c.Policy.Reminders, d):
				fail(Reminders, item, "listed twice")
			default:
				c.Policy.Reminders = append(c.Policy.Reminders, d)
			}
		}
	}
	// Sorted nearest-to-deadline first, so that logs and templates read in a stable order.
	slices.Sort(c.Policy.Reminders)

	if v := get(NotifyRecovery); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			fail(NotifyRecovery, v, "must be true or false")
		}
		c.Policy.NotifyRecovery = b
	}
	if v := get(ConnectRPS); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f <= 0 || math.IsInf(f, 0) || math.IsNaN(f) {
			fail(ConnectRPS, v, "must be a positive number of requests per second (e.g. 2 or 0.5)")
		} else {
			c.ConnectRPS = f
		}
	}
	if v := get(ConnectBurst); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			fail(ConnectBurst, v, "must be a whole number of requests, at least 1")
		} else {
			c.ConnectBurst = n
		}
	}
	if v := get(CloudTrail); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			fail(CloudTrail, v, "must be true or false")
		}
		c.CloudTrail = b
	}
	if v := get(PhoneNumberQuota); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxPhoneNumberQuota {
			fail(PhoneNumberQuota, v, fmt.Sprintf("must be a whole number of phone numbers from 1 to %d (the quota "+
				"\"Phone numbers per instance\"), or empty to read it from Service Quotas", MaxPhoneNumberQuota))
		} else {
			c.PhoneNumberQuota = n
		}
	}
	if v := get(DisplayTimezone); v != "" {
		loc, err := time.LoadLocation(v)
		if err != nil || strings.HasPrefix(v, "/") || strings.Contains(v, "..") {
			fail(DisplayTimezone, v, "must be an IANA time zone name such as Europe/Berlin or America/New_York")
		} else {
			c.Location = loc
		}
	}
	if len(errs) > 0 {
		return Config{}, fmt.Errorf("configuration: %w", errors.Join(errs...))
	}
	return c, nil
}
