package mediators

import (
	"context"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	mediatorsv1 "github.com/ponte-network/ponte/proto/ponte/mediators/v1"

	"github.com/ponte-network/ponte/libs/auth"
	"github.com/ponte-network/ponte/libs/changelog"
	"github.com/ponte-network/ponte/libs/grpcerr"
	"github.com/ponte-network/ponte/libs/pagetoken"
	"github.com/ponte-network/ponte/services/mediators/store"
)

func cloneBooking(b *mediatorsv1.Booking) *mediatorsv1.Booking {
	return proto.Clone(b).(*mediatorsv1.Booking)
}

// feedReader checks that the caller may read the feed: admin or service:reporting.
func feedReader(ctx context.Context) error {
	p, ok := auth.FromContext(ctx)
	if !ok {
		return grpcerr.PermissionDenied("the change feed needs an authenticated caller")
	}
	if name, ok := p.ServiceName(); ok && name == "reporting" || p.HasRole(auth.RoleAdmin) {
		return nil
	}
	return grpcerr.PermissionDenied("the change feed is for reporting")
}

func toChange(e changelog.Entry) (*mediatorsv1.MediatorChange, error) {
	ch := &mediatorsv1.MediatorChange{Position: e.Position, Topic: e.Topic, Key: e.Key, Time: timestamppb.New(e.Time)}
	if e.Topic == store.TopicBooking && len(e.Payload) > 0 {
		ch.Booking = &mediatorsv1.BookingFact{}
		if err := protojson.Unmarshal(e.Payload, ch.Booking); err != nil {
			return nil, fmt.Errorf("decode change %d: %w", e.Position, err)
		}
	}
	return ch, nil
}

// ListMediatorChanges implements mediatorsv1.MediatorServiceServer.
func (s *server) ListMediatorChanges(ctx context.Context, req *mediatorsv1.ListMediatorChangesRequest) (*mediatorsv1.ListMediatorChangesResponse, error) {
	if err := feedReader(ctx); err != nil {
		return nil, err
	}
	head, err := s.store.Changes().Head(ctx)
	if err != nil {
		return nil, grpcerr.From(fmt.Errorf("read mediator feed head: %w", err))
	}
	entries, err := s.store.Changes().List(ctx, req.GetAfter(), pageSize(req.GetPageSize()))
	if err != nil {
		return nil, grpcerr.From(fmt.Errorf("read mediator changes: %w", err))
	}
	resp := &mediatorsv1.ListMediatorChangesResponse{NextAfter: req.GetAfter(), Head: head}
	for _, e := range entries {
		ch, err := toChange(e)
		if err != nil {
			return nil, grpcerr.From(err)
		}
		resp.Changes, resp.NextAfter = append(resp.Changes, ch), e.Position
	}
	return resp, nil
}

// WatchMediatorChanges implements mediatorsv1.MediatorServiceServer.
func (s *server) WatchMediatorChanges(req *mediatorsv1.WatchMediatorChangesRequest, stream grpc.ServerStreamingServer[mediatorsv1.MediatorChange]) error {
	if err := feedReader(stream.Context()); err != nil {
		return err
	}
	err := s.store.Changes().Watch(stream.Context(), req.GetAfter(), func(e changelog.Entry) error {
		ch, err := toChange(e)
		if err != nil {
			return err
		}
		return stream.Send(ch)
	})
	return grpcerr.From(err)
}

// ListMediatorAuditEvents implements mediatorsv1.MediatorServiceServer.
func (s *server) ListMediatorAuditEvents(ctx context.Context, req *mediatorsv1.ListMediatorAuditEventsRequest) (*mediatorsv1.ListMediatorAuditEventsResponse, error) {
	c, err := s.who(ctx)
	if err != nil {
		return nil, err
	}
	if !c.admin {
		if !c.districtAdmin || req.GetMediatorId() == "" {
			return nil, grpcerr.PermissionDenied("district admins read the audit log of one mediator of their district (mediator_id)")
		}
		m, err := s.store.GetMediator(ctx, c.actor, req.GetMediatorId(), false)
		if err != nil || !c.managesMediator(m) {
			return nil, grpcerr.From(notFound("mediator", req.GetMediatorId()))
		}
	}
	query := pagetoken.Query(req.GetMediatorId())
	cursor, err := pagetoken.Decode(req.GetPageToken(), query)
	if err != nil {
		return nil, grpcerr.InvalidArgument(grpcerr.FieldViolation{Field: "page_token", Description: "not a token of this query"})
	}
	var after int64
	if cursor != "" {
		if _, err := fmt.Sscan(cursor, &after); err != nil {
			return nil, grpcerr.InvalidArgument(grpcerr.FieldViolation{Field: "page_token", Description: "malformed"})
		}
	}
	size := pageSize(req.GetPageSize())
	events, err := s.store.ListAuditEvents(ctx, req.GetMediatorId(), after, size+1)
	if err != nil {
		return nil, grpcerr.From(err)
	}
	resp := &mediatorsv1.ListMediatorAuditEventsResponse{}
	if len(events) > size {
		events = events[:size]
		resp.NextPageToken = pagetoken.Encode(query, fmt.Sprint(events[len(events)-1].GetId()))
	}
	resp.Events = events
	return resp, nil
}
