package notify

import (
	"reflect"
	"unicode/utf8"

	"github.com/phonewatch/phonewatch/internal/status"
)

// maxEntryBytes is the most one notification's PublishBatch entry (message, subject and
// attributes, as SNS counts them) takes: half of SNS's 256 KiB, so that every notification
// fits with room whatever Connect or CloudTrail sent, and two always share a call.
const maxEntryBytes = 128 * 1024

// fieldCaps are the caps, in characters, on every string a notification carries (Connect's
// description, ARNs and IDs, CloudTrail's caller and target, and any field added later), tried
// in turn until the rendered entry fits maxEntryBytes. The first keeps anything AWS really
// sends whole (an ARN is at most 2,048 characters, a description 500); the later ones apply
// only to hostile input (control characters that JSON and markdown escaping multiply), and the
// last bounds the worst case below maxEntryBytes (TestLargestMessage).
var fieldCaps = []int{2048, 256, 64, 16}

// capped returns n with every string in it (nested operations, slices and maps included) cut
// to at most limit characters, an ellipsis marking the cut. n itself is not changed.
func capped(n status.Notification, limit int) status.Notification {
	capValue(reflect.ValueOf(&n).Elem(), limit)
	return n
}

// capValue cuts the strings in v, which must be settable; what pointers, slices and maps
// refer to is copied first, so that the caller's values are never changed.
func capValue(v reflect.Value, limit int) {
	switch v.Kind() {
	case reflect.String:
		if s := v.String(); utf8.RuneCountInString(s) > limit {
			v.SetString(cut(s, limit))
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if f := v.Field(i); f.CanSet() {
				capValue(f, limit)
			}
		}
	case reflect.Pointer:
		if !v.IsNil() {
			c := reflect.New(v.Elem().Type())
			c.Elem().Set(v.Elem())
			capValue(c.Elem(), limit)
			v.Set(c)
		}
	case reflect.Slice:
		if !v.IsNil() && v.Type().Elem().Kind() != reflect.Uint8 {
			c := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
			reflect.Copy(c, v)
			for i := range c.Len() {
				capValue(c.Index(i), limit)
			}
			v.Set(c)
		}
	case reflect.Map:
		if !v.IsNil() {
			c := reflect.MakeMapWithSize(v.Type(), v.Len())
			for it := v.MapRange(); it.Next(); {
				k := reflect.New(v.Type().Key()).Elem()
				k.Set(it.Key())
				capValue(k, limit)
				e := reflect.New(v.Type().Elem()).Elem()
				e.Set(it.Value())
				capValue(e, limit)
				c.SetMapIndex(k, e)
			}
			v.Set(c)
		}
	}
}

// cut is s cut to limit characters, the last of them an ellipsis.
func cut(s string, limit int) string {
	if limit <= 1 {
		return "…"
	}
	n := 0
	for i := range s {
		if n == limit-1 {
			return s[:i] + "…"
		}
		n++
	}
	return s
}
