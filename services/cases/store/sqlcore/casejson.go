package sqlcore

import (
	"errors"
	"strconv"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/reflect/protoreflect"

	casesv1 "github.com/ponte-network/ponte/proto/ponte/cases/v1"
)

// appendCaseJSON appends k as a protojson document (camelCase names, enum names, default
// values left out) without going through protobuf reflection: batch upserts write two
// documents per case (the stored one and the change-log payload), and protojson was the
// largest cost of a batch. With meta false, version, etag and the times are left out
// (the stored document: those live in columns). TestCaseJSONMatchesProtojson keeps it
// equal to protojson field by field, and fails when Case gains a field it does not know.
func appendCaseJSON(b []byte, k *casesv1.Case, meta bool) ([]byte, error) {
	b = append(b, '{')
	first := true
	str := func(name, v string) {
		if v == "" {
			return
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, '"')
		b = append(b, name...)
		b = append(b, '"', ':')
		b = appendJSONString(b, v)
	}
	raw := func(name string, v []byte) {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, '"')
		b = append(b, name...)
		b = append(b, '"', ':')
		b = append(b, v...)
	}
	enum := func(name string, e protoreflect.Enum) {
		if v := e.Descriptor().Values().ByNumber(e.Number()); v != nil {
			str(name, string(v.Name()))
			return
		}
		raw(name, strconv.AppendInt(nil, int64(e.Number()), 10)) // an undefined value: its number
	}
	for _, s := range [...]string{k.GetId(), k.GetPersonId(), k.GetOrganizationId(), k.GetDistrictCode(), k.GetMunicipalityCode(),
		k.GetAssignedOperator(), k.GetSource(), k.GetExternalId(), k.GetEtag(), k.GetAgeBand(), k.GetPersonOrganizationId()} {
		if !utf8.ValidString(s) {
			return nil, errors.New("a text field is not valid UTF-8")
		}
	}
	str("id", k.GetId())
	str("personId", k.GetPersonId())
	str("organizationId", k.GetOrganizationId())
	str("districtCode", k.GetDistrictCode())
	str("municipalityCode", k.GetMunicipalityCode())
	if c := k.GetCategory(); c != 0 {
		enum("category", c)
	}
	if needs := k.GetNeeds(); len(needs) > 0 {
		list := make([]byte, 0, 16*len(needs))
		list = append(list, '[')
		for i, n := range needs {
			if !utf8.ValidString(n) {
				return nil, errors.New("a need is not valid UTF-8")
			}
			if i > 0 {
				list = append(list, ',')
			}
			list = appendJSONString(list, n)
		}
		raw("needs", append(list, ']'))
	}
	if p := k.GetPhase(); p != 0 {
		enum("phase", p)
	}
	str("assignedOperator", k.GetAssignedOperator())
	str("source", k.GetSource())
	str("externalId", k.GetExternalId())
	if meta {
		if v := k.GetVersion(); v != 0 {
			raw("version", strconv.AppendInt(nil, int64(v), 10))
		}
		str("etag", k.GetEtag())
		if t := k.GetCreateTime(); t != nil {
			raw("createTime", appendJSONString(nil, t.AsTime().UTC().Format(time.RFC3339Nano)))
		}
		if t := k.GetUpdateTime(); t != nil {
			raw("updateTime", appendJSONString(nil, t.AsTime().UTC().Format(time.RFC3339Nano)))
		}
	}
	str("ageBand", k.GetAgeBand())
	str("personOrganizationId", k.GetPersonOrganizationId())
	return append(b, '}'), nil
}

// appendJSONString appends s (valid UTF-8) as a JSON string.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
