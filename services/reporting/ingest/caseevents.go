package ingest

import (
	"time"

	casesv1 "github.com/ponte-network/ponte/proto/ponte/cases/v1"

	"github.com/ponte-network/ponte/services/reporting/catalog"
	"github.com/ponte-network/ponte/services/reporting/store"
)

// Authority returns the keyed pseudonym of a public authority (a municipality, by ISTAT
// code) and its record key: the "person" of the distinct-authority indicators. It is
// keyed like a person's, so that the nodes of a region, which share the secret, count a
// municipality advised by two districts once; person ids cannot contain ':', so no
// person shares it.
func (k Keys) Authority(code string) (string, uint32) { return k.Person("authority:" + code) }

// eventFactIDs returns the ids of every fact the events of a case make: a deleted case
// takes them away.
func eventFactIDs(caseID string, events []*casesv1.ReportingEvent) []store.Change {
	var out []store.Change
	seen := map[string]bool{}
	for _, ev := range events {
		id := eventFactID(caseID, ev)
		if id != "" && !seen[id] {
			seen[id] = true
			out = append(out, store.Change{ID: id})
		}
	}
	return out
}

// eventFactID is the id of the fact an event makes, or "" for events that make none
// (notes, phase changes).
func eventFactID(caseID string, ev *casesv1.ReportingEvent) string {
	switch {
	case ev.GetConsultation() != nil, ev.GetIntervention() != nil:
		return "case:" + caseID + ":event:" + ev.GetId()
	case ev.GetReferral() != nil:
		ref := ev.GetReferral().GetReferralId()
		if ref == "" {
			ref = ev.GetId()
		}
		return "case:" + caseID + ":referral:" + ref
	case ev.GetIssue() != nil:
		return "case:" + caseID + ":issue:" + ev.GetIssue().GetCode()
	}
	return ""
}

// EventFacts returns the facts the events of a live case make, given the case's cell
// dimensions (municipality, district, category, age band, sex, citizenship) and its
// person's pseudonym. A case's last entry of a page carries all its events as they are
// when read (earlier ones none, and make no event fact), and a page is applied in one
// transaction, so the facts are a function of that entry and a rebuild gives the same:
//
//   - consultation ("case:<id>:event:<event>"), on the consultation's day, in the
//     requesting municipality (none if not given), the case's district and the topic
//     category; its "person" is the requesting municipality's keyed pseudonym (distinct
//     authorities supported), none without a municipality.
//   - intervention ("case:<id>:event:<event>"), on its day, in the case's cell and the
//     intervention's kind, with the case's person (civic orientation participants).
//   - referral ("case:<id>:referral:<first event>"), one per case and service: on the
//     earliest day of its events, in the case's municipality, district and category,
//     the taxonomy term and the outcome of the latest event (a later event with a new
//     status moves the fact to that outcome).
//   - issue_raised ("case:<id>:issue:<tag>"), one per case and tag: on the earliest day
//     the tag was raised, in the case's municipality, district and category.
//
// Notes and phase changes make no fact.
func EventFacts(k Keys, caseID string, caseDims map[string]string, person string, personKey uint32, events []*casesv1.ReportingEvent) ([]store.Change, error) {
	type agg struct {
		kind   string
		day    int32
		dims   map[string]string
		person string
		pkey   uint32
	}
	facts := map[string]*agg{}
	var order []string
	put := func(id string, a *agg) {
		if old, ok := facts[id]; ok {
			// Referrals and issues: the earliest day, the latest codes.
			a.day = min(a.day, old.day)
		} else {
			order = append(order, id)
		}
		facts[id] = a
	}
	base := func(extra map[string]string) map[string]string {
		d := map[string]string{
			catalog.DimMunicipality: caseDims[catalog.DimMunicipality],
			catalog.DimDistrict:     caseDims[catalog.DimDistrict],
			catalog.DimCategory:     caseDims[catalog.DimCategory],
		}
		for key, v := range extra {
			d[key] = v
		}
		return d
	}
	for _, ev := range events {
		id := eventFactID(caseID, ev)
		if id == "" {
			continue
		}
		when := ev.GetOccurTime().AsTime()
		if ev.GetOccurTime() == nil {
			when = time.Unix(0, 0)
		}
		day := store.DayOf(when)
		switch {
		case ev.GetConsultation() != nil:
			c := ev.GetConsultation()
			a := &agg{kind: catalog.KindConsultation, day: day, dims: map[string]string{
				catalog.DimMunicipality: c.GetRequesterMunicipalityCode(),
				catalog.DimDistrict:     caseDims[catalog.DimDistrict],
				catalog.DimTopic:        codeOrNone(enumCode(c.GetTopicCategory().String(), "CATEGORY_")),
			}}
			if m := c.GetRequesterMunicipalityCode(); m != "" {
				a.person, a.pkey = k.Authority(m)
			}
			put(id, a)
		case ev.GetIntervention() != nil:
			d := map[string]string{}
			for key, v := range caseDims {
				d[key] = v
			}
			d[catalog.DimInterventionKind] = ev.GetIntervention().GetKind()
			put(id, &agg{kind: catalog.KindIntervention, day: day, dims: d, person: person, pkey: personKey})
		case ev.GetReferral() != nil:
			r := ev.GetReferral()
			put(id, &agg{kind: catalog.KindReferral, day: day, dims: base(map[string]string{
				catalog.DimTaxonomyTerm: r.GetTaxonomyTermId(),
				catalog.DimOutcome:      codeOrNone(enumCode(r.GetStatus().String(), "REFERRAL_STATUS_")),
			})})
		case ev.GetIssue() != nil:
			put(id, &agg{kind: catalog.KindIssueRaised, day: day, dims: base(map[string]string{catalog.DimIssue: ev.GetIssue().GetCode()})})
		}
	}
	out := make([]store.Change, 0, len(order))
	for _, id := range order {
		a := facts[id]
		cell, err := store.EncodeCell(a.dims)
		if err != nil {
			return nil, err
		}
		out = append(out, store.Change{ID: id, Fact: &store.Fact{
			Kind: a.kind, Day: a.day, Cell: cell, Person: a.person, Key: k.Record(id), PersonKey: a.pkey,
		}})
	}
	return out, nil
}

// codeOrNone maps an enum's unspecified value to no code.
func codeOrNone(code string) string {
	if code == "unspecified" {
		return ""
	}
	return code
}
