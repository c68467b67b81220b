package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/phonewatch/phonewatch/internal/budget"
)

// The claim/release budget's ledger (monitor.Ledger) lives in the state table beside the
// records, under reserved keys that All skips and Get and Save refuse: one item per accepted
// ClaimPhoneNumber or ReleasePhoneNumber, keyed by its CloudTrail event ID (so a call read
// twice is stored once), expiring through the table's TTL one day after it leaves Connect's
// 180-day window; and one account-level item with the ledger's coverage and what was
// announced.
const (
	// ledgerPrefix starts the key of every ledger entry: ledgerPrefix + eventID.
	ledgerPrefix = ReservedPrefix + "ledger#"
	// budgetKey is the account-level budget item.
	budgetKey = ReservedPrefix + "budget"
	// LedgerTTL is how long an entry is kept after its event time: the window and a day.
	LedgerTTL = budget.Window + 24*time.Hour

	ledgerNameAttr   = "eventName"
	ledgerTimeAttr   = "eventTime"
	ledgerByAttr     = "caller"
	ledgerNumberAttr = "number"
	budgetAttr       = "budget"
)

// AddLedger stores the entries, each under its event ID (storing one again is harmless).
// They go as unconditional Updates in TransactWriteItems of up to 100, the calls the role
// already has (IAM authorizes each as UpdateItem), so the ledger needs no permission of its own.
func (d *Dynamo) AddLedger(ctx context.Context, entries []budget.Entry) error {
	var writes []types.TransactWriteItem
	seen := map[string]bool{}
	for _, e := range entries {
		if e.EventID == "" || seen[e.EventID] {
			continue
		}
		seen[e.EventID] = true
		writes = append(writes, types.TransactWriteItem{Update: d.ledgerUpdate(e)})
	}
	for chunk := range slices.Chunk(writes, writeChunk) {
		if _, err := d.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: chunk}); err != nil {
			return fmt.Errorf("write %d ledger entries to table %s: %w", len(chunk), d.table, err)
		}
	}
	return nil
}

// ledgerUpdate sets every attribute of e's item.
func (d *Dynamo) ledgerUpdate(e budget.Entry) *types.Update {
	item := ledgerItem(e)
	names := map[string]string{}
	values := map[string]types.AttributeValue{}
	var set []string
	for _, name := range []string{ledgerNameAttr, ledgerTimeAttr, ledgerByAttr, ledgerNumberAttr, ttlAttr} {
		if v, ok := item[name]; ok {
			ph := strconv.Itoa(len(set))
			names["#a"+ph], values[":a"+ph] = name, v
			set = append(set, "#a"+ph+" = :a"+ph)
		}
	}
	return &types.Update{
		TableName:                 aws.String(d.table),
		Key:                       key(ledgerPrefix + e.EventID),
		UpdateExpression:          aws.String("SET " + strings.Join(set, ", ")),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
	}
}

func ledgerItem(e budget.Entry) map[string]types.AttributeValue {
	item := map[string]types.AttributeValue{
		keyAttr:        &types.AttributeValueMemberS{Value: ledgerPrefix + e.EventID},
		ledgerNameAttr: &types.AttributeValueMemberS{Value: e.Name},
		ledgerTimeAttr: &types.AttributeValueMemberS{Value: e.At.UTC().Format(time.RFC3339Nano)},
		ttlAttr:        &types.AttributeValueMemberN{Value: strconv.FormatInt(e.At.Add(LedgerTTL).Unix(), 10)},
	}
	if e.By != "" {
		item[ledgerByAttr] = &types.AttributeValueMemberS{Value: e.By}
	}
	if e.Number != "" {
		item[ledgerNumberAttr] = &types.AttributeValueMemberS{Value: e.Number}
	}
	return item
}

// Ledger returns the entries with an event time after since, oldest first: a strongly
// consistent Scan of the ledger's keys. An entry that cannot be read is skipped and counted in
// the error, which comes with the others (a count short by it is still a lower bound).
func (d *Dynamo) Ledger(ctx context.Context, since time.Time) ([]budget.Entry, error) {
	p := dynamodb.NewScanPaginator(d.client, &dynamodb.ScanInput{
		TableName:                 aws.String(d.table),
		ConsistentRead:            aws.Bool(true),
		FilterExpression:          aws.String("begins_with(#k, :p)"),
		ExpressionAttributeNames:  map[string]string{"#k": keyAttr},
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": &types.AttributeValueMemberS{Value: ledgerPrefix}},
	})
	var out []budget.Entry
	var bad []string
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("scan the ledger of table %s: %w", d.table, err)
		}
		for _, item := range page.Items {
			e, err := ledgerEntry(item)
			switch {
			case err != nil:
				bad = append(bad, err.Error())
			case e.At.After(since):
				out = append(out, e)
			}
		}
	}
	sortEntries(out)
	return out, badEntries(d.table, bad)
}

func ledgerEntry(item map[string]types.AttributeValue) (budget.Entry, error) {
	s := func(name string) string {
		v, _ := item[name].(*types.AttributeValueMemberS)
		if v == nil {
			return ""
		}
		return v.Value
	}
	e := budget.Entry{EventID: strings.TrimPrefix(s(keyAttr), ledgerPrefix), Name: s(ledgerNameAttr),
		By: s(ledgerByAttr), Number: s(ledgerNumberAttr)}
	at, err := time.Parse(time.RFC3339Nano, s(ledgerTimeAttr))
	if err != nil || e.EventID == "" || e.Name == "" {
		return e, fmt.Errorf("%s%s: %s is %s", ledgerPrefix, e.EventID, ledgerTimeAttr, describe(item[ledgerTimeAttr]))
	}
	e.At = at.UTC()
	return e, nil
}

// BudgetAccount returns the account-level budget item; a zero Account when none is stored.
func (d *Dynamo) BudgetAccount(ctx context.Context) (budget.Account, error) {
	out, err := d.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(d.table), Key: key(budgetKey), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return budget.Account{}, fmt.Errorf("read the budget item from table %s: %w", d.table, err)
	}
	if out.Item == nil {
		return budget.Account{}, nil
	}
	v, ok1 := out.Item[versionAttr].(*types.AttributeValueMemberN)
	b, ok2 := out.Item[budgetAttr].(*types.AttributeValueMemberS)
	if !ok1 || !ok2 {
		return budget.Account{}, fmt.Errorf("table %s: the budget item %s is not in phonewatch's format "+
			"(delete it to start the ledger's coverage over)", d.table, budgetKey)
	}
	return decodeAccount(d.table, v.Value, b.Value)
}

// SaveBudgetAccount writes a where the stored version is still a.Version (none stored: 0),
// storing Version+1, with a conditional UpdateItem. conflict reports that another run wrote it
// first (nothing written).
func (d *Dynamo) SaveBudgetAccount(ctx context.Context, a budget.Account) (conflict bool, err error) {
	body, err := json.Marshal(a)
	if err != nil {
		return false, fmt.Errorf("encode the budget item: %w", err)
	}
	in := &dynamodb.UpdateItemInput{
		TableName:                aws.String(d.table),
		Key:                      key(budgetKey),
		UpdateExpression:         aws.String("SET #v = :next, #b = :b"),
		ExpressionAttributeNames: map[string]string{"#v": versionAttr, "#b": budgetAttr},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":next": &types.AttributeValueMemberN{Value: strconv.FormatInt(a.Version+1, 10)},
			":b":    &types.AttributeValueMemberS{Value: string(body)},
		},
	}
	if a.Version == 0 {
		in.ConditionExpression = aws.String("attribute_not_exists(#v)")
	} else {
		in.ConditionExpression = aws.String("#v = :v")
		in.ExpressionAttributeValues[":v"] = &types.AttributeValueMemberN{Value: strconv.FormatInt(a.Version, 10)}
	}
	_, err = d.client.UpdateItem(ctx, in)
	var failed *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &failed):
		return true, nil
	case err != nil:
		return false, fmt.Errorf("save the budget item to table %s: %w", d.table, err)
	}
	return false, nil
}

func decodeAccount(where, version, body string) (budget.Account, error) {
	var a budget.Account
	n, err := strconv.ParseInt(version, 10, 64)
	if err != nil || n < 1 {
		return a, fmt.Errorf("%s: the budget item's version %q is not a positive whole number", where, version)
	}
	if err := json.Unmarshal([]byte(body), &a); err != nil {
		return a, fmt.Errorf("%s: the budget item is unreadable (delete it to start the ledger's coverage over): %w", where, err)
	}
	a.Version = n
	return a, nil
}

func sortEntries(es []budget.Entry) {
	slices.SortFunc(es, func(a, b budget.Entry) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		return strings.Compare(a.EventID, b.EventID)
	})
}

func badEntries(where string, bad []string) error {
	if len(bad) == 0 {
		return nil
	}
	return fmt.Errorf("%s: %d ledger entries unreadable, left out of the count (e.g. %s)", where, len(bad), bad[0])
}

// fileLedgerEntry is a ledger entry of the state file, under ledgerPrefix + eventID.
type fileLedgerEntry struct {
	ID     string    `json:"phoneNumberId"`
	Name   string    `json:"eventName"`
	At     time.Time `json:"eventTime"`
	By     string    `json:"caller,omitempty"`
	Number string    `json:"number,omitempty"`
}

// fileBudget is the budget item of the state file, under budgetKey.
type fileBudget struct {
	ID      string          `json:"phoneNumberId"`
	Version int64           `json:"version"`
	Budget  json.RawMessage `json:"budget"`
}

// AddLedger stores the entries in the state file, each under its event ID. A local file has
// no TTL: entries older than LedgerTTL are dropped here instead.
func (f *File) AddLedger(ctx context.Context, entries []budget.Entry) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	m, err := f.load()
	if err != nil {
		return err
	}
	newest := time.Time{}
	for _, e := range entries {
		if e.EventID == "" {
			continue
		}
		raw, err := json.Marshal(fileLedgerEntry{ID: ledgerPrefix + e.EventID, Name: e.Name, At: e.At.UTC(), By: e.By, Number: e.Number})
		if err != nil {
			return fmt.Errorf("encode ledger entry %s: %w", e.EventID, err)
		}
		m[ledgerPrefix+e.EventID] = raw
		if e.At.After(newest) {
			newest = e.At
		}
	}
	for k, raw := range m {
		if e, err := fileEntry(k, raw); strings.HasPrefix(k, ledgerPrefix) && err == nil && e.At.Add(LedgerTTL).Before(newest) {
			delete(m, k)
		}
	}
	return f.write(m)
}

func fileEntry(k string, raw json.RawMessage) (budget.Entry, error) {
	var fe fileLedgerEntry
	if err := json.Unmarshal(raw, &fe); err != nil || fe.Name == "" || fe.At.IsZero() {
		return budget.Entry{}, fmt.Errorf("%s is not a ledger entry", k)
	}
	return budget.Entry{EventID: strings.TrimPrefix(k, ledgerPrefix), Name: fe.Name, At: fe.At.UTC(), By: fe.By, Number: fe.Number}, nil
}

// Ledger returns the state file's entries with an event time after since, oldest first.
func (f *File) Ledger(ctx context.Context, since time.Time) ([]budget.Entry, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m, err := f.load()
	if err != nil {
		return nil, err
	}
	var out []budget.Entry
	var bad []string
	for k, raw := range m {
		if !strings.HasPrefix(k, ledgerPrefix) {
			continue
		}
		e, err := fileEntry(k, raw)
		switch {
		case err != nil:
			bad = append(bad, err.Error())
		case e.At.After(since):
			out = append(out, e)
		}
	}
	sortEntries(out)
	return out, badEntries("state file "+f.path, bad)
}

// BudgetAccount returns the state file's budget item; a zero Account when none is stored.
func (f *File) BudgetAccount(ctx context.Context) (budget.Account, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m, err := f.load()
	if err != nil {
		return budget.Account{}, err
	}
	return f.account(m)
}

func (f *File) account(m map[string]json.RawMessage) (budget.Account, error) {
	raw, ok := m[budgetKey]
	if !ok {
		return budget.Account{}, nil
	}
	var fb fileBudget
	if err := json.Unmarshal(raw, &fb); err != nil {
		return budget.Account{}, fmt.Errorf("state file %s: the budget item (%s) is unreadable (fix or remove it): %w", f.path, budgetKey, err)
	}
	return decodeAccount("state file "+f.path, strconv.FormatInt(fb.Version, 10), string(fb.Budget))
}

// SaveBudgetAccount writes a where the stored version is still a.Version, as the table does.
func (f *File) SaveBudgetAccount(ctx context.Context, a budget.Account) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m, err := f.load()
	if err != nil {
		return false, err
	}
	stored, err := f.account(m)
	if err != nil {
		return false, err
	}
	if stored.Version != a.Version {
		return true, nil
	}
	body, err := json.Marshal(a)
	if err != nil {
		return false, fmt.Errorf("encode the budget item: %w", err)
	}
	raw, err := json.Marshal(fileBudget{ID: budgetKey, Version: a.Version + 1, Budget: body})
	if err != nil {
		return false, fmt.Errorf("encode the budget item: %w", err)
	}
	m[budgetKey] = raw
	return false, f.write(m)
}
