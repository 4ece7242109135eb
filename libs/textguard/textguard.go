// Package textguard finds the strings of a request that no store can keep and no caller
// means: invalid UTF-8 and NUL bytes (PostgreSQL refuses NUL in text, SQLSTATE 22021,
// and a NUL cut short by a C library would change a record's meaning). The REST edge
// checks path and query parameters with Fault; the gRPC server checks every string of a
// request message with Violations before its handler runs, so each service is covered by
// being registered.
//
// Inside the elements of a repeated field, fields marked with protovalidate's
// (buf.validate.field).ignore = IGNORE_ALWAYS are skipped: that is how a batch says its
// items are checked one by one (an invalid item is answered "invalid" and the others are
// written), and the service checks them itself, with Violations on each item. Outside a
// list the mark only defers protovalidate's rules (an update's partial record, checked
// once merged), and the record's strings are checked like any other.
package textguard

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go/buf/validate"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Reasons a string is refused, as Fault returns them.
const (
	ReasonInvalidUTF8 = "is not valid UTF-8"
	ReasonNUL         = "contains a NUL byte"
)

// Fault returns why s cannot be accepted as text, or "" when it can.
func Fault(s string) string {
	if !utf8.ValidString(s) {
		return ReasonInvalidUTF8
	}
	if strings.IndexByte(s, 0) >= 0 {
		return ReasonNUL
	}
	return ""
}

// Printable returns s made safe to echo in an error (a parameter's name): invalid bytes
// and NULs become U+FFFD, and at most 80 runes are kept.
func Printable(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\x00", "\uFFFD")
	if utf8.RuneCountInString(s) > 80 {
		s = string([]rune(s)[:80]) + "…"
	}
	return s
}

// Violation is one refused string: its field path (proto names, "items[2].case.external_id",
// map keys in brackets) and the reason.
type Violation struct {
	Field  string
	Reason string
}

// maxViolations bounds what one message reports: a caller learns the problem from the first few.
const maxViolations = 20

// Violations walks every string of m — fields, repeated and map values, map keys, nested
// messages (google.protobuf.Struct included) — and reports those Fault refuses, except
// under the per-item fields of a list's elements (see the package comment).
func Violations(m proto.Message) []Violation {
	if m == nil {
		return nil
	}
	var out []Violation
	walk(m.ProtoReflect(), "", false, &out)
	return out
}

func walk(m protoreflect.Message, prefix string, inList bool, out *[]Violation) {
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if len(*out) >= maxViolations {
			return false
		}
		if inList && CheckedPerItem(fd) {
			return true
		}
		path := prefix + string(fd.Name())
		switch {
		case fd.IsList():
			l := v.List()
			for i := 0; i < l.Len() && len(*out) < maxViolations; i++ {
				value(fd, l.Get(i), path+"["+strconv.Itoa(i)+"]", true, out)
			}
		case fd.IsMap():
			v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
				key := k.String()
				if fd.MapKey().Kind() == protoreflect.StringKind {
					if reason := Fault(key); reason != "" {
						*out = append(*out, Violation{Field: path, Reason: "has a key that " + reason})
						return len(*out) < maxViolations
					}
					key = strconv.Quote(key)
				}
				value(fd.MapValue(), mv, path+"["+key+"]", inList, out)
				return len(*out) < maxViolations
			})
		default:
			value(fd, v, path, inList, out)
		}
		return true
	})
}

func value(fd protoreflect.FieldDescriptor, v protoreflect.Value, path string, inList bool, out *[]Violation) {
	switch fd.Kind() {
	case protoreflect.StringKind:
		if reason := Fault(v.String()); reason != "" {
			*out = append(*out, Violation{Field: path, Reason: reason})
		}
	case protoreflect.MessageKind, protoreflect.GroupKind:
		walk(v.Message(), path+".", inList, out)
	}
}

// CheckedPerItem reports whether fd carries (buf.validate.field).ignore = IGNORE_ALWAYS:
// inside the elements of a repeated field, the mark of a batch item the service checks
// itself, answering a bad item "invalid" and writing the others.
func CheckedPerItem(fd protoreflect.FieldDescriptor) bool {
	opts := fd.Options()
	if opts == nil || !proto.HasExtension(opts, validate.E_Field) {
		return false
	}
	rules, _ := proto.GetExtension(opts, validate.E_Field).(*validate.FieldRules)
	return rules.GetIgnore() == validate.Ignore_IGNORE_ALWAYS
}
