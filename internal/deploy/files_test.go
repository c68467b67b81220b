package deploy

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/phonewatch/phonewatch/internal/config"
	"github.com/phonewatch/phonewatch/internal/testenv"
	"github.com/phonewatch/phonewatch/internal/trigger"
)

// checks are the identifier checks the handler applies to its configuration.
var checks = config.Checks{TargetARN: trigger.ValidTargetARN, PhoneNumberRef: trigger.ValidPhoneNumberRef}

// lookupIn is os.LookupEnv over a map.
func lookupIn(env map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := env[name]
		return v, ok
	}
}

// TestCfnLint runs cfn-lint on the template and on the organisation's hub template
// (docs/hub-topic.yaml), which must be clean: no error and no warning.
func TestCfnLint(t *testing.T) {
	t.Parallel()
	bin, err := exec.LookPath("cfn-lint")
	if err != nil {
		testenv.Missing(t, "cfn-lint", "pip install cfn-lint")
	}
	for _, file := range []string{"template.yaml", hubTemplate} {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		cmd := exec.CommandContext(ctx, bin, "--", file)
		cmd.Dir = root
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		cancel()
		if err != nil {
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				t.Errorf("cfn-lint %s exited %d (2: errors, 4: warnings, 8: informational):\n%s",
					file, exit.ExitCode(), out.String())
				continue
			}
			t.Fatalf("run cfn-lint: %v\n%s", err, out.String())
		}
	}
}

// TestEnvJSON checks env.json, the environment of `sam local invoke`: SAM passes only the
// variables the template declares, so any other name there would silently do nothing, and
// its values must be a configuration the function accepts.
func TestEnvJSON(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(root, "env.json"))
	if err != nil {
		t.Fatalf("read env.json: %v", err)
	}
	var byFunction map[string]map[string]string
	if err := json.Unmarshal(raw, &byFunction); err != nil {
		t.Fatalf("env.json must map a function's logical ID to string variables: %v", err)
	}
	if keys := slices.Sorted(maps.Keys(byFunction)); !slices.Equal(keys, []string{functionID}) {
		t.Errorf("env.json is keyed by %v, want only %s", keys, functionID)
	}
	env := byFunction[functionID]
	declared := loadTemplate(t).environment(t)
	for _, name := range slices.Sorted(maps.Keys(env)) {
		if _, ok := declared[name]; !ok {
			t.Errorf("env.json sets %s, which the template does not declare: sam local would ignore it", name)
		}
	}
	if _, err := config.Load(lookupIn(env), true, checks); err != nil {
		t.Errorf("env.json is not a configuration the function accepts: %v", err)
	}
}

// TestTemplateDefaultsAreTheCodeDefaults deploys the template in the mind: each variable takes
// its parameter's default (or a stand-in for the resource it names), and the configuration
// that results must load, and be the one the code uses when nothing is set. A default changed
// on one side only would otherwise differ between a local run and AWS.
func TestTemplateDefaultsAreTheCodeDefaults(t *testing.T) {
	tpl := deployed(t, ownTopic)
	env := map[string]string{}
	for name, v := range tpl.environment(t) {
		id := refTo(v, "")
		switch p, isParam := tpl.Parameters[id]; {
		case id == "":
			t.Errorf("%s = %s: want !Ref to a parameter or a resource", name, asJSON(v))
		case isParam:
			if p.Default == nil {
				t.Errorf("%s comes from parameter %s, which has no default", name, id)
			}
			env[name] = fmt.Sprint(p.Default)
		case tpl.Resources[id].Type == "AWS::SNS::Topic":
			env[name] = "arn:aws:sns:us-east-1:123456789012:" + id // Ref of a topic is its ARN
		default:
			env[name] = id
		}
	}
	got, err := config.Load(lookupIn(env), true, checks)
	if err != nil {
		t.Fatalf("the template's defaults are not a valid configuration: %v", err)
	}
	want, err := config.Load(lookupIn(map[string]string{
		config.TopicARN: env[config.TopicARN], config.StateTable: env[config.StateTable],
	}), true, checks)
	if err != nil {
		t.Fatalf("configuration with nothing optional set: %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("the template's defaults give\n%+v\nbut the code's defaults are\n%+v", got, want)
	}
}

// TestParameterConstraints checks each parameter's constraints: CloudFormation refuses a
// deploy whose default breaks its own AllowedPattern, and the patterns must let the values
// DESIGN.md documents through while catching the typical slip.
func TestParameterConstraints(t *testing.T) {
	tpl := loadTemplate(t)
	patterns := map[string]*regexp.Regexp{}
	for name, p := range tpl.Parameters {
		if p.Default == nil {
			continue // sam deploy --guided asks
		}
		def := fmt.Sprint(p.Default)
		if p.AllowedPattern != "" {
			// CloudFormation matches the whole value; the patterns say so with ^...$.
			re, err := regexp.Compile(p.AllowedPattern)
			if err != nil {
				t.Errorf("%s: AllowedPattern %q: %v", name, p.AllowedPattern, err)
				continue
			}
			if !strings.HasPrefix(p.AllowedPattern, "^") || !strings.HasSuffix(p.AllowedPattern, "$") {
				t.Errorf("%s: AllowedPattern %q should be anchored with ^ and $", name, p.AllowedPattern)
			}
			patterns[name] = re
			if !re.MatchString(def) {
				t.Errorf("%s: default %q does not match its own AllowedPattern %q", name, def, p.AllowedPattern)
			}
		}
		if len(p.AllowedValues) > 0 && !slices.ContainsFunc(p.AllowedValues, func(v any) bool { return fmt.Sprint(v) == def }) {
			t.Errorf("%s: default %q is not among AllowedValues %v", name, def, p.AllowedValues)
		}
	}

	testCases := []struct {
		param string
		value string
		ok    bool
	}{
		{"TargetArns", "", true},
		{"TargetArns", "arn:aws:connect:us-east-1:123456789012:instance/11111111-1111-4111-8111-111111111111", true},
		{"TargetArns", "arn:aws:connect:us-east-1:123456789012:instance/a,arn:aws:connect:us-west-2:123456789012:traffic-distribution-group/b", true},
		{"TargetArns", "arn:aws:connect:us-east-1:123456789012:instance/a, arn:aws:connect:us-east-1:123456789012:instance/b", false},
		{"TargetArns", "11111111-1111-4111-8111-111111111111", false},
		{"PhoneNumberIds", "11111111-1111-4111-8111-111111111111,22222222-2222-4222-8222-222222222222", true},
		{"PhoneNumberIds", "a,,b", false},
		{"RetryWindow", "24h", true},
		{"RetryWindow", "1h30m", true},
		{"RetryWindow", "1 day", false},
		{"Reminders", "6h,1h", true},
		{"Reminders", "none", true},
		{"Reminders", "6h, 1h", false},
		{"StuckAfter", "45s", true},
		{"StuckAfter", "30", false},
		{"NotificationEmail", "", true},
		{"NotificationEmail", "oncall@example.com", true},
		{"NotificationEmail", "oncall@example.com,boss@example.com", false},
		{"SlackWorkspaceId", "T0123ABCD", true},
		{"SlackChannelId", "C0123ABCD", true},
		{"SlackChannelId", "#alerts", false},
		{"CentralTopicArn", "", true},
		{"CentralTopicArn", "arn:aws:sns:eu-west-1:111122223333:phonewatch-hub-HubTopic-1AB2C3", true},
		{"CentralTopicArn", "arn:aws-us-gov:sns:us-gov-west-1:111122223333:central", true},
		{"CentralTopicArn", "arn:aws:sqs:eu-west-1:111122223333:queue", false},
		{"CentralTopicArn", "phonewatch-central", false},
		{"CentralTopicKeyArn", "arn:aws:kms:eu-west-1:111122223333:key/11111111-2222-4333-8444-555555555555", true},
		{"CentralTopicKeyArn", "arn:aws:kms:eu-west-1:111122223333:alias/central", false}, // IAM needs the key ARN
		{"SweepEvery", "1h", true},
		{"SweepEvery", "hourly", false},
		{"DisplayTimezone", "", true},
		{"DisplayTimezone", "America/Argentina/Buenos_Aires", true},
		{"DisplayTimezone", "Etc/GMT+5", true},
		{"DisplayTimezone", "Europe/Berlin ", false},
		{"Stage", "prod", true},
		{"Stage", "Prod", false},
	}
	for _, tc := range testCases {
		re, ok := patterns[tc.param]
		if !ok {
			t.Errorf("parameter %s has no AllowedPattern", tc.param)
			continue
		}
		if got := re.MatchString(tc.value); got != tc.ok {
			t.Errorf("%s AllowedPattern %q on %q: match %v, want %v", tc.param, re, tc.value, got, tc.ok)
		}
	}
}

// TestSamConfig checks samconfig.toml's deploy defaults, and that they suffice: CAPABILITY_IAM
// covers unnamed IAM resources only, so a named role would fail `sam deploy`.
func TestSamConfig(t *testing.T) {
	f, err := os.Open(filepath.Join(root, "samconfig.toml"))
	if err != nil {
		t.Fatalf("open samconfig.toml: %v", err)
	}
	defer func() { _ = f.Close() }()
	// Enough TOML for this file: [tables] and key = value lines.
	values := map[string]string{}
	table := ""
	account := regexp.MustCompile(`\b[0-9]{12}\b`)
	for sc := bufio.NewScanner(f); sc.Scan(); {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if account.MatchString(line) {
			t.Errorf("samconfig.toml names an account: %q", line)
		}
		if strings.HasPrefix(line, "[") {
			table = strings.Trim(line, "[]")
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Errorf("samconfig.toml: cannot read %q", line)
			continue
		}
		values[table+"."+strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	// Each stage is complete on its own (SAM does not merge [default] into it), deploys a stack
	// of its own, and tags its resources with its name through the Stage parameter.
	stacks := map[string]string{}
	for stage, stageParam := range map[string]string{"default": "", "staging": "staging", "prod": "prod"} {
		want := map[string]string{
			stage + ".deploy.parameters.capabilities":      `"CAPABILITY_IAM"`,
			stage + ".deploy.parameters.confirm_changeset": "true",
			stage + ".deploy.parameters.resolve_s3":        "true",
		}
		for k, v := range want {
			if values[k] != v {
				t.Errorf("samconfig.toml: %s = %q, want %s", k, values[k], v)
			}
		}
		name := values[stage+".global.parameters.stack_name"]
		if other, dup := stacks[name]; dup || name == "" {
			t.Errorf("samconfig.toml: stage %s deploys stack %s, as does %q", stage, name, other)
		}
		stacks[name] = stage
		overrides := strings.Fields(strings.Trim(values[stage+".deploy.parameters.parameter_overrides"], `"`))
		if stageParam == "" {
			if slices.ContainsFunc(overrides, func(o string) bool { return strings.HasPrefix(o, "Stage=") }) {
				t.Errorf("samconfig.toml: [default] sets Stage; it should keep the template's default")
			}
			continue
		}
		if !slices.Contains(overrides, "Stage="+stageParam) {
			t.Errorf("samconfig.toml: [%s] parameter_overrides %v, want Stage=%s among them", stage, overrides, stageParam)
		}
		for _, o := range overrides {
			if p, _, _ := strings.Cut(o, "="); loadTemplate(t).Parameters[p].Type == "" {
				t.Errorf("samconfig.toml: [%s] overrides %s, which is no parameter of the template", stage, p)
			}
		}
	}
	if values["default.global.parameters.stack_name"] != `"phonewatch"` {
		t.Errorf("samconfig.toml: the default stack is %s, want \"phonewatch\"", values["default.global.parameters.stack_name"])
	}
	for k := range values {
		if strings.HasSuffix(k, ".region") || strings.HasSuffix(k, ".profile") || strings.HasSuffix(k, ".s3_bucket") {
			t.Errorf("samconfig.toml sets %s: that belongs to each user's own setup", k)
		}
	}

	named := map[string]string{
		"AWS::IAM::Role": "RoleName", "AWS::IAM::ManagedPolicy": "ManagedPolicyName",
		"AWS::IAM::User": "UserName", "AWS::IAM::Group": "GroupName", "AWS::IAM::InstanceProfile": "InstanceProfileName",
	}
	for id, r := range loadTemplate(t).Resources {
		if prop, ok := named[r.Type]; ok && r.Properties[prop] != nil {
			t.Errorf("%s sets %s: deploying it needs CAPABILITY_NAMED_IAM, not samconfig's CAPABILITY_IAM", id, prop)
		}
	}
}
