package searchindex

import (
	"encoding/json"
	"fmt"
	"slices"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	directoryv1 "github.com/ponte-network/ponte/proto/ponte/directory/v1"

	"github.com/ponte-network/ponte/services/directory/store"
)

// The parts of the stored location and term documents (protojson, camelCase) the index
// reads, decoded with encoding/json: several times cheaper than protojson when a start-up
// reads every record. Services are decoded with protojson once, because the index also
// keeps each one as the search results return it (see serviceRecord).

type scheduleDoc struct {
	Weekday       string `json:"weekday"`
	OpensAt       string `json:"opensAt"`
	ClosesAt      string `json:"closesAt"`
	ValidFrom     string `json:"validFrom"`
	ValidTo       string `json:"validTo"`
	ExceptionDate string `json:"exceptionDate"`
	Closed        bool   `json:"closed"`
}

type locationDoc struct {
	ID               string        `json:"id"`
	MunicipalityCode string        `json:"municipalityCode"`
	Latitude         *float64      `json:"latitude"`
	Longitude        *float64      `json:"longitude"`
	Schedules        []scheduleDoc `json:"schedules"`
}

type termDoc struct {
	ID       string            `json:"id"`
	ParentID string            `json:"parentId"`
	Code     string            `json:"code"`
	Name     map[string]string `json:"name"`
}

func decode[T any](kind string, doc []byte) (*T, error) {
	v := new(T)
	if err := json.Unmarshal(doc, v); err != nil {
		return nil, fmt.Errorf("decode %s: %w", kind, err)
	}
	return v, nil
}

// Schedule is one opening of a schedule as OpenAt reads it, in numbers, so that the
// index holds schedules without pointers for the garbage collector to scan.
type Schedule struct {
	Weekday       int32 // ISO 8601: 1 Monday … 7 Sunday; 0 for exceptions
	Opens, Closes int16 // minutes after midnight; -1 when not given
	// ValidFrom, ValidTo and ExceptionDate as yyyymmdd; 0 when not given.
	ValidFrom, ValidTo, ExceptionDate int32
	Closed                            bool
}

// minutes reads "HH:MM" (24:00 included); -1 if it is not that.
func minutes(hm string) int16 {
	if len(hm) != 5 || hm[2] != ':' {
		return -1
	}
	h, m := digits(hm[:2]), digits(hm[3:])
	if h < 0 || m < 0 {
		return -1
	}
	return int16(h*60 + m)
}

// day reads "YYYY-MM-DD" as yyyymmdd; 0 if it is not that.
func day(d string) int32 {
	if len(d) != 10 || d[4] != '-' || d[7] != '-' {
		return 0
	}
	y, m, dd := digits(d[:4]), digits(d[5:7]), digits(d[8:])
	if y < 0 || m < 0 || dd < 0 {
		return 0
	}
	return int32(y*10000 + m*100 + dd)
}

// digits reads a run of ASCII digits; -1 if there is anything else.
func digits(s string) int {
	n := 0
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return -1
		}
		n = n*10 + int(s[i]-'0')
	}
	return n
}

func schedule(weekday int32, opens, closes, from, to, exception string, closed bool) Schedule {
	return Schedule{Weekday: weekday, Opens: minutes(opens), Closes: minutes(closes),
		ValidFrom: day(from), ValidTo: day(to), ExceptionDate: day(exception), Closed: closed}
}

// serviceRecord decodes a service's document (protojson) and sets what the store keeps
// beside it, as the directory's reads return them (a change-log payload carries them in
// its document already: pass a zero meta).
func serviceRecord(doc []byte, meta store.Record) (*directoryv1.Service, error) {
	m := &directoryv1.Service{}
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(doc, m); err != nil {
		return nil, fmt.Errorf("decode service: %w", err)
	}
	if meta.ID != "" {
		m.Etag, m.Origin = meta.Etag, meta.Origin
		m.CreateTime, m.UpdateTime = timestamppb.New(meta.CreateTime), timestamppb.New(meta.UpdateTime)
	}
	return m, nil
}

func protoSchedules(ds []*directoryv1.Schedule) []Schedule {
	if len(ds) == 0 {
		return nil
	}
	out := make([]Schedule, len(ds))
	for i, d := range ds {
		out[i] = schedule(int32(d.GetWeekday()), d.GetOpensAt(), d.GetClosesAt(), d.GetValidFrom(), d.GetValidTo(), d.GetExceptionDate(), d.GetClosed())
	}
	return out
}

func schedules(ds []scheduleDoc) []Schedule {
	if len(ds) == 0 {
		return nil
	}
	out := make([]Schedule, len(ds))
	for i, d := range ds {
		out[i] = schedule(directoryv1.Weekday_value[d.Weekday], d.OpensAt, d.ClosesAt, d.ValidFrom, d.ValidTo, d.ExceptionDate, d.Closed)
	}
	return out
}

// texts returns every translation of the maps.
func texts(extra []string, maps ...map[string]string) []string {
	out := slices.Clone(extra)
	for _, m := range maps {
		for _, t := range m {
			out = append(out, t)
		}
	}
	return out
}
