package notify

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/phonewatch/phonewatch/internal/status"
)

// Grouping numbers for reading. A full numbering-plan library (nyaruka/phonenumbers v1.8.1)
// formats every country as its people write it, but it took bin/bootstrap from 11.3 MB to
// 30.7 MB, over the 15 MB budget; this is phonewatch's own rule instead, simple and the same
// for every country outside North America:
//
//   - North American numbers (+1 and ten digits): +1 800 555 0100, as written there.
//   - Other valid E.164 numbers (+ and 8 to 15 digits): the country calling code, then the
//     national number in groups of four digits counted from the right, the leftmost group
//     holding what remains (1 to 4 digits): +44 20 7183 8750, +49 30 1234 5678,
//     +33 1 2345 6789, +81 3 1234 5678. The groups are for reading only and need not match the
//     country's own convention; the E.164 form is always shown beside them.
//   - Anything else is shown as it is.
//
// The calling code is found without a table of countries: ITU-T E.164 codes are prefix-free, 1
// and 7 are the only one-digit codes, the two-digit ones are listed in twoDigitCodes, and every
// other code has three digits.

// nanp is a North American Numbering Plan number in E.164: +1 and ten digits.
var nanp = regexp.MustCompile(`^\+1[0-9]{10}$`)

// validE164 is a valid E.164 number: + and 8 to 15 digits, the first not 0.
var validE164 = regexp.MustCompile(`^\+[1-9][0-9]{7,14}$`)

// twoDigitCodes are the two-digit country calling codes of ITU-T E.164.
var twoDigitCodes = map[string]bool{
	"20": true, "27": true, "30": true, "31": true, "32": true, "33": true, "34": true, "36": true,
	"39": true, "40": true, "41": true, "43": true, "44": true, "45": true, "46": true, "47": true,
	"48": true, "49": true, "51": true, "52": true, "53": true, "54": true, "55": true, "56": true,
	"57": true, "58": true, "60": true, "61": true, "62": true, "63": true, "64": true, "65": true,
	"66": true, "81": true, "82": true, "84": true, "86": true, "90": true, "91": true, "92": true,
	"93": true, "94": true, "95": true, "98": true,
}

// FormatNumber is an E.164 number grouped for reading by the rule above (+1 800 555 0100,
// +44 20 7183 8750), or e164 itself when it is not a valid E.164 number. Notifications and
// `phonewatch status` show numbers this way.
func FormatNumber(e164 string) string {
	switch {
	case nanp.MatchString(e164):
		return fmt.Sprintf("+1 %s %s %s", e164[2:5], e164[5:8], e164[8:])
	case !validE164.MatchString(e164):
		return e164
	}
	digits := e164[1:]
	cc := 3
	switch {
	case digits[0] == '1' || digits[0] == '7':
		cc = 1
	case twoDigitCodes[digits[:2]]:
		cc = 2
	}
	national := digits[cc:]
	var groups []string
	for len(national) > 4 {
		groups = append([]string{national[len(national)-4:]}, groups...)
		national = national[:len(national)-4]
	}
	groups = append([]string{national}, groups...)
	return "+" + digits[:cc] + " " + strings.Join(groups, " ")
}

// displayNumber is the number grouped for reading, or its ID when the E.164 string is missing.
func displayNumber(num status.Number) string {
	if num.E164 == "" {
		return num.ID
	}
	return FormatNumber(num.E164)
}

// numberBeside is the grouped number with its E.164 form beside it when they differ.
func numberBeside(num status.Number) string {
	g := FormatNumber(num.E164)
	if g == num.E164 {
		return num.E164
	}
	return g + " (E.164 " + num.E164 + ")"
}
