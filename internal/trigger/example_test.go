package trigger_test

import (
	"fmt"

	"github.com/phonewatch/phonewatch/internal/trigger"
)

// A check request names numbers by ID or ARN; Parse validates each against Connect's formats and
// drops repeats, keeping the order.
func ExampleParse() {
	req, err := trigger.Parse([]byte(`{
		"phoneNumberIds": [
			"7c1e5a0b-3f64-4d2a-9e87-1b0c6d4f2a95",
			"arn:aws:connect:us-east-1:123456789012:phone-number/5a8d2f61-c047-4b9e-a3d5-6e1f7b20c948",
			"7c1e5a0b-3f64-4d2a-9e87-1b0c6d4f2a95"
		]
	}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("scheduled:", req.Scheduled)
	for _, id := range req.PhoneNumberIDs {
		fmt.Println("check:", id)
	}

	_, err = trigger.Parse([]byte(`{"phoneNumberId": "7c1e5a0b-3f64-4d2a-9e87-1b0c6d4f2a95"}`))
	fmt.Println(err)
	// Output:
	// scheduled: false
	// check: 7c1e5a0b-3f64-4d2a-9e87-1b0c6d4f2a95
	// check: arn:aws:connect:us-east-1:123456789012:phone-number/5a8d2f61-c047-4b9e-a3d5-6e1f7b20c948
	// unknown field "phoneNumberId": want a scheduled event or a check request {"phoneNumberIds":[…]} and/or {"targetArns":[…]}
}
