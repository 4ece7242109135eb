// Package districts keeps the cases service's local copy of the directory's districts
// (which municipalities each groups) and organization ids, current from the directory's
// change feed over gRPC: the cases service never asks the directory per request, and
// never reads its tables.
//
// A Copy catches up with ListChanges, then follows WatchChanges; when the stream breaks
// it reconnects with backoff and catches up again from its last position. The copy is
// current while the stream is open; after it breaks, it is still trusted for MaxStale
// (districts change rarely: a municipality moving between districts is a network's
// decision of months), then Current refuses with ErrStale until the copy catches up
// again. Writes that need districts answer UNAVAILABLE then; reads keep working on the
// last copy (Last).
package districts

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"
)

// ErrStale is returned by Current when the copy has never caught up with the directory,
// or lost it longer than the staleness bound ago.
var ErrStale = errors.New("the districts are not known: the directory is unreachable")

// District is one district: its code and the six-digit ISTAT codes of its municipalities.
type District struct {
	Code           string
	Municipalities []string
}

// Snapshot is one consistent state of the copy; it is never changed once built.
type Snapshot struct {
	byCode         map[string][]string // district → sorted municipalities
	byMunicipality map[string][]string // municipality → sorted districts containing it
	orgs           map[string]bool
	// Position is the directory change-log position the snapshot reflects.
	Position int64
}

// NewSnapshot builds a snapshot of districts and organization ids, as the directory's
// feed describes them.
func NewSnapshot(districts []District, organizations []string, position int64) *Snapshot {
	s := &Snapshot{byCode: map[string][]string{}, byMunicipality: map[string][]string{}, orgs: map[string]bool{}, Position: position}
	for _, d := range districts {
		s.byCode[d.Code] = slices.Sorted(slices.Values(d.Municipalities))
	}
	s.index()
	for _, o := range organizations {
		s.orgs[o] = true
	}
	return s
}

func (s *Snapshot) index() {
	s.byMunicipality = map[string][]string{}
	for code, ms := range s.byCode {
		for _, m := range ms {
			s.byMunicipality[m] = append(s.byMunicipality[m], code)
		}
	}
	for _, ds := range s.byMunicipality {
		sort.Strings(ds)
	}
}

// Municipalities returns the municipalities of district code, and whether it exists.
func (s *Snapshot) Municipalities(code string) ([]string, bool) {
	if s == nil {
		return nil, false
	}
	ms, ok := s.byCode[code]
	return ms, ok
}

// Containing returns the districts that contain municipality, sorted.
func (s *Snapshot) Containing(municipality string) []string {
	if s == nil {
		return nil
	}
	return s.byMunicipality[municipality]
}

// Contains reports whether district code exists and contains municipality.
func (s *Snapshot) Contains(code, municipality string) bool {
	ms, ok := s.Municipalities(code)
	if !ok {
		return false
	}
	_, found := slices.BinarySearch(ms, municipality)
	return found
}

// Organization reports whether the directory lists an organization with this id.
func (s *Snapshot) Organization(id string) bool { return s != nil && s.orgs[id] }

// Len is the number of districts.
func (s *Snapshot) Len() int {
	if s == nil {
		return 0
	}
	return len(s.byCode)
}

// with returns a copy of s with one change applied.
func (s *Snapshot) with(topic, key, op string, municipalities []string, position int64) *Snapshot {
	n := &Snapshot{byCode: s.byCode, orgs: s.orgs, byMunicipality: s.byMunicipality, Position: position}
	switch topic {
	case topicDistrict:
		n.byCode = make(map[string][]string, len(s.byCode)+1)
		for k, v := range s.byCode {
			n.byCode[k] = v
		}
		if op == opDelete {
			delete(n.byCode, key)
		} else {
			n.byCode[key] = slices.Sorted(slices.Values(municipalities))
		}
		n.index()
	case topicOrganization:
		n.orgs = make(map[string]bool, len(s.orgs)+1)
		for k := range s.orgs {
			n.orgs[k] = true
		}
		if op == opDelete {
			delete(n.orgs, key)
		} else {
			n.orgs[key] = true
		}
	}
	return n
}

// Source is what a write asks for the districts: the current snapshot, or ErrStale.
type Source interface {
	// Current returns a snapshot no older than the staleness bound, or an error wrapping
	// ErrStale; before the first catch-up it waits for it until ctx is done or FirstWait.
	Current(ctx context.Context) (*Snapshot, error)
	// Last returns the latest snapshot whatever its age; nil before the first catch-up.
	Last() *Snapshot
}

// Static is a Source that never changes: districts known in advance, for the service's
// own tests and benchmarks (a running service follows the directory with a Copy).
type Static struct{ S *Snapshot }

// Current implements Source.
func (s Static) Current(context.Context) (*Snapshot, error) { return s.S, nil }

// Last implements Source.
func (s Static) Last() *Snapshot { return s.S }

// staleError says since when the copy lost the directory.
func staleError(since time.Time) error {
	if since.IsZero() {
		return fmt.Errorf("%w (not reached since the service started)", ErrStale)
	}
	return fmt.Errorf("%w (since %s)", ErrStale, since.UTC().Format(time.RFC3339))
}
