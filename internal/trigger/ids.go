package trigger

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/phonewatch/phonewatch/internal/status"
)

// The formats below are Amazon Connect's: IDs are lowercase UUIDs (Connect's own API patterns
// use [a-f0-9]), and ARNs are arn:<partition>:connect:<region>:<12-digit account>:<type>/<UUID>.
const (
	phoneRefFormat = "a phone number ID (lowercase UUID) or arn:<partition>:connect:<region>:<account>:phone-number/<UUID>"
	targetFormat   = "arn:<partition>:connect:<region>:<account>:instance/<UUID> or …:traffic-distribution-group/<UUID>"
)

var (
	uuidRE      = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	anyUUIDRE   = regexp.MustCompile(`^(?i)[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	partitionRE = regexp.MustCompile(`^aws(-[a-z]+)*$`)
	regionRE    = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$`)
	accountRE   = regexp.MustCompile(`^[0-9]{12}$`)
)

// ValidPhoneNumberRef reports whether s names a Connect phone number: its ID (a lowercase UUID)
// or its ARN in the form ListPhoneNumbersV2 returns (arn:…:phone-number/<UUID>, without the
// legacy instance/ path). The error names the value and the expected format, so that it can be
// shown as is for PHONE_NUMBER_IDS as well as for a check request.
func ValidPhoneNumberRef(s string) error {
	var problem string
	switch {
	case uuidRE.MatchString(s):
		return nil
	case strings.HasPrefix(s, "arn:"):
		if problem = arnProblem(s, "phone-number"); problem == "" {
			return nil
		}
	case s == "":
		problem = "empty"
	case strings.HasPrefix(s, "+"):
		problem = "a phone number itself, not its Connect ID"
	case anyUUIDRE.MatchString(s):
		problem = "Connect IDs are lowercase"
	default:
		problem = "neither a UUID nor an ARN"
	}
	return fmt.Errorf("invalid phone number %s: %s; want %s", quote(s, maxValueBytes), problem, phoneRefFormat)
}

// ValidTargetARN reports whether s is the ARN of a Connect instance or traffic distribution
// group, the two kinds of target ListPhoneNumbersV2 lists numbers of. The error names the value
// and the expected format, for TARGET_ARNS as well as for a check request.
func ValidTargetARN(s string) error {
	var problem string
	switch {
	case strings.HasPrefix(s, "arn:"):
		if problem = arnProblem(s, "instance", "traffic-distribution-group"); problem == "" {
			return nil
		}
	case s == "":
		problem = "empty"
	case anyUUIDRE.MatchString(s):
		problem = "an ID, not an ARN"
	default:
		problem = "not an ARN"
	}
	return fmt.Errorf("invalid target ARN %s: %s; want %s", quote(s, maxValueBytes), problem, targetFormat)
}

// arnProblem checks s against arn:<partition>:connect:<region>:<account>:<type>/<UUID> for one
// of types, and says in a few words what is wrong, or returns "" when nothing is. The words are
// few on purpose: with the quoted value and the format they must fit Parse's 300-byte errors.
func arnProblem(s string, types ...string) string {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) < 6 {
		return "too few :-separated parts"
	}
	switch {
	case !partitionRE.MatchString(parts[1]):
		return "partition is not aws or aws-*"
	case parts[2] != "connect":
		return "service is not connect"
	case !regionRE.MatchString(parts[3]):
		return "Region is not like us-east-1"
	case !accountRE.MatchString(parts[4]):
		return "account is not 12 digits"
	}
	typ, id, _ := strings.Cut(parts[5], "/")
	if !slices.Contains(types, typ) {
		if typ == "instance" && strings.Contains(id, "/phone-number/") {
			return "legacy ARN with instance/ in the path"
		}
		return "wrong resource type"
	}
	if !uuidRE.MatchString(id) {
		return "resource ID is not a lowercase UUID"
	}
	return ""
}

// maxValueBytes bounds a quoted value in an error: a whole ARN (about 100 characters) still fits.
const maxValueBytes = 100

// quote is status.Quote shortened further when escapes make it long, so that any input, however
// long or full of control characters, takes at most maxBytes (at least 16) in a message.
func quote(s string, maxBytes int) string {
	for n := maxBytes; ; n /= 2 {
		if q := status.Quote(s, n); len(q) <= maxBytes || n <= 1 {
			return q
		}
	}
}
