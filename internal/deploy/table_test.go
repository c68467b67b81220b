package deploy

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/phonewatch/phonewatch/internal/config"
	"github.com/phonewatch/phonewatch/internal/status"
	"github.com/phonewatch/phonewatch/internal/store"
	"github.com/phonewatch/phonewatch/internal/testenv"
)

// stateTable returns the logical ID and resource of the table the function keeps state in.
func stateTable(t *testing.T, tpl cfnTemplate) (string, cfnResource) {
	t.Helper()
	id := refTo(tpl.environment(t)[config.StateTable], "")
	r := tpl.resource(t, id)
	if r.Type != "AWS::DynamoDB::Table" {
		t.Fatalf("STATE_TABLE references %s, a %s, want an AWS::DynamoDB::Table", id, r.Type)
	}
	return id, r
}

// TestStateTableSettings checks what protects the state: it outlives the stack and a
// replacement (but not a first deploy that rolled back: that would leave an empty orphan per
// attempt), can be restored to any second of the last 35 days, and is encrypted.
func TestStateTableSettings(t *testing.T) {
	id, r := stateTable(t, loadTemplate(t))
	testCases := []struct {
		what string
		got  any
		want string
	}{
		{"DeletionPolicy", r.DeletionPolicy, `"RetainExceptOnCreate"`},
		{"UpdateReplacePolicy", r.UpdateReplacePolicy, `"Retain"`},
		{"BillingMode", r.Properties["BillingMode"], `"PAY_PER_REQUEST"`},
		{"PointInTimeRecoveryEnabled", dig(r.Properties, "PointInTimeRecoverySpecification", "PointInTimeRecoveryEnabled"), "true"},
		{"SSEEnabled", dig(r.Properties, "SSESpecification", "SSEEnabled"), "true"},
		{"TimeToLiveSpecification.Enabled", dig(r.Properties, "TimeToLiveSpecification", "Enabled"), "true"},
		// A fixed name would clash with the retained table of a deleted stack on redeploy.
		{"TableName", r.Properties["TableName"], "null"},
	}
	for _, tc := range testCases {
		if got := asJSON(tc.got); got != tc.want {
			t.Errorf("%s: %s = %s, want %s", id, tc.what, got, tc.want)
		}
	}
}

// TestStateTableServesTheStore builds the template's table (its key schema and its TTL) in
// moto_server and runs the real store against it: a key that differs from the one the store
// writes fails its writes, and the TTL must be on the attribute where the store puts the
// expiry of a retired record, or DynamoDB never deletes anything.
func TestStateTableServesTheStore(t *testing.T) {
	tpl := loadTemplate(t)
	id, r := stateTable(t, tpl)
	url := testenv.MotoURL(t)
	ctx := context.Background()
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatalf("load AWS config: %v", err)
	}
	client := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(url) })

	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	name := "pw-deploy-" + hex.EncodeToString(suffix)
	in := &dynamodb.CreateTableInput{
		TableName:   aws.String(name),
		BillingMode: types.BillingMode(fmt.Sprint(r.Properties["BillingMode"])),
	}
	for _, a := range asList(r.Properties["AttributeDefinitions"]) {
		in.AttributeDefinitions = append(in.AttributeDefinitions, types.AttributeDefinition{
			AttributeName: aws.String(fmt.Sprint(dig(a, "AttributeName"))),
			AttributeType: types.ScalarAttributeType(fmt.Sprint(dig(a, "AttributeType"))),
		})
	}
	for _, k := range asList(r.Properties["KeySchema"]) {
		in.KeySchema = append(in.KeySchema, types.KeySchemaElement{
			AttributeName: aws.String(fmt.Sprint(dig(k, "AttributeName"))),
			KeyType:       types.KeyType(fmt.Sprint(dig(k, "KeyType"))),
		})
	}
	if _, err := client.CreateTable(ctx, in); testenv.TableCreated(err) != nil {
		t.Fatalf("create the template's %s in moto: %v", id, err)
	}
	t.Cleanup(func() {
		_, _ = client.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(name)})
	})
	ttlAttr, _ := dig(r.Properties, "TimeToLiveSpecification", "AttributeName").(string)
	if ttlAttr == "" {
		t.Fatalf("%s has no TimeToLiveSpecification.AttributeName", id)
	}
	if _, err := client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName:               aws.String(name),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(ttlAttr), Enabled: aws.Bool(true)},
	}); err != nil {
		t.Fatalf("enable TTL on %s: %v", ttlAttr, err)
	}

	now := time.Date(2026, 11, 26, 5, 40, 0, 0, time.UTC)
	const liveID = "11111111-1111-4111-8111-111111111111"
	const goneID = "22222222-2222-4222-8222-222222222222"
	recs := []status.Record{
		{Number: status.Number{ID: liveID, E164: "+18005550100"}, Status: status.Claimed, CheckedAt: now, NotFailedAt: now},
		// Gone from Connect and never FAILED: retired, so the store sets its expiry.
		{Number: status.Number{ID: goneID, E164: "+18005550101"}, Status: status.NotFound, CheckedAt: now},
	}
	st := store.NewDynamo(client, name)
	conflicts, err := st.Save(ctx, recs)
	if err != nil || len(conflicts) != 0 {
		t.Fatalf("store.Save into the template's table: conflicts %v, error %v", conflicts, err)
	}
	all, err := st.All(ctx)
	if err != nil {
		t.Fatalf("store.All: %v", err)
	}
	if len(all) != 2 || all[0].ID != liveID || all[1].ID != goneID || all[0].Version != 1 {
		t.Fatalf("store.All read back %+v, want both records at version 1", all)
	}

	out, err := client.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(name)})
	if err != nil {
		t.Fatalf("scan: %v", err)
	}
	for _, item := range out.Items {
		key, _ := item[fmt.Sprint(dig(asList(r.Properties["KeySchema"])[0], "AttributeName"))].(*types.AttributeValueMemberS)
		if key == nil {
			t.Fatalf("item %v has no string key", item)
		}
		expiry, ok := item[ttlAttr].(*types.AttributeValueMemberN)
		switch key.Value {
		case goneID:
			if !ok {
				t.Errorf("the retired record has no number attribute %q (the table's TTL): it would never expire; item %v", ttlAttr, item)
			}
		case liveID:
			if item[ttlAttr] != nil {
				t.Errorf("the live record carries %q = %v: DynamoDB would delete a watched number's state", ttlAttr, expiry)
			}
		}
	}
}
