package deploy

import (
	"regexp"
	"strings"
	"testing"
)

// request is one call as IAM evaluates it against a resource policy: who (an IAM principal's
// ARN, or a service principal), what, on what, and the request context's condition keys.
type request struct {
	principal string // an IAM ARN (arn:...:iam::<account>:role/...) or a service (cloudwatch.amazonaws.com)
	action    string
	resource  string
	context   map[string]string
}

// allows evaluates a resource policy's statements (already resolved to strings with
// resolvePolicy) for r, as IAM does for what the policy alone decides: an explicit Deny wins,
// then any Allow. It knows exactly the elements and condition operators the templates use
// (Principal AWS / Service, Action, Resource, StringEquals, ArnLike) and fails the test on
// anything else, rather than guess.
func allows(t *testing.T, statements []any, r request) bool {
	t.Helper()
	allowed := false
	for _, s := range statements {
		m, _ := s.(map[string]any)
		for k := range m {
			switch k {
			case "Sid", "Effect", "Principal", "Action", "Resource", "Condition":
			default:
				t.Fatalf("policy evaluator: element %s is not supported: %s", k, asJSON(s))
			}
		}
		if !principalMatches(t, m["Principal"], r.principal) || !anyGlob(m["Action"], r.action, true) ||
			!anyGlob(m["Resource"], r.resource, false) || !conditionHolds(t, m["Condition"], r.context) {
			continue
		}
		switch m["Effect"] {
		case "Deny":
			return false
		case "Allow":
			allowed = true
		default:
			t.Fatalf("policy evaluator: Effect %v", m["Effect"])
		}
	}
	return allowed
}

func principalMatches(t *testing.T, p any, who string) bool {
	t.Helper()
	if p == "*" {
		return true
	}
	pm, ok := p.(map[string]any)
	if !ok {
		t.Fatalf("policy evaluator: Principal %s is not supported", asJSON(p))
	}
	for kind, vals := range pm {
		for _, v := range asList(vals) {
			v := v.(string)
			switch kind {
			case "Service":
				if v == who {
					return true
				}
			case "AWS":
				// "*" is anyone; an account's root ARN stands for the account's principals
				// (their IAM policies decide); another ARN is that principal.
				if v == "*" || v == who {
					return true
				}
				if acct, ok := strings.CutSuffix(v, ":root"); ok && strings.HasPrefix(who, acct+":") {
					return true
				}
			default:
				t.Fatalf("policy evaluator: Principal kind %s is not supported", kind)
			}
		}
	}
	return false
}

// anyGlob reports whether s matches one of the patterns in v (IAM's * and ?); actions are
// case-insensitive.
func anyGlob(v any, s string, fold bool) bool {
	for _, p := range asList(v) {
		if glob(p.(string), s, fold) {
			return true
		}
	}
	return false
}

func glob(pattern, s string, fold bool) bool {
	expr := regexp.QuoteMeta(pattern)
	expr = strings.NewReplacer(`\*`, `.*`, `\?`, `.`).Replace(expr)
	if fold {
		expr = "(?i)" + expr
	}
	return regexp.MustCompile("^" + expr + "$").MatchString(s)
}

// arnLike is IAM's ArnLike: each of the six colon-separated parts matched on its own, so a
// wildcard never spans a colon.
func arnLike(pattern, arn string) bool {
	pp, ap := strings.SplitN(pattern, ":", 6), strings.SplitN(arn, ":", 6)
	if len(pp) != 6 || len(ap) != 6 {
		return false
	}
	for i := range pp {
		if !glob(pp[i], ap[i], false) {
			return false
		}
	}
	return true
}

// conditionHolds: every operator, every key in it, must match one of its values; a key absent
// from the request context does not match (no ...IfExists operators are used).
func conditionHolds(t *testing.T, c any, ctx map[string]string) bool {
	t.Helper()
	if c == nil {
		return true
	}
	for op, keys := range c.(map[string]any) {
		for key, vals := range keys.(map[string]any) {
			got, present := ctx[key]
			ok := false
			for _, v := range asList(vals) {
				switch op {
				case "StringEquals":
					ok = ok || (present && got == v.(string))
				case "ArnLike":
					ok = ok || (present && arnLike(v.(string), got))
				default:
					t.Fatalf("policy evaluator: condition operator %s is not supported", op)
				}
			}
			if !ok {
				return false
			}
		}
	}
	return true
}

// resolvePolicy evaluates every intrinsic in a policy's statements to a string, with the
// template's parameter values (a reference to a resource becomes "<Resource>").
func resolvePolicy(t *testing.T, v any, vals map[string]string) any {
	t.Helper()
	switch v := v.(type) {
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = resolvePolicy(t, e, vals)
		}
		return out
	case map[string]any:
		for k := range v {
			if k == "Ref" || strings.HasPrefix(k, "Fn::") {
				return evalString(t, v, vals)
			}
		}
		out := map[string]any{}
		for k, e := range v {
			out[k] = resolvePolicy(t, e, vals)
		}
		return out
	}
	return v
}

func TestPolicyEvaluator(t *testing.T) {
	testCases := []struct {
		pattern, arn string
		want         bool
	}{
		{"arn:aws:iam::*:role/phonewatch/*", "arn:aws:iam::444455556666:role/phonewatch/x-PhoneWatchRole-1", true},
		{"arn:aws:iam::*:role/phonewatch/*", "arn:aws:iam::444455556666:role/phonewatch-x", false},
		{"arn:aws:iam::*:role/phonewatch/*", "arn:aws:iam::444455556666:role/other/phonewatch/x", false},
		{"arn:aws:iam::*:role/phonewatch/*", "arn:aws:sts::444455556666:assumed-role/phonewatch/x", false},
		{"arn:aws:cloudwatch:us-east-1:*:alarm:*", "arn:aws:cloudwatch:us-east-1:444455556666:alarm:a:b", true},
		{"arn:aws:cloudwatch:us-east-1:*:alarm:*", "arn:aws:cloudwatch:eu-west-1:444455556666:alarm:a", false},
		{"arn:aws:iam::*:role/*", "arn:aws:iam::1:2:role/x", false}, // * does not span a colon
	}
	for _, tc := range testCases {
		if got := arnLike(tc.pattern, tc.arn); got != tc.want {
			t.Errorf("ArnLike %s ~ %s = %v, want %v", tc.pattern, tc.arn, got, tc.want)
		}
	}
	policy := []any{map[string]any{"Effect": "Allow", "Principal": map[string]any{"AWS": "*"}, "Action": "kms:GenerateDataKey*",
		"Resource": "*", "Condition": map[string]any{"StringEquals": map[string]any{"k": []any{"a", "b"}}}}}
	for _, tc := range []struct {
		r    request
		want bool
	}{
		{request{"arn:aws:iam::1:role/r", "KMS:GenerateDataKeyPair", "x", map[string]string{"k": "b"}}, true},
		{request{"arn:aws:iam::1:role/r", "kms:Decrypt", "x", map[string]string{"k": "b"}}, false},
		{request{"arn:aws:iam::1:role/r", "kms:GenerateDataKey", "x", map[string]string{"k": "c"}}, false},
		{request{"arn:aws:iam::1:role/r", "kms:GenerateDataKey", "x", nil}, false}, // key absent
		// {"AWS": "*"} is taken to match service principals too: the evaluator errs on the
		// side of allowing, so that a "denied" it finds is denied.
		{request{"cloudwatch.amazonaws.com", "kms:GenerateDataKey", "x", map[string]string{"k": "a"}}, true},
	} {
		if got := allows(t, policy, tc.r); got != tc.want {
			t.Errorf("%+v: allowed %v, want %v", tc.r, got, tc.want)
		}
	}
	service := []any{map[string]any{"Effect": "Allow", "Principal": map[string]any{"Service": "cloudwatch.amazonaws.com"}, "Action": "sns:Publish", "Resource": "t"}}
	if allows(t, service, request{"arn:aws:iam::1:role/r", "sns:Publish", "t", nil}) || !allows(t, service, request{"cloudwatch.amazonaws.com", "sns:Publish", "t", nil}) {
		t.Error("a Service principal matched another principal, or not itself")
	}
	deny := append([]any{map[string]any{"Effect": "Deny", "Principal": "*", "Action": "*", "Resource": "*"}}, policy...)
	if allows(t, deny, request{"arn:aws:iam::1:role/r", "kms:GenerateDataKey", "x", map[string]string{"k": "a"}}) {
		t.Error("an explicit Deny did not win")
	}
}

// TestHubOnlyPhoneWatchPublishes evaluates the hub's topic and key policies for the calls
// that reach them: phonewatch's function role of a member stack (its ARN built from
// template.yaml's role path) publishes, and SNS uses the key for it; the organisation's alarms
// publish; any other principal of the organisation (an administrator, phonewatch's other
// roles, a look-alike role name) and anyone outside it is refused, so nobody can forge a
// FAILED, EXPIRED or RECOVERED message to the on-call channel by having sns:Publish in its own
// account.
func TestHubOnlyPhoneWatchPublishes(t *testing.T) {
	const org, otherOrg, member, region = "o-a1b2c3d4e5", "o-zzzzzzzzzz", "444455556666", "us-east-1"
	hub := loadTemplateFile(t, hubTemplate)
	vals := map[string]string{"OrganizationId": org, "AWS::Partition": "aws", "AWS::Region": region,
		"AWS::AccountId": "111122223333", "AWS::URLSuffix": "amazonaws.com"}
	var topicPolicy, keyPolicy []any
	for _, r := range hub.Resources {
		switch r.Type {
		case "AWS::SNS::TopicPolicy":
			topicPolicy = asList(resolvePolicy(t, dig(r.Properties, "PolicyDocument", "Statement"), vals))
		case "AWS::KMS::Key":
			keyPolicy = asList(resolvePolicy(t, dig(r.Properties, "KeyPolicy", "Statement"), vals))
		}
	}
	if topicPolicy == nil || keyPolicy == nil {
		t.Fatalf("%s: want a topic policy and a key", hubTemplate)
	}

	// The member's function role, as template.yaml creates it.
	member0 := loadTemplate(t)
	path, _ := member0.resource(t, "PhoneWatchRole").Properties["Path"].(string)
	if path == "" {
		path = "/"
	}
	phonewatch := "arn:aws:iam::" + member + ":role" + path + "phonewatch-PhoneWatchRole-AbC123"
	iamCall := func(arn, orgID string, extra ...string) map[string]string {
		ctx := map[string]string{"aws:PrincipalArn": arn, "aws:PrincipalOrgID": orgID, "aws:PrincipalAccount": member}
		for i := 0; i+1 < len(extra); i += 2 {
			ctx[extra[i]] = extra[i+1]
		}
		return ctx
	}
	alarm := func(orgID string) map[string]string {
		return map[string]string{"aws:SourceOrgID": orgID, "aws:SourceAccount": member,
			"aws:SourceArn": "arn:aws:cloudwatch:" + region + ":" + member + ":alarm:StackSet-phonewatch-1-ErrorsAlarm-X"}
	}
	viaSNS := []string{"kms:ViaService", "sns." + region + ".amazonaws.com"}
	others := map[string]string{
		"an administrator of a member account":    "arn:aws:iam::" + member + ":role/Admin",
		"phonewatch's schedule role":              "arn:aws:iam::" + member + ":role/phonewatch-ScheduleRole-AbC123",
		"a look-alike name outside the path":      "arn:aws:iam::" + member + ":role/phonewatch-PhoneWatchRole-Evil",
		"a look-alike path deeper in another one": "arn:aws:iam::" + member + ":role/x/phonewatch/y",
	}

	type check struct {
		what   string
		policy []any
		r      request
		want   bool
	}
	checks := []check{
		{"phonewatch publishes", topicPolicy, request{phonewatch, "sns:Publish", "<HubTopic>", iamCall(phonewatch, org)}, true},
		{"phonewatch of another organisation", topicPolicy, request{phonewatch, "sns:Publish", "<HubTopic>", iamCall(phonewatch, otherOrg)}, false},
		{"SNS encrypts for phonewatch", keyPolicy, request{phonewatch, "kms:GenerateDataKey", "*", iamCall(phonewatch, org, viaSNS...)}, true},
		{"SNS decrypts for phonewatch", keyPolicy, request{phonewatch, "kms:Decrypt", "*", iamCall(phonewatch, org, viaSNS...)}, true},
		{"phonewatch calls KMS directly", keyPolicy, request{phonewatch, "kms:Decrypt", "*", iamCall(phonewatch, org)}, false},
		{"a member's alarm publishes", topicPolicy, request{"cloudwatch.amazonaws.com", "sns:Publish", "<HubTopic>", alarm(org)}, true},
		{"a member's alarm encrypts", keyPolicy, request{"cloudwatch.amazonaws.com", "kms:GenerateDataKey", "*", alarm(org)}, true},
		{"another organisation's alarm", topicPolicy, request{"cloudwatch.amazonaws.com", "sns:Publish", "<HubTopic>", alarm(otherOrg)}, false},
		{"another organisation's alarm's key use", keyPolicy, request{"cloudwatch.amazonaws.com", "kms:GenerateDataKey", "*", alarm(otherOrg)}, false},
	}
	for who, arn := range others {
		checks = append(checks,
			check{who + " publishes", topicPolicy, request{arn, "sns:Publish", "<HubTopic>", iamCall(arn, org)}, false},
			check{who + " has SNS encrypt", keyPolicy, request{arn, "kms:GenerateDataKey", "*", iamCall(arn, org, viaSNS...)}, false})
	}
	for _, c := range checks {
		if got := allows(t, c.policy, c.r); got != c.want {
			t.Errorf("%s (%s %s): allowed = %v, want %v", c.what, c.r.principal, c.r.action, got, c.want)
		}
	}
}
