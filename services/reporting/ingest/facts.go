// Package ingest turns the other services' change feeds into reporting's anonymous
// facts and follows the feeds with durable cursors, as the reporting service principal.
// The Follower (follow.go) reads a list of Sources, one durable cursor each; each source
// is in its own file: cases.go, mediators.go (BookingFacts), housing.go (HousingFacts)
// and directory.go (DirectoryFacts), whose doc comments list the facts they make.
//
// # From the case feed (cases' ListReportingCases)
//
//   - case_opened, one per case ("case:<id>:opened"): the day the case was created
//     (Europe/Rome), its municipality, district, category and age band, its person's sex
//     and citizenship, and the person's keyed pseudonym. When the case changes, the fact
//     follows (a corrected municipality moves it); when it is deleted, the fact goes.
//   - delivery_reached, one per case that was seen in delivery or monitoring
//     ("case:<id>:delivery"): the day of the first entry in which reporting saw it there.
//     Later entries update its cell but not its day; a step back keeps it (the case did
//     reach delivery); a delete removes it.
//   - the facts of the case's events (consultations, interventions, referrals,
//     cross-cutting problems): see EventFacts.
//
// Pseudonyms and keys are HMAC-SHA-256 under the deployment's reporting secret: the
// person's pseudonym of "person:<id>", a fact's key of "fact:<id>". Without the secret
// nobody can link a pseudonym to a person id, nor compute a cell key. Replaying the feed
// from position zero yields the same facts, because each fact is a function of the
// entries up to it.
package ingest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"

	casesv1 "github.com/ponte-network/ponte/proto/ponte/cases/v1"

	"github.com/ponte-network/ponte/services/reporting/catalog"
	"github.com/ponte-network/ponte/services/reporting/disclosure"
	"github.com/ponte-network/ponte/services/reporting/store"
)

// Keys derives pseudonyms and record keys under the reporting secret.
type Keys struct{ secret []byte }

// MinSecretLen is the shortest reporting secret accepted.
const MinSecretLen = 16

// NewKeys returns the derivations under secret.
func NewKeys(secret []byte) (Keys, error) {
	if len(secret) < MinSecretLen {
		return Keys{}, errors.New("the reporting secret must be at least 16 bytes")
	}
	return Keys{secret: append([]byte(nil), secret...)}, nil
}

func (k Keys) mac(s string) []byte {
	m := hmac.New(sha256.New, k.secret)
	m.Write([]byte(s))
	return m.Sum(nil)
}

// Person returns a person's pseudonym and record key.
func (k Keys) Person(id string) (string, uint32) {
	d := k.mac("person:" + id)
	return hex.EncodeToString(d[:16]), disclosure.RecordKey(d[16:20])
}

// Record returns a fact's record key.
func (k Keys) Record(factID string) uint32 { return disclosure.RecordKey(k.mac("fact:" + factID)) }

// Prior returns the stored (or earlier in the batch) fact with an id.
type Prior func(id string) (store.Fact, bool, error)

// sexCode is the SDMX code of a sex.
func sexCode(s casesv1.Sex) string {
	switch s {
	case casesv1.Sex_SEX_FEMALE:
		return "F"
	case casesv1.Sex_SEX_MALE:
		return "M"
	case casesv1.Sex_SEX_OTHER:
		return "O"
	}
	return ""
}

// enumCode is an enum value's name without its prefix, in lower case
// (CATEGORY_FAMILY_REUNIFICATION → family_reunification).
func enumCode(name, prefix string) string {
	return strings.ToLower(strings.TrimPrefix(name, prefix))
}

// CaseFacts returns the changes one entry of the reporting projection makes.
func CaseFacts(k Keys, rc *casesv1.ReportingCase, prior Prior) ([]store.Change, error) {
	c := rc.GetCase()
	id := c.GetId()
	if id == "" {
		return nil, errors.New("case entry without an id")
	}
	opened, delivery := "case:"+id+":opened", "case:"+id+":delivery"
	if rc.GetOp() == "delete" {
		return append([]store.Change{{ID: opened}, {ID: delivery}}, eventFactIDs(id, rc.GetEvents())...), nil
	}
	dims := map[string]string{
		catalog.DimMunicipality: c.GetMunicipalityCode(),
		catalog.DimDistrict:     c.GetDistrictCode(),
		catalog.DimCategory:     enumCode(c.GetCategory().String(), "CATEGORY_"),
		catalog.DimAgeBand:      c.GetAgeBand(),
		catalog.DimSex:          sexCode(rc.GetSex()),
		catalog.DimCitizenship:  rc.GetCitizenship(),
	}
	cell, err := store.EncodeCell(dims)
	if err != nil {
		return nil, err
	}
	var person string
	var pkey uint32
	if pid := c.GetPersonId(); pid != "" {
		person, pkey = k.Person(pid)
	}
	created := c.GetCreateTime().AsTime()
	if c.GetCreateTime() == nil {
		created = rc.GetTime().AsTime()
	}
	out := []store.Change{{ID: opened, Fact: &store.Fact{
		Kind: catalog.KindCaseOpened, Day: store.DayOf(created), Cell: cell,
		Person: person, Key: k.Record(opened), PersonKey: pkey,
	}}}
	old, had, err := prior(delivery)
	if err != nil {
		return nil, err
	}
	phase := c.GetPhase()
	if had || phase == casesv1.Phase_PHASE_DELIVERY || phase == casesv1.Phase_PHASE_MONITORING {
		day := store.DayOf(rc.GetTime().AsTime())
		if had {
			day = old.Day
		}
		out = append(out, store.Change{ID: delivery, Fact: &store.Fact{
			Kind: catalog.KindDeliveryReached, Day: day, Cell: cell,
			Person: person, Key: k.Record(delivery), PersonKey: pkey,
		}})
	}
	events, err := EventFacts(k, id, dims, person, pkey, rc.GetEvents())
	if err != nil {
		return nil, err
	}
	return append(out, events...), nil
}
