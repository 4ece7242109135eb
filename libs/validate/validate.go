// Package validate checks the records of a request the way every Ponte service does: the
// strings no store can keep (textguard), the message's protovalidate rules, calendar dates
// and ISTAT municipality codes, reporting each problem as a field violation named as the
// request names the field ("items[2].case.external_id").
package validate

import (
	"errors"
	"time"

	"buf.build/go/protovalidate"
	"google.golang.org/protobuf/proto"

	"github.com/ponte-network/ponte/libs/grpcerr"
	"github.com/ponte-network/ponte/libs/territory"
	"github.com/ponte-network/ponte/libs/textguard"
)

// Message checks m, found at request field field, against the text rules and its
// protovalidate rules. When a string is refused (invalid UTF-8, NUL) only those
// violations are returned: the other rules are not meaningful on such text.
//
// A service calls it on the records it checks itself: batch items (which the server's
// request check skips, see textguard) and updates once merged.
func Message(field string, m proto.Message) grpcerr.Violations {
	if bad := textguard.Violations(m); len(bad) > 0 {
		var out grpcerr.Violations
		for _, b := range bad {
			out.Add(field+"."+b.Field, "%s", b.Reason)
		}
		return out
	}
	err := protovalidate.Validate(m)
	if err == nil {
		return nil
	}
	var verr *protovalidate.ValidationError
	if !errors.As(err, &verr) {
		return grpcerr.Violations{{Field: field, Description: "cannot be validated"}}
	}
	var bad grpcerr.Violations
	for _, v := range verr.Violations {
		bad.Add(field+"."+protovalidate.FieldPathString(v.Proto.GetField()), "%s", v.Proto.GetMessage())
	}
	return bad
}

// CivilDate adds a violation to bad when date is set and is not a calendar date in the
// form YYYY-MM-DD (2099-02-31 is refused). An empty date is left to the field's rules.
func CivilDate(bad *grpcerr.Violations, field, date string) {
	if date == "" {
		return
	}
	if _, err := time.Parse(time.DateOnly, date); err != nil {
		bad.Add(field, "%s is not a calendar date", date)
	}
}

// Municipality adds a violation to bad when code is set and is not an ISTAT municipality
// of catalog. An empty code is left to the field's rules.
func Municipality(bad *grpcerr.Violations, catalog *territory.Catalog, field, code string) {
	if code == "" {
		return
	}
	if _, ok := catalog.Municipality(code); !ok {
		bad.Add(field, "unknown ISTAT municipality %s", code)
	}
}
