package deploy

import (
	"bufio"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/phonewatch/phonewatch/internal/config"
)

// TestEnvironmentIsWhatTheCodeReads holds the template and internal/config to one list: a
// variable the code reads but the template does not set silently takes its default in AWS, and
// one the template sets but the code ignores is a setting that does nothing.
func TestEnvironmentIsWhatTheCodeReads(t *testing.T) {
	env := loadTemplate(t).environment(t)
	set := slices.Sorted(maps.Keys(env))
	read := slices.Sorted(slices.Values(config.Variables()))
	for _, name := range read {
		if _, ok := env[name]; !ok {
			t.Errorf("the code reads %s but the template does not set it", name)
		}
	}
	for _, name := range set {
		if !slices.Contains(read, name) {
			t.Errorf("the template sets %s but the code does not read it", name)
		}
	}
	if t.Failed() {
		t.Logf("template sets %v; config.Variables() is %v", set, read)
	}
}

// TestFunctionPlatform checks what `sam build` and the Makefile agree on: an arm64 custom
// runtime whose bootstrap is built by the Makefile target named after the function.
func TestFunctionPlatform(t *testing.T) {
	tpl := loadTemplate(t)
	fn := tpl.resource(t, functionID)
	testCases := []struct {
		what string
		got  any
		want string
	}{
		{"Runtime", fn.Properties["Runtime"], `"provided.al2023"`},
		{"Architectures", fn.Properties["Architectures"], `["arm64"]`},
		{"Handler", fn.Properties["Handler"], `"bootstrap"`},
		{"CodeUri", fn.Properties["CodeUri"], `"."`},
		{"Metadata.BuildMethod", fn.Metadata["BuildMethod"], `"makefile"`},
		{"LoggingConfig.LogFormat", dig(fn.Properties, "LoggingConfig", "LogFormat"), `"JSON"`},
	}
	for _, tc := range testCases {
		if got := asJSON(tc.got); got != tc.want {
			t.Errorf("%s: %s = %s, want %s", functionID, tc.what, got, tc.want)
		}
	}

	// BuildMethod makefile runs `make build-<LogicalId>` in CodeUri.
	target := "build-" + functionID + ":"
	mk, err := os.Open(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatalf("open Makefile: %v", err)
	}
	defer func() { _ = mk.Close() }()
	found := false
	for sc := bufio.NewScanner(mk); sc.Scan(); {
		if strings.HasPrefix(sc.Text(), target) {
			found = true
		}
	}
	if !found {
		t.Errorf("the Makefile has no target %s that `sam build` could run", strings.TrimSuffix(target, ":"))
	}
}

// statement is one IAM policy statement, as the tests read it.
type statement struct {
	Sid       string
	Actions   []string
	Resources []any
	Condition any
}

// roleStatements returns every statement granted to the role with logical ID role: its inline
// Policies and any AWS::IAM::Policy / AWS::IAM::RolePolicy attached to it. Managed policies
// cannot be read from here, so the test fails when there are any.
func roleStatements(t *testing.T, tpl cfnTemplate, role string) []statement {
	t.Helper()
	r := tpl.resource(t, role)
	if r.Type != "AWS::IAM::Role" {
		t.Fatalf("%s is a %s, want AWS::IAM::Role", role, r.Type)
	}
	if m := r.Properties["ManagedPolicyArns"]; m != nil {
		t.Errorf("role %s has managed policies %s: their actions are not least privilege", role, asJSON(m))
	}
	var docs []any
	for _, p := range asList(r.Properties["Policies"]) {
		docs = append(docs, dig(p, "PolicyDocument"))
	}
	for id, res := range tpl.Resources {
		switch res.Type {
		case "AWS::IAM::RolePolicy":
			if refTo(res.Properties["RoleName"], "") == role {
				docs = append(docs, res.Properties["PolicyDocument"])
			}
		case "AWS::IAM::Policy":
			for _, r := range asList(res.Properties["Roles"]) {
				if refTo(r, "") == role {
					docs = append(docs, res.Properties["PolicyDocument"])
				}
			}
		case "AWS::IAM::ManagedPolicy":
			for _, r := range asList(res.Properties["Roles"]) {
				if refTo(r, "") == role {
					t.Errorf("%s attaches a managed policy to %s: test its statements here too", id, role)
				}
			}
		}
	}
	var out []statement
	for _, doc := range docs {
		for _, s := range asList(dig(doc, "Statement")) {
			if effect := dig(s, "Effect"); effect != "Allow" {
				t.Errorf("role %s: statement %s has Effect %v; these tests expect only Allow", role, asJSON(s), effect)
			}
			if dig(s, "NotAction") != nil || dig(s, "NotResource") != nil {
				t.Errorf("role %s: statement %s uses NotAction/NotResource, which grant by exclusion", role, asJSON(s))
			}
			st := statement{Resources: asList(dig(s, "Resource")), Condition: dig(s, "Condition")}
			st.Sid, _ = dig(s, "Sid").(string)
			for _, a := range asList(dig(s, "Action")) {
				name, ok := a.(string)
				if !ok {
					t.Fatalf("role %s: action %s is not a string", role, asJSON(a))
				}
				st.Actions = append(st.Actions, name)
			}
			out = append(out, st)
		}
	}
	return out
}

// asList returns v as a list: a single value is a list of one.
func asList(v any) []any {
	switch v := v.(type) {
	case nil:
		return nil
	case []any:
		return v
	default:
		return []any{v}
	}
}

// TestFunctionPermissions holds the function's role to least privilege: exactly the actions
// the code calls, each on the resource the function is actually given. The resources are not
// spelled out here but followed from the function itself (the topic in TOPIC_ARN, the table in
// STATE_TABLE, the topic's key, the log group, the OnFailure queue), so a grant on the wrong
// resource fails. It holds in every mode: the stack's own topic, or a central one.
func TestFunctionPermissions(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) { functionPermissions(t, m) })
	}
	// Without CloudTrail the function never calls LookupEvents, and the role may not: "*" on
	// CloudTrail's event history would be the whole account's management history.
	noTrail := mode{"without CloudTrail", ownTopic.with("CloudTrail", "false").params}
	t.Run(noTrail.name, func(t *testing.T) { functionPermissions(t, noTrail) })
}

func functionPermissions(t *testing.T, m mode) {
	tpl := deployed(t, m)
	vals := tpl.values(m)
	fn := tpl.function(t)
	if p := fn["Policies"]; p != nil {
		t.Errorf("%s has Policies %s: SAM would ignore them next to Role; grant through the role", functionID, asJSON(p))
	}
	role := refTo(fn["Role"], "Arn")
	if role == "" {
		t.Fatalf("%s: Role is %s, want !GetAtt <role>.Arn of a role in this template", functionID, asJSON(fn["Role"]))
	}

	env := tpl.environment(t)
	topic := refTo(env[config.TopicARN], "")
	table := refTo(env[config.StateTable], "")
	logGroup := refTo(dig(fn, "LoggingConfig", "LogGroup"), "")
	queue := refTo(dig(tpl.invokeConfig(t), "DestinationConfig", "OnFailure", "Destination"), "Arn")
	for what, id := range map[string]string{"topic (TOPIC_ARN)": topic, "table (STATE_TABLE)": table,
		"log group (LoggingConfig.LogGroup)": logGroup, "OnFailure queue": queue} {
		if id == "" {
			t.Fatalf("cannot tell the function's %s: it must reference this template's resource or parameter", what)
		}
	}
	onTopic := asJSON(map[string]any{"Ref": topic})
	onTable := asJSON(map[string]any{"Fn::GetAtt": []any{table, "Arn"}})
	onLogs := asJSON(map[string]any{"Fn::GetAtt": []any{logGroup, "Arn"}})
	onQueue := asJSON(map[string]any{"Fn::GetAtt": []any{queue, "Arn"}})

	// What the code calls, and on what. DynamoDB: the store Scans, BatchGets and writes with
	// TransactWriteItems of conditional Updates, which IAM authorizes as UpdateItem per item;
	// the cursor is a GetItem and a conditional UpdateItem (no PutItem or ConditionCheckItem
	// is ever sent). SNS: PublishBatch is authorized
	// as sns:Publish. KMS: SNS encrypts with the topic's key on the publisher's behalf.
	// Connect: DescribePhoneNumber per number, on this account's numbers in any Region (a
	// traffic distribution group's number is described by ARN from either Region), and
	// ListPhoneNumbersV2, which IAM cannot scope below the account. CloudTrail: LookupEvents
	// has no resource-level permission at all, so it is granted on "*", and it alone. SQS:
	// Lambda sends a failed asynchronous invocation to the OnFailure queue with this role.
	want := map[string]string{
		"connect:DescribePhoneNumber": `{"Fn::Sub":"arn:${AWS::Partition}:connect:*:${AWS::AccountId}:phone-number/*"}`,
		"connect:ListPhoneNumbersV2":  `"*"`,
		"cloudtrail:LookupEvents":     `"*"`,
		// The claim/release budget reads one quota, on its own ARN (internal/quotas).
		"servicequotas:GetServiceQuota": `{"Fn::Sub":"arn:${AWS::Partition}:servicequotas:${AWS::Region}:${AWS::AccountId}:connect/L-8F812903"}`,
		"sns:Publish":                   onTopic,
		"dynamodb:Scan":                 onTable,
		"dynamodb:BatchGetItem":         onTable,
		"dynamodb:GetItem":              onTable,
		"dynamodb:UpdateItem":           onTable,
		"logs:CreateLogStream":          onLogs,
		"logs:PutLogEvents":             onLogs,
		"sqs:SendMessage":               onQueue,
	}
	if vals["CloudTrail"] != "true" {
		delete(want, "cloudtrail:LookupEvents")
	}
	// The topic's key: the stack's own, or the central topic's when it is encrypted. SNS in the
	// topic's Region uses it, so kms:ViaService names that Region.
	topicRegion := vals["AWS::Region"]
	switch _, own := tpl.Resources[topic]; {
	case own:
		key := refTo(dig(tpl.resource(t, topic).Properties, "KmsMasterKeyId"), "Arn")
		if key == "" {
			t.Fatalf("topic %s: KmsMasterKeyId must be !GetAtt <key>.Arn of a key in this template", topic)
		}
		want["kms:GenerateDataKey"] = asJSON(map[string]any{"Fn::GetAtt": []any{key, "Arn"}})
	case m.params["CentralTopicKeyArn"] != "":
		want["kms:GenerateDataKey"] = asJSON(map[string]any{"Ref": "CentralTopicKeyArn"})
		topicRegion = strings.Split(m.params["CentralTopicArn"], ":")[3]
	}
	if k, ok := want["kms:GenerateDataKey"]; ok {
		want["kms:Decrypt"] = k
	}
	wantVia := "sns." + topicRegion + ".amazonaws.com"

	got := map[string][]string{}
	for _, st := range roleStatements(t, tpl, role) {
		for _, a := range st.Actions {
			if strings.ContainsAny(a, "*?") {
				t.Errorf("statement %s: action %q is a wildcard", st.Sid, a)
			}
			for _, r := range st.Resources {
				got[a] = append(got[a], asJSON(r))
			}
			if slices.ContainsFunc(st.Resources, func(r any) bool { return r == "*" }) && len(st.Actions) != 1 {
				t.Errorf("statement %s grants %v on *: each action on * needs a statement (and a reason) of its own", st.Sid, st.Actions)
			}
			if strings.HasPrefix(a, "kms:") {
				cond, _ := dig(st.Condition, "StringEquals").(map[string]any)
				if len(cond) != 1 || evalString(t, cond["kms:ViaService"], vals) != wantVia {
					t.Errorf("statement %s: %s has Condition %s, want StringEquals kms:ViaService %s (the key only through SNS)",
						st.Sid, a, asJSON(st.Condition), wantVia)
				}
			}
		}
	}
	for _, a := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[a]; !ok {
			t.Errorf("role %s grants %s on %v, which the code never calls", role, a, got[a])
		}
	}
	for _, a := range slices.Sorted(maps.Keys(want)) {
		switch rs := got[a]; {
		case len(rs) == 0:
			t.Errorf("role %s does not grant %s (want it on %s)", role, a, want[a])
		case len(rs) > 1 || rs[0] != want[a]:
			t.Errorf("role %s grants %s on %v, want only on %s", role, a, rs, want[a])
		}
	}
}

// TestKeyLetsPublishersUseIt checks the key policy of the topic's key: without a statement for
// a publisher, its messages are refused (CloudWatch alarms need kms:Decrypt and
// kms:GenerateDataKey* for an encrypted topic), and without the account, nobody can manage it.
func TestKeyLetsPublishersUseIt(t *testing.T) {
	tpl := deployed(t, ownTopic)
	topic := refTo(tpl.environment(t)[config.TopicARN], "")
	key := refTo(dig(tpl.resource(t, topic).Properties, "KmsMasterKeyId"), "Arn")
	k := tpl.resource(t, key)
	if k.Properties["EnableKeyRotation"] != true {
		t.Errorf("key %s: EnableKeyRotation is %v, want true", key, k.Properties["EnableKeyRotation"])
	}
	role := refTo(tpl.function(t)["Role"], "Arn")
	principals := map[string]string{
		"account":    asJSON(map[string]any{"AWS": map[string]any{"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}}),
		"function":   asJSON(map[string]any{"AWS": map[string]any{"Fn::GetAtt": []any{role, "Arn"}}}),
		"cloudwatch": asJSON(map[string]any{"Service": "cloudwatch.amazonaws.com"}),
	}
	testCases := []struct {
		who     string
		actions []string
	}{
		{"account", []string{"kms:*"}},
		{"function", []string{"kms:GenerateDataKey", "kms:Decrypt"}},
		{"cloudwatch", []string{"kms:Decrypt", "kms:GenerateDataKey*"}},
	}
	statements := asList(dig(k.Properties, "KeyPolicy", "Statement"))
	for _, tc := range testCases {
		var granted []string
		for _, s := range statements {
			if asJSON(dig(s, "Principal")) == principals[tc.who] && dig(s, "Effect") == "Allow" {
				for _, a := range asList(dig(s, "Action")) {
					granted = append(granted, fmt.Sprint(a))
				}
			}
		}
		for _, a := range tc.actions {
			if !slices.Contains(granted, a) {
				t.Errorf("key %s: the %s principal (%s) is not granted %s; it has %v", key, tc.who, principals[tc.who], a, granted)
			}
		}
	}
	// A service principal acts for every account: the CloudWatch statement must be limited to
	// this account's alarms.
	for _, s := range statements {
		if asJSON(dig(s, "Principal")) == principals["cloudwatch"] {
			if got := asJSON(dig(s, "Condition", "StringEquals", "aws:SourceAccount")); got != `{"Ref":"AWS::AccountId"}` {
				t.Errorf("key %s: the CloudWatch statement has aws:SourceAccount %s, want this account", key, got)
			}
		}
	}
}

// TestScheduleFollowsPeriod checks that one parameter drives the schedule, the function's
// timeout, the retries and every alarm's period, and that each allowed period is coherent:
// the rate is that period, the alarms' period is that period, and a run ends before the next.
func TestScheduleFollowsPeriod(t *testing.T) {
	tpl := loadTemplate(t)
	const param, mapping = "SchedulePeriodMinutes", "SchedulePeriod"
	periods := tpl.Mappings[mapping]
	p, ok := tpl.Parameters[param]
	if !ok || len(periods) == 0 {
		t.Fatalf("template needs parameter %s and mapping %s", param, mapping)
	}
	var allowed []string
	for _, v := range p.AllowedValues {
		allowed = append(allowed, fmt.Sprint(v))
	}
	if keys := slices.Sorted(maps.Keys(periods)); !slices.Equal(slices.Sorted(slices.Values(allowed)), keys) {
		t.Errorf("%s allows %v but %s has entries for %v", param, allowed, mapping, keys)
	}
	if _, ok := periods[fmt.Sprint(p.Default)]; !ok {
		t.Errorf("%s default %v has no %s entry", param, p.Default, mapping)
	}

	for minutes, e := range periods {
		n, err := strconv.Atoi(minutes)
		if err != nil || n < 1 {
			t.Errorf("%s key %q is not a number of minutes", mapping, minutes)
			continue
		}
		num := func(field string) int {
			f, ok := e[field].(float64)
			if !ok {
				t.Errorf("%s.%s.%s = %v, want a number", mapping, minutes, field, e[field])
			}
			return int(f)
		}
		if got, want := e["Expression"], fmt.Sprintf("rate(%d minutes)", n); got != want {
			t.Errorf("%s.%s.Expression = %v, want %s", mapping, minutes, got, want)
		}
		if got := num("Seconds"); got != n*60 {
			t.Errorf("%s.%s.Seconds = %d, want %d", mapping, minutes, got, n*60)
		}
		if got := num("TimeoutSeconds"); got < 60 || got >= n*60 || got > 900 {
			t.Errorf("%s.%s.TimeoutSeconds = %d: want at least a minute, below the %d s period and at most Lambda's 900",
				mapping, minutes, got, n*60)
		}
		if got := num("RetrySeconds"); got < 60 || got >= n*60 {
			t.Errorf("%s.%s.RetrySeconds = %d: want 60 s or more (the minimum) and below the %d s period",
				mapping, minutes, got, n*60)
		}
	}

	fromMap := func(field string) string {
		return asJSON(map[string]any{"Fn::FindInMap": []any{mapping, map[string]any{"Ref": param}, field}})
	}
	fn := tpl.function(t)
	var schedules int
	for name, ev := range dig(fn, "Events").(map[string]any) {
		if dig(ev, "Type") != "ScheduleV2" {
			continue
		}
		schedules++
		props := dig(ev, "Properties")
		for path, want := range map[string]string{
			"ScheduleExpression":                   fromMap("Expression"),
			"RetryPolicy.MaximumEventAgeInSeconds": fromMap("RetrySeconds"),
		} {
			if got := asJSON(dig(props, strings.Split(path, ".")...)); got != want {
				t.Errorf("event %s: %s = %s, want %s", name, path, got, want)
			}
		}
		if dig(props, "DeadLetterConfig") == nil {
			t.Errorf("event %s has no DeadLetterConfig: undeliverable runs would vanish", name)
		}
	}
	if schedules != 1 {
		t.Errorf("%s has %d ScheduleV2 events, want 1", functionID, schedules)
	}
	if got, want := asJSON(fn["Timeout"]), fromMap("TimeoutSeconds"); got != want {
		t.Errorf("%s: Timeout = %s, want %s", functionID, got, want)
	}
	// SAM resolves parameters inside the function's EventInvokeConfig property when it
	// transforms the template: a plain (StackSet) template made from it would keep one
	// period's event age whatever SchedulePeriodMinutes says. The plain resource keeps it live.
	if ic := fn["EventInvokeConfig"]; ic != nil {
		t.Errorf("%s has an EventInvokeConfig property %s: SAM bakes parameters in it; use an AWS::Lambda::EventInvokeConfig resource",
			functionID, asJSON(ic))
	}
	ic := tpl.invokeConfig(t)
	if got := ic["MaximumRetryAttempts"]; got != float64(0) {
		t.Errorf("EventInvokeConfig.MaximumRetryAttempts = %v, want 0 (the next scheduled run is the retry)", got)
	}
	if got := asJSON(ic["MaximumEventAgeInSeconds"]); got != fromMap("RetrySeconds") {
		t.Errorf("EventInvokeConfig.MaximumEventAgeInSeconds = %s, want %s", got, fromMap("RetrySeconds"))
	}
	if got := ic["Qualifier"]; got != "$LATEST" {
		t.Errorf("EventInvokeConfig.Qualifier = %v, want $LATEST (the schedule invokes the unqualified function)", got)
	}

	// Every alarm's period, and every metric's in a metric-math alarm, is the schedule's.
	alarms := 0
	for id, r := range tpl.Resources {
		if r.Type != "AWS::CloudWatch::Alarm" {
			continue
		}
		alarms++
		periods := []any{r.Properties["Period"]}
		if m := r.Properties["Metrics"]; m != nil {
			periods = nil
			for _, q := range asList(m) {
				if stat := dig(q, "MetricStat"); stat != nil {
					periods = append(periods, dig(stat, "Period"))
				}
			}
		}
		for _, got := range periods {
			if asJSON(got) != fromMap("Seconds") {
				t.Errorf("alarm %s: period %s, want %s", id, asJSON(got), fromMap("Seconds"))
			}
		}
	}
	if alarms == 0 {
		t.Error("template has no alarms")
	}
}

// TestAlarmsWatchTheWatcher checks the alarms that tell people the watcher itself is broken:
// they must reach the topic the function publishes to (its own or the central one), watch this
// function, and the heartbeat must count only the schedule's own successful runs and treat
// silence as failure (a schedule that stopped firing produces no data at all).
func TestAlarmsWatchTheWatcher(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) { alarmsWatchTheWatcher(t, m) })
	}
}

func alarmsWatchTheWatcher(t *testing.T, m mode) {
	tpl := deployed(t, m)
	fn := tpl.function(t)
	topic := asJSON(tpl.environment(t)[config.TopicARN])
	onFunction := asJSON([]any{map[string]any{"Name": "FunctionName", "Value": map[string]any{"Ref": functionID}}})

	// The queue where failed runs land: the function's OnFailure destination, and the schedule's
	// dead-letter queue, which must be the same one so that one alarm covers both.
	ic := tpl.invokeConfig(t)
	queue := refTo(dig(ic, "DestinationConfig", "OnFailure", "Destination"), "Arn")
	if queue == "" || tpl.Resources[queue].Type != "AWS::SQS::Queue" {
		t.Fatalf("%s: EventInvokeConfig OnFailure is %s, want a queue of this template",
			functionID, asJSON(dig(ic, "DestinationConfig")))
	}
	if got := refTo(dig(fn, "Events", "Schedule", "Properties", "DeadLetterConfig", "Arn"), "Arn"); got != queue {
		t.Errorf("the schedule's dead-letter queue is %q, the OnFailure destination %q: want one queue", got, queue)
	}
	onQueue := asJSON([]any{map[string]any{"Name": "QueueName", "Value": map[string]any{"Fn::GetAtt": []any{queue, "QueueName"}}}})

	testCases := []struct {
		id         string
		namespace  string
		metric     string
		dimensions string
		want       map[string]string
	}{
		{"ErrorsAlarm", "AWS/Lambda", "Errors", onFunction, map[string]string{
			"ComparisonOperator": `"GreaterThanOrEqualToThreshold"`, "Threshold": "1",
			"EvaluationPeriods": "1", "Statistic": `"Sum"`, "TreatMissingData": `"notBreaching"`,
		}},
		// ScheduledRuns is 1 only for a successful run EventBridge started (cmd/handler).
		{"HeartbeatAlarm", "PhoneWatch", "ScheduledRuns", onFunction, map[string]string{
			"ComparisonOperator": `"LessThanThreshold"`, "Threshold": "1", "Statistic": `"Sum"`,
			"EvaluationPeriods": "3", "DatapointsToAlarm": "3", "TreatMissingData": `"breaching"`,
		}},
		{"CheckErrorsAlarm", "PhoneWatch", "Errors", onFunction, map[string]string{
			"ComparisonOperator": `"GreaterThanOrEqualToThreshold"`, "Threshold": "1",
			"EvaluationPeriods": "3", "DatapointsToAlarm": "3", "Statistic": `"Sum"`,
		}},
		// Copies of notifications, for three runs in a row (issue 18).
		{"UnconfirmedPublishesAlarm", "PhoneWatch", "UnconfirmedPublishes", onFunction, map[string]string{
			"ComparisonOperator": `"GreaterThanOrEqualToThreshold"`, "Threshold": "1",
			"EvaluationPeriods": "3", "DatapointsToAlarm": "3", "Statistic": `"Sum"`,
		}},
		// The claim/release budget at 90 % of Connect's limit (issue 21).
		{"ClaimReleaseBudgetAlarm", "PhoneWatch", "ClaimReleaseBudgetPercent", onFunction, map[string]string{
			"ComparisonOperator": `"GreaterThanOrEqualToThreshold"`, "Threshold": "90",
			"EvaluationPeriods": "1", "Statistic": `"Maximum"`, "TreatMissingData": `"notBreaching"`,
		}},
		{"DeadLetterAlarm", "AWS/SQS", "ApproximateNumberOfMessagesVisible", onQueue, map[string]string{
			"ComparisonOperator": `"GreaterThanThreshold"`, "Threshold": "0", "Statistic": `"Maximum"`,
			"EvaluationPeriods": "1", "TreatMissingData": `"notBreaching"`,
		}},
	}
	alarms := 0
	for _, r := range tpl.Resources {
		if r.Type == "AWS::CloudWatch::Alarm" {
			alarms++
		}
	}
	if alarms != len(testCases) {
		t.Errorf("template has %d alarms, this test knows %d: test the new one here", alarms, len(testCases))
	}
	for _, tc := range testCases {
		t.Run(tc.id, func(t *testing.T) {
			r := tpl.resource(t, tc.id)
			for _, actions := range []string{"AlarmActions", "OKActions"} {
				if got := asJSON(r.Properties[actions]); got != "["+topic+"]" {
					t.Errorf("%s = %s, want [%s]", actions, got, topic)
				}
			}
			for field, want := range tc.want {
				if got := asJSON(r.Properties[field]); got != want {
					t.Errorf("%s = %s, want %s", field, got, want)
				}
			}
			if r.Properties["Namespace"] != tc.namespace || r.Properties["MetricName"] != tc.metric {
				t.Errorf("watches %v/%v, want %s/%s", r.Properties["Namespace"], r.Properties["MetricName"], tc.namespace, tc.metric)
			}
			if got := asJSON(r.Properties["Dimensions"]); got != tc.dimensions {
				t.Errorf("Dimensions = %s, want %s", got, tc.dimensions)
			}
		})
	}
}
