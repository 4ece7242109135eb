package ingest

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	housingv1 "github.com/ponte-network/ponte/proto/ponte/housing/v1"

	"github.com/ponte-network/ponte/services/reporting/catalog"
	"github.com/ponte-network/ponte/services/reporting/store"
)

// SourceHousing is the name of the housing feed's cursor.
const SourceHousing = "housing"

// HousingFeed is the part of the housing API reporting reads: the housing change feed,
// whose payloads are the records without personal data (no names, contacts, addresses,
// case ids, owner ids or free text). Only service:reporting (and admin) may read it.
type HousingFeed interface {
	ListHousingChanges(ctx context.Context, req *housingv1.ListHousingChangesRequest, opts ...grpc.CallOption) (*housingv1.ListHousingChangesResponse, error)
}

// HousingSource reads the housing feed.
type HousingSource struct {
	Feed HousingFeed
	Keys Keys
}

// Name implements Source.
func (HousingSource) Name() string { return SourceHousing }

// Read implements Source.
func (s HousingSource) Read(ctx context.Context, after int64, page *Page) (Read, error) {
	resp, err := s.Feed.ListHousingChanges(ctx, &housingv1.ListHousingChangesRequest{After: after, PageSize: PageSize})
	if err != nil {
		return Read{}, fmt.Errorf("read the housing feed: %w", err)
	}
	return readEntries("housing", resp.GetNextAfter(), resp.GetHead(), resp.GetChanges(), page,
		func(ch *housingv1.HousingChange) ([]store.Change, error) { return HousingFacts(s.Keys, ch, page.Prior) })
}

// decodePayload reads a change's payload (protojson of a record) into m.
func decodePayload(ch *housingv1.HousingChange, m proto.Message) error {
	if err := decodeStruct(ch.GetPayload(), m); err != nil {
		return fmt.Errorf("payload of %s %s: %w", ch.GetTopic(), ch.GetKey(), err)
	}
	return nil
}

// decodeStruct reads a record that a feed carries as a JSON object (protojson of the
// record) into m, ignoring fields m does not know.
func decodeStruct(payload *structpb.Struct, m proto.Message) error {
	b, err := protojson.Marshal(payload)
	if err != nil {
		return err
	}
	return (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(b, m)
}

// HousingFacts returns the changes one housing entry makes:
//
//   - housing_owner_engaged ("owner:<id>:engaged"), once the owner is seen engaged: the
//     day of that entry (kept when the owner later declines or goes inactive: they were
//     engaged), in the owner's district and how the network reached them. Owners have no
//     municipality.
//   - housing_home_available ("home:<id>:available"): every home offered, on the day it
//     was created, in its municipality and district, with its bedrooms (0 a studio, 4
//     standing for 4 or more); a home withdrawn later was still made available.
//   - housing_contract_signed ("tenancy:<id>:signed"): every tenancy, on the day it was
//     signed (created), in its municipality and district, with its contract type; and
//     housing_days_to_contract ("tenancy:<id>:days") with the days from the housing
//     request's opening to the signing as its value.
//
// A deleted record takes its facts away. Other topics (requests, proposals, viewings,
// tenancy events) make no fact yet.
func HousingFacts(k Keys, ch *housingv1.HousingChange, prior Prior) ([]store.Change, error) {
	id := ch.GetKey()
	if id == "" {
		return nil, errors.New("housing entry without a key")
	}
	deleted := ch.GetOp() == "delete"
	fact := func(factID, kind string, day int32, dims map[string]string, quantity int64) (store.Change, error) {
		for d, v := range dims {
			if v == "unspecified" {
				dims[d] = ""
			}
		}
		cell, err := store.EncodeCell(dims)
		if err != nil {
			return store.Change{}, err
		}
		return store.Change{ID: factID, Fact: &store.Fact{Kind: kind, Day: day, Cell: cell, Key: k.Record(factID), Quantity: quantity}}, nil
	}
	switch ch.GetTopic() {
	case "owner":
		factID := "owner:" + id + ":engaged"
		if deleted {
			return []store.Change{{ID: factID}}, nil
		}
		o := &housingv1.Owner{}
		if err := decodePayload(ch, o); err != nil {
			return nil, err
		}
		old, had, err := prior(factID)
		if err != nil {
			return nil, err
		}
		if !had && o.GetEngagementStatus() != housingv1.EngagementStatus_ENGAGEMENT_STATUS_ENGAGED {
			return nil, nil
		}
		day := store.DayOf(ch.GetTime().AsTime())
		if had {
			day = old.Day
		}
		c, err := fact(factID, catalog.KindOwnerEngaged, day, map[string]string{
			catalog.DimDistrict:   o.GetDistrictCode(),
			catalog.DimReachedVia: enumCode(o.GetReachedVia().String(), "REACH_CHANNEL_"),
		}, 0)
		return []store.Change{c}, err
	case "home":
		factID := "home:" + id + ":available"
		if deleted {
			return []store.Change{{ID: factID}}, nil
		}
		h := &housingv1.Home{}
		if err := decodePayload(ch, h); err != nil {
			return nil, err
		}
		created := ch.GetTime().AsTime()
		if h.GetCreateTime() != nil {
			created = h.GetCreateTime().AsTime()
		}
		c, err := fact(factID, catalog.KindHomeAvailable, store.DayOf(created), map[string]string{
			catalog.DimMunicipality: h.GetMunicipalityCode(),
			catalog.DimDistrict:     h.GetDistrictCode(),
			catalog.DimBedrooms:     strconv.Itoa(int(min(4, max(0, h.GetBedrooms())))),
		}, 0)
		return []store.Change{c}, err
	case "tenancy":
		signed, days := "tenancy:"+id+":signed", "tenancy:"+id+":days"
		if deleted {
			return []store.Change{{ID: signed}, {ID: days}}, nil
		}
		tn := &housingv1.Tenancy{}
		if err := decodePayload(ch, tn); err != nil {
			return nil, err
		}
		created := ch.GetTime().AsTime()
		if tn.GetCreateTime() != nil {
			created = tn.GetCreateTime().AsTime()
		}
		day := store.DayOf(created)
		dims := func() map[string]string {
			return map[string]string{
				catalog.DimMunicipality: tn.GetMunicipalityCode(),
				catalog.DimDistrict:     tn.GetDistrictCode(),
				catalog.DimContractType: enumCode(tn.GetContract().GetType().String(), "CONTRACT_TYPE_"),
			}
		}
		a, err := fact(signed, catalog.KindContractSigned, day, dims(), 0)
		if err != nil {
			return nil, err
		}
		valued := dims()
		d := max(0, tn.GetDaysToContract())
		valued[catalog.DimValue] = strconv.Itoa(int(d))
		b, err := fact(days, catalog.KindDaysToContract, day, valued, int64(d))
		if err != nil {
			return nil, err
		}
		return []store.Change{a, b}, nil
	}
	return nil, nil
}
