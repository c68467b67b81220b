package monitor_test

import (
	"testing"
	"time"

	"github.com/phonewatch/phonewatch/internal/status"
)

// F2: FAILED published unconfirmed (run 1), a transient 404 (run 2), FAILED again with SNS's
// answer lost again (run 3), then run 4. Promise: at most one repeat (2 copies).
func TestReviewA_Transient404ForgetsAttempt(t *testing.T) {
	w := newWorld(t)
	id := ids(1, 1)[0]
	w.put("FAILED", id)
	m := w.monitor()
	copies := 0
	w.publishErr = func(status.Notification) error { return unconfirmed.err() }
	w.run(m, scheduled) // run 1: unconfirmed
	copies += len(w.published())
	t.Logf("after run 1 attempted=%v", w.records()[id].Attempted)

	w.advance(5 * time.Minute)
	w.mu.Lock()
	s := w.byID[id]
	delete(w.byID, id) // one transient ResourceNotFound
	w.mu.Unlock()
	w.run(m, scheduled)
	copies += len(w.published())
	t.Logf("after run 2 (404) attempted=%v", w.records()[id].Attempted)

	w.advance(5 * time.Minute)
	w.mu.Lock()
	w.byID[id] = s
	w.mu.Unlock()
	w.run(m, scheduled) // run 3: unconfirmed again
	copies += len(w.published())
	w.advance(5 * time.Minute)
	w.publishErr = nil
	w.run(m, scheduled) // run 4
	copies += len(w.published())
	if copies > 2 {
		t.Errorf("FAILED handed to SNS %d times; at most one repeat allows 2", copies)
	}
}
