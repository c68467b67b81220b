package deploy

import (
	"slices"
	"strings"
	"testing"
)

// trustStatements returns the statements of a role's trust policy.
func trustStatements(t *testing.T, tpl cfnTemplate, role string) []any {
	t.Helper()
	r := tpl.resource(t, role)
	if r.Type != "AWS::IAM::Role" {
		t.Fatalf("%s is a %s, want AWS::IAM::Role", role, r.Type)
	}
	return asList(dig(r.Properties, "AssumeRolePolicyDocument", "Statement"))
}

// TestServiceTrustIsThisAccounts: a role that a service principal may assume is trusted for
// this account only (aws:SourceAccount), since a service principal acts for every account and
// anyone who knew the role's ARN could otherwise have the service use it (confused deputy).
// Lambda is the exception: it assumes a function's role only for a function of the role's own
// account, and documents no source condition for it.
func TestServiceTrustIsThisAccounts(t *testing.T) {
	tpl := deployed(t, slackMode)
	thisAccount := `{"Ref":"AWS::AccountId"}`
	var checked []string
	for id, r := range tpl.Resources {
		if r.Type != "AWS::IAM::Role" {
			continue
		}
		for _, s := range trustStatements(t, tpl, id) {
			for _, svc := range asList(dig(s, "Principal", "Service")) {
				if svc == "lambda.amazonaws.com" {
					continue
				}
				checked = append(checked, id)
				if got := asJSON(dig(s, "Condition", "StringEquals", "aws:SourceAccount")); got != thisAccount {
					t.Errorf("role %s trusts %v with aws:SourceAccount %s, want StringEquals this account (%s)", id, svc, got, thisAccount)
				}
			}
		}
	}
	slices.Sort(checked)
	if want := []string{"ScheduleRole", "SlackChannelRole"}; !slices.Equal(checked, want) {
		t.Errorf("service-trusted roles checked: %v, want %v", checked, want)
	}
}

// TestScheduleRole: the schedule runs with a role of this template (not SAM's generated one,
// whose trust has no condition), trusted by the scheduler only for this stack's own schedule
// group (the scheduler's aws:SourceArn is the schedule group's ARN), allowed to invoke this
// function and to keep what it cannot deliver in the dead-letter queue, and nothing else.
func TestScheduleRole(t *testing.T) {
	tpl := deployed(t, ownTopic)
	fn := tpl.function(t)
	props := dig(fn, "Events", "Schedule", "Properties")
	role := refTo(dig(props, "RoleArn"), "Arn")
	group := refTo(dig(props, "GroupName"), "")
	if role == "" || group == "" {
		t.Fatalf("schedule: RoleArn %s, GroupName %s; want a role and a schedule group of this template",
			asJSON(dig(props, "RoleArn")), asJSON(dig(props, "GroupName")))
	}
	if typ := tpl.resource(t, group).Type; typ != "AWS::Scheduler::ScheduleGroup" {
		t.Errorf("schedule group %s is a %s", group, typ)
	}
	trust := trustStatements(t, tpl, role)
	if len(trust) != 1 {
		t.Fatalf("role %s has %d trust statements, want 1", role, len(trust))
	}
	s := trust[0]
	if got := asJSON(dig(s, "Principal")); got != `{"Service":"scheduler.amazonaws.com"}` || dig(s, "Action") != "sts:AssumeRole" {
		t.Errorf("role %s trusts %s for %v, want scheduler.amazonaws.com for sts:AssumeRole", role, got, dig(s, "Action"))
	}
	wantCond := asJSON(map[string]any{"StringEquals": map[string]any{
		"aws:SourceAccount": map[string]any{"Ref": "AWS::AccountId"},
		"aws:SourceArn":     map[string]any{"Fn::GetAtt": []any{group, "Arn"}},
	}})
	if got := asJSON(dig(s, "Condition")); got != wantCond {
		t.Errorf("role %s trust condition %s, want %s", role, got, wantCond)
	}

	queue := refTo(dig(props, "DeadLetterConfig", "Arn"), "Arn")
	want := map[string]string{
		"lambda:InvokeFunction": asJSON(map[string]any{"Fn::GetAtt": []any{functionID, "Arn"}}),
		"sqs:SendMessage":       asJSON(map[string]any{"Fn::GetAtt": []any{queue, "Arn"}}),
	}
	got := map[string][]string{}
	for _, st := range roleStatements(t, tpl, role) {
		for _, a := range st.Actions {
			for _, r := range st.Resources {
				got[a] = append(got[a], asJSON(r))
			}
		}
	}
	for a, rs := range got {
		if len(rs) != 1 || rs[0] != want[a] {
			t.Errorf("role %s grants %s on %v, want only %v", role, a, rs, want)
		}
	}
	for a := range want {
		if got[a] == nil {
			t.Errorf("role %s does not grant %s on %s", role, a, want[a])
		}
	}
}

// TestNoGeneratedRoles: after the SAM transform, every IAM role is one this template defines
// (SAM generates a role for a schedule without RoleArn, trusting the scheduler unconditionally).
func TestNoGeneratedRoles(t *testing.T) {
	src := loadTemplate(t)
	for id, r := range transformed(t).Resources {
		if strings.HasPrefix(r.Type, "AWS::IAM::") {
			if _, ok := src.Resources[id]; !ok {
				t.Errorf("the SAM transform generates %s (%s): define it in template.yaml with its conditions", id, r.Type)
			}
		}
	}
}
