package notify

import "github.com/phonewatch/phonewatch/internal/status"

// Fits reports why SNS would refuse n as Publish sends it (rendered with its strings capped,
// within SNS's size limits), nil when it would take it. The simulated world (internal/sim)
// judges every notification it publishes through an in-process port with it.
func Fits(n status.Notification) error {
	_, err := newEntry(Renderer{}, 0, n)
	return err
}
