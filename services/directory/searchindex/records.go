package searchindex

import (
	"encoding/json"
	"fmt"
	"slices"

	directoryv1 "github.com/ponte-network/ponte/proto/ponte/directory/v1"
)

// The parts of the stored documents (protojson, camelCase) the index reads, decoded with
// encoding/json: several times cheaper than protojson when a start-up reads every service.

type scheduleDoc struct {
	Weekday       string `json:"weekday"`
	OpensAt       string `json:"opensAt"`
	ClosesAt      string `json:"closesAt"`
	ValidFrom     string `json:"validFrom"`
	ValidTo       string `json:"validTo"`
	ExceptionDate string `json:"exceptionDate"`
	Closed        bool   `json:"closed"`
}

type serviceDoc struct {
	ID                     string            `json:"id"`
	Status                 string            `json:"status"`
	Name                   map[string]string `json:"name"`
	Description            map[string]string `json:"description"`
	Eligibility            map[string]string `json:"eligibility"`
	InterpretationServices map[string]string `json:"interpretationServices"`
	TaxonomyTermIDs        []string          `json:"taxonomyTermIds"`
	Languages              []string          `json:"languages"`
	TargetGroups           []string          `json:"targetGroups"`
	Schedules              []scheduleDoc     `json:"schedules"`
	ServiceAtLocations     []struct {
		LocationID string        `json:"locationId"`
		Schedules  []scheduleDoc `json:"schedules"`
	} `json:"serviceAtLocations"`
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

// Schedule is one opening of a schedule, as openAt reads it.
type Schedule struct {
	Weekday       int32 // ISO 8601: 1 Monday … 7 Sunday; 0 for exceptions
	OpensAt       string
	ClosesAt      string
	ValidFrom     string
	ValidTo       string
	ExceptionDate string
	Closed        bool
}

func schedules(ds []scheduleDoc) []Schedule {
	if len(ds) == 0 {
		return nil
	}
	out := make([]Schedule, len(ds))
	for i, d := range ds {
		out[i] = Schedule{Weekday: directoryv1.Weekday_value[d.Weekday], OpensAt: d.OpensAt, ClosesAt: d.ClosesAt,
			ValidFrom: d.ValidFrom, ValidTo: d.ValidTo, ExceptionDate: d.ExceptionDate, Closed: d.Closed}
	}
	return out
}

// SchedulesOf converts API schedules.
func SchedulesOf(ps []*directoryv1.Schedule) []Schedule {
	out := make([]Schedule, len(ps))
	for i, p := range ps {
		out[i] = Schedule{Weekday: int32(p.GetWeekday()), OpensAt: p.GetOpensAt(), ClosesAt: p.GetClosesAt(),
			ValidFrom: p.GetValidFrom(), ValidTo: p.GetValidTo(), ExceptionDate: p.GetExceptionDate(), Closed: p.GetClosed()}
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
