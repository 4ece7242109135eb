package mediators

import (
	"unicode"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/ponte-network/ponte/libs/grpcerr"
)

// checkText refuses, in every string of m, invalid UTF-8 and control characters (NUL
// among them) other than tab and newline: such text breaks CSV exports, calendars and
// the databases' text types, and is never what a person typed.
func checkText(field string, m proto.Message) grpcerr.Violations {
	var bad grpcerr.Violations
	walkStrings(field, m.ProtoReflect(), &bad)
	return bad
}

func walkStrings(path string, m protoreflect.Message, bad *grpcerr.Violations) {
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		name := path + "." + string(fd.Name())
		switch {
		case fd.IsList():
			l := v.List()
			for i := range l.Len() {
				item := name + "[" + itoa(i) + "]"
				switch fd.Kind() {
				case protoreflect.StringKind:
					checkString(item, l.Get(i).String(), bad)
				case protoreflect.MessageKind:
					walkStrings(item, l.Get(i).Message(), bad)
				}
			}
		case fd.IsMap():
			v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
				checkString(name, k.String(), bad)
				if fd.MapValue().Kind() == protoreflect.StringKind {
					checkString(name, mv.String(), bad)
				}
				return true
			})
		case fd.Kind() == protoreflect.StringKind:
			checkString(name, v.String(), bad)
		case fd.Kind() == protoreflect.MessageKind:
			walkStrings(name, v.Message(), bad)
		}
		return true
	})
}

func checkString(field, s string, bad *grpcerr.Violations) {
	if !utf8.ValidString(s) {
		bad.Add(field, "is not valid UTF-8")
		return
	}
	for _, r := range s {
		if unicode.IsControl(r) && r != '\t' && r != '\n' {
			bad.Add(field, "contains a control character (U+%04X)", r)
			return
		}
	}
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}
