package deploy

import (
	"regexp"
	"slices"
	"testing"
)

// hubTemplate is the organisation's central topic (docs/organization.md).
const hubTemplate = "docs/hub-topic.yaml"

// TestHubLetsMembersPublish checks the hub's policies against what a member stack does with
// CentralTopicArn and CentralTopicKeyArn: its function's role publishes (and SNS uses the key
// on its behalf) from any account of the organisation, and its alarms publish through
// CloudWatch's service principal; each grant is held to the organisation.
func TestHubLetsMembersPublish(t *testing.T) {
	hub := loadTemplateFile(t, hubTemplate)
	org := asJSON(map[string]any{"Ref": "OrganizationId"})
	type grant struct{ principal, conditionKey string }
	granted := func(statements []any) map[string][]grant {
		out := map[string][]grant{}
		for _, s := range statements {
			if dig(s, "Effect") != "Allow" {
				continue
			}
			for _, a := range asList(dig(s, "Action")) {
				for _, key := range []string{"aws:PrincipalOrgID", "aws:SourceOrgID"} {
					if asJSON(dig(s, "Condition", "StringEquals", key)) == org {
						out[a.(string)] = append(out[a.(string)], grant{asJSON(dig(s, "Principal")), key})
					}
				}
			}
		}
		return out
	}
	anyone := `{"AWS":"*"}`
	cloudwatch := `{"Service":"cloudwatch.amazonaws.com"}`

	var topic, key string
	for id, r := range hub.Resources {
		switch r.Type {
		case "AWS::SNS::Topic":
			topic = id
			key = refTo(r.Properties["KmsMasterKeyId"], "Arn")
		}
	}
	if topic == "" || key == "" {
		t.Fatalf("%s: want an SNS topic encrypted with a key of the template", hubTemplate)
	}
	var topicGrants map[string][]grant
	for _, r := range hub.Resources {
		if r.Type == "AWS::SNS::TopicPolicy" && slices.ContainsFunc(asList(r.Properties["Topics"]), func(v any) bool { return refTo(v, "") == topic }) {
			topicGrants = granted(asList(dig(r.Properties, "PolicyDocument", "Statement")))
		}
	}
	keyGrants := granted(asList(dig(hub.resource(t, key).Properties, "KeyPolicy", "Statement")))
	testCases := []struct {
		what   string
		grants map[string][]grant
		action string
		want   grant
	}{
		{"topic", topicGrants, "sns:Publish", grant{anyone, "aws:PrincipalOrgID"}},
		{"topic", topicGrants, "sns:Publish", grant{cloudwatch, "aws:SourceOrgID"}},
		{"key", keyGrants, "kms:GenerateDataKey", grant{anyone, "aws:PrincipalOrgID"}},
		{"key", keyGrants, "kms:Decrypt", grant{anyone, "aws:PrincipalOrgID"}},
		{"key", keyGrants, "kms:GenerateDataKey*", grant{cloudwatch, "aws:SourceOrgID"}},
		{"key", keyGrants, "kms:Decrypt", grant{cloudwatch, "aws:SourceOrgID"}},
	}
	for _, tc := range testCases {
		if !slices.Contains(tc.grants[tc.action], tc.want) {
			t.Errorf("hub %s: %s is not allowed to %s with %s = the organisation; grants %v",
				tc.what, tc.want.principal, tc.action, tc.want.conditionKey, tc.grants[tc.action])
		}
	}

	// The hub's outputs are what a member stack's parameters accept.
	member := loadTemplate(t)
	for output, param := range map[string]string{"TopicArn": "CentralTopicArn", "KeyArn": "CentralTopicKeyArn"} {
		example := map[string]string{"CentralTopicArn": centralTopic, "CentralTopicKeyArn": centralKey}[param]
		if !regexp.MustCompile(member.Parameters[param].AllowedPattern).MatchString(example) {
			t.Errorf("parameter %s refuses %s, what the hub's %s output looks like", param, example, output)
		}
		if hub.Outputs[output] == nil {
			t.Errorf("%s has no output %s for the members' %s", hubTemplate, output, param)
		}
	}
}
