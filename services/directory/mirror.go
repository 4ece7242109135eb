package directory

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	directoryv1 "github.com/ponte-network/ponte/proto/ponte/directory/v1"

	"github.com/ponte-network/ponte/libs/changelog"
	"github.com/ponte-network/ponte/services/directory/store"
)

// Backoff bounds of Mirror's reconnections: the first wait, doubled after each failure
// up to the last, and back to the first once a change arrives.
const (
	mirrorMinBackoff = 100 * time.Millisecond
	mirrorMaxBackoff = 30 * time.Second
)

// Mirror makes this node a mirror of the directory node upstream reaches through client:
// it follows upstream's change feed (WatchChanges, public) from the cursor stored for
// name and applies every change to this node's store, moving the cursor in the same
// transaction, until ctx is done (then it returns nil). A failed stream or write is
// retried with exponential backoff from the stored cursor, so a restart resumes where
// the last run stopped: no change is applied twice or skipped, deletes included.
//
// Organizations, services, locations and taxonomy terms are mirrored with their origin
// set to name, their upstream etag and times kept; this node's API refuses to write
// them. Districts are not mirrored (each node groups its own municipalities), nor are
// the built-in taxonomy terms (every node has them). A change to an id this node
// already holds with another origin (its own record, or another upstream's) is left
// out and logged: ids are not namespaced, so two districts must not reuse an id.
func (s *Service) Mirror(ctx context.Context, name string, client directoryv1.DirectoryServiceClient) error {
	log := s.logger.With(slog.String("upstream", name))
	wait := mirrorMinBackoff
	for {
		progressed, err := s.mirrorOnce(ctx, name, client, log)
		if ctx.Err() != nil {
			return nil
		}
		if progressed {
			wait = mirrorMinBackoff
		}
		log.Warn("directory mirror: reconnecting", slog.String("error", errString(err)), slog.Duration("backoff", wait))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		wait = min(2*wait, mirrorMaxBackoff)
	}
}

func errString(err error) string {
	if err == nil {
		return "stream ended"
	}
	return err.Error()
}

// mirrorOnce follows one WatchChanges stream from the stored cursor until it fails;
// progressed says whether a change was applied.
func (s *Service) mirrorOnce(ctx context.Context, name string, client directoryv1.DirectoryServiceClient, log *slog.Logger) (progressed bool, err error) {
	after, err := s.store.MirrorCursor(ctx, name)
	if err != nil {
		return false, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := client.WatchChanges(ctx, &directoryv1.WatchChangesRequest{After: after})
	if err != nil {
		return false, fmt.Errorf("watch changes after %d: %w", after, err)
	}
	log.Info("directory mirror: following", slog.Int64("after", after))
	for {
		c, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return progressed, nil
		}
		if err != nil {
			if status.Code(err) == codes.Canceled && ctx.Err() != nil {
				return progressed, ctx.Err()
			}
			return progressed, fmt.Errorf("receive change: %w", err)
		}
		mc, err := s.mirrorChange(name, c)
		if err != nil {
			// A change that cannot be read would stop the mirror forever: log it and move on.
			log.Error("directory mirror: unreadable change left out", slog.Int64("position", c.GetPosition()),
				slog.String("topic", c.GetTopic()), slog.String("key", c.GetKey()), slog.String("error", err.Error()))
			mc = store.MirrorChange{Upstream: name, Position: c.GetPosition()}
		}
		outcome, err := s.store.ApplyMirrorChange(ctx, mc)
		if err != nil {
			return progressed, fmt.Errorf("apply change %d: %w", c.GetPosition(), err)
		}
		progressed = true
		if outcome == store.MirrorCollision {
			log.Warn("directory mirror: id taken by a record of another origin, change left out",
				slog.Int64("position", c.GetPosition()), slog.String("kind", c.GetTopic()), slog.String("id", c.GetKey()))
		}
	}
}

// timed is a record message's times.
type timed interface {
	GetCreateTime() *timestamppb.Timestamp
	GetUpdateTime() *timestamppb.Timestamp
}

// mirrorChange converts an upstream change to what the store applies.
func (s *Service) mirrorChange(name string, c *directoryv1.Change) (store.MirrorChange, error) {
	mc := store.MirrorChange{Upstream: name, Position: c.GetPosition()}
	kind := store.Kind(c.GetTopic())
	switch kind {
	case store.KindOrganization, store.KindService, store.KindLocation, store.KindTaxonomyTerm:
	default:
		return mc, nil // districts and anything newer: not mirrored
	}
	mc.Kind, mc.ID = kind, c.GetKey()
	switch changelog.Op(c.GetOp()) {
	case changelog.OpDelete:
		mc.Op = changelog.OpDelete
		return mc, nil
	case changelog.OpUpsert:
	default:
		return mc, fmt.Errorf("unknown op %q", c.GetOp())
	}
	raw, err := protojson.Marshal(c.GetPayload())
	if err != nil {
		return mc, fmt.Errorf("payload: %w", err)
	}
	var (
		m      resource
		record func() (store.Record, error)
	)
	d := s.directory
	switch kind {
	case store.KindOrganization:
		o := &directoryv1.Organization{}
		m, record = o, func() (store.Record, error) { return d.organizationRecord(o) }
	case store.KindService:
		sv := &directoryv1.Service{}
		m, record = sv, func() (store.Record, error) { return d.serviceRecord(sv) }
	case store.KindLocation:
		l := &directoryv1.Location{}
		m, record = l, func() (store.Record, error) { return d.locationRecord(l) }
	case store.KindTaxonomyTerm:
		t := &directoryv1.TaxonomyTerm{}
		m, record = t, func() (store.Record, error) { return d.termRecord(t) }
	}
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(raw, m); err != nil {
		return mc, fmt.Errorf("payload: %w", err)
	}
	if m.GetId() != c.GetKey() {
		return mc, fmt.Errorf("payload id %q differs from the key", m.GetId())
	}
	if t, ok := m.(*directoryv1.TaxonomyTerm); ok && t.GetOrganizationId() == "" {
		mc.Op = "" // a built-in term: this node has its own
		return mc, nil
	}
	// The upstream accepted the record: it is stored as it is, even if this node would
	// judge it differently (a municipality its catalog lacks leaves the columns empty).
	r, _ := record()
	r.Etag = m.GetEtag()
	if tm, ok := m.(timed); ok {
		r.CreateTime, r.UpdateTime = tm.GetCreateTime().AsTime(), tm.GetUpdateTime().AsTime()
	}
	mc.Op, mc.Record = changelog.OpUpsert, r
	return mc, nil
}
