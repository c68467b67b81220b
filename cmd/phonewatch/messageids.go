package main

import (
	"context"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/smithy-go/middleware"
)

// messageIDs keeps the message IDs SNS returns for accepted PublishBatch entries, by the
// entry's notificationId attribute (unique per notification, where two notifications may
// share a subject): notify.SNS reports only success or failure, and an operator who sent something
// wants the ID SNS gave it. It reads the typed request and response of the real call, as a
// middleware of the SNS client, so the publish path stays notify.SNS's own.
type messageIDs struct {
	mu   sync.Mutex
	byID map[string]string
}

// option installs the middleware on an SNS client.
func (m *messageIDs) option(o *sns.Options) {
	o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
		return s.Initialize.Add(middleware.InitializeMiddlewareFunc("phonewatchMessageIDs", m.handle), middleware.After)
	})
}

func (m *messageIDs) handle(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
	out, md, err := next.HandleInitialize(ctx, in)
	req, okIn := in.Parameters.(*sns.PublishBatchInput)
	res, okOut := out.Result.(*sns.PublishBatchOutput)
	if err != nil || !okIn || !okOut {
		return out, md, err
	}
	notes := make(map[string]string, len(req.PublishBatchRequestEntries))
	for _, e := range req.PublishBatchRequestEntries {
		if a, ok := e.MessageAttributes["notificationId"]; ok {
			notes[aws.ToString(e.Id)] = aws.ToString(a.StringValue)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.byID == nil {
		m.byID = map[string]string{}
	}
	for _, s := range res.Successful {
		m.byID[notes[aws.ToString(s.Id)]] = aws.ToString(s.MessageId)
	}
	return out, md, err
}

// take returns (and forgets) the message ID SNS gave the notification with this
// notificationId, "" when none was recorded.
func (m *messageIDs) take(notificationID string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	id := m.byID[notificationID]
	delete(m.byID, notificationID)
	return id
}
