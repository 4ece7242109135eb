package store

import (
	"google.golang.org/protobuf/proto"

	housingv1 "github.com/ponte-network/ponte/proto/ponte/housing/v1"
)

// The Redact functions return what the change feed carries of a record: no names,
// contacts, addresses, case ids, owner ids or free text.

// RedactOwner keeps how the owner was reached, the engagement, district and times.
func RedactOwner(o *housingv1.Owner) *housingv1.Owner {
	return &housingv1.Owner{Id: o.GetId(), ReachedVia: o.GetReachedVia(), EngagementStatus: o.GetEngagementStatus(),
		OrganizationId: o.GetOrganizationId(), DistrictCode: o.GetDistrictCode(), Consent: o.GetConsent(),
		Version: o.GetVersion(), CreateTime: o.GetCreateTime(), UpdateTime: o.GetUpdateTime()}
}

// RedactHome drops the address, the owner and the notes.
func RedactHome(h *housingv1.Home) *housingv1.Home {
	c := proto.CloneOf(h)
	c.Address, c.OwnerId, c.Notes, c.Etag = "", "", "", ""
	return c
}

// RedactRequest drops the case and the notes.
func RedactRequest(r *housingv1.HousingRequest) *housingv1.HousingRequest {
	c := proto.CloneOf(r)
	c.CaseId, c.Notes, c.Etag = "", "", ""
	return c
}

// RedactTenancy drops the events (their notes).
func RedactTenancy(t *housingv1.Tenancy) *housingv1.Tenancy {
	c := proto.CloneOf(t)
	c.Events = nil
	return c
}

// RedactTenancyEvent drops the note and the author.
func RedactTenancyEvent(e *housingv1.TenancyEvent) *housingv1.TenancyEvent {
	c := proto.CloneOf(e)
	c.Note, c.Author = "", ""
	return c
}
