package directory

import (
	"context"

	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	directoryv1 "github.com/ponte-network/ponte/proto/ponte/directory/v1"

	"github.com/ponte-network/ponte/libs/changelog"
	"github.com/ponte-network/ponte/libs/grpcerr"
)

// changeProto converts a change-log entry; a payload that is not a JSON object is left out.
func changeProto(e changelog.Entry) *directoryv1.Change {
	c := &directoryv1.Change{Position: e.Position, Topic: e.Topic, Key: e.Key, Op: string(e.Op), Time: timestamppb.New(e.Time)}
	if len(e.Payload) > 0 {
		p := &structpb.Struct{}
		if err := p.UnmarshalJSON(e.Payload); err == nil {
			c.Payload = p
		}
	}
	return c
}

// ListChanges implements directoryv1.DirectoryServiceServer.
func (s *directoryServer) ListChanges(ctx context.Context, req *directoryv1.ListChangesRequest) (*directoryv1.ListChangesResponse, error) {
	size := int(req.GetPageSize())
	if size == 0 {
		size = defaultListSize
	}
	head, err := s.store.Changes().Head(ctx)
	if err != nil {
		return nil, grpcerr.From(err)
	}
	entries, err := s.store.Changes().List(ctx, req.GetAfter(), size)
	if err != nil {
		return nil, grpcerr.From(err)
	}
	resp := &directoryv1.ListChangesResponse{NextAfter: req.GetAfter(), Head: head}
	for _, e := range entries {
		resp.Changes = append(resp.Changes, changeProto(e))
		resp.NextAfter = e.Position
	}
	return resp, nil
}

// WatchChanges implements directoryv1.DirectoryServiceServer.
func (s *directoryServer) WatchChanges(req *directoryv1.WatchChangesRequest, stream directoryv1.DirectoryService_WatchChangesServer) error {
	err := s.store.Changes().Watch(stream.Context(), req.GetAfter(), func(e changelog.Entry) error {
		return stream.Send(changeProto(e))
	})
	return grpcerr.From(err) // a caller gone or past its deadline: libs/server says which
}
