package store_test

import (
	"testing"

	"buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go/buf/validate"
	"google.golang.org/protobuf/proto"

	mediatorsv1 "github.com/ponte-network/ponte/proto/ponte/mediators/v1"

	"github.com/ponte-network/ponte/services/mediators/store"
)

// The reads of bookings around a time rely on MaxBookingMinutes: it must be the bound the
// API enforces on a booking's duration.
func TestMaxBookingMinutesIsTheAPIsBound(t *testing.T) {
	t.Parallel()
	fd := (&mediatorsv1.Booking{}).ProtoReflect().Descriptor().Fields().ByName("duration_minutes")
	rules, _ := proto.GetExtension(fd.Options(), validate.E_Field).(*validate.FieldRules)
	if got := rules.GetInt32().GetLte(); got != store.MaxBookingMinutes {
		t.Errorf("Booking.duration_minutes is at most %d minutes, store.MaxBookingMinutes says %d", got, store.MaxBookingMinutes)
	}
}
