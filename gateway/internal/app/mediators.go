package app

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	mediatorsv1 "github.com/ponte-network/ponte/proto/ponte/mediators/v1"

	"github.com/ponte-network/ponte/libs/modules"
	"github.com/ponte-network/ponte/services/mediators"
	"github.com/ponte-network/ponte/services/mediators/demo"
)

// mediatorsModule runs the mediators service: the register, bookings, assignment,
// calendars and statements.
func (a *App) mediatorsModule() modules.Module {
	return modules.Module{Name: "mediators", Start: a.startMediators}
}

func (a *App) startMediators(ctx context.Context) error {
	st, err := mediators.OpenStore(ctx, a.storeConfig("mediators"))
	if err != nil {
		return err
	}
	a.onClose(st.Close)
	svc, err := mediators.New(mediators.Deps{Store: st, Catalog: a.catalog})
	if err != nil {
		return err
	}
	svc.Register(a.srv.Registrar())
	a.addPolicy(mediators.Policy())
	a.addReady("mediators", svc.Ready)
	for _, name := range mediators.ServiceNames {
		a.srv.SetServing(name, true)
	}
	if a.cfg.Demo {
		// In the background: its few hundred calls must not hold back the other
		// start-up tasks; it stops with the process.
		a.afterServe(func(ctx context.Context) error {
			go func() {
				if err := a.loadMediatorsDemo(ctx); err != nil && ctx.Err() == nil {
					a.tel.Logger.Error("demo mediators", slog.String("error", err.Error()))
				}
			}()
			return nil
		})
	}
	return nil
}

// demoMediators is how many fictional mediators --demo registers.
const demoMediators = 40

// loadMediatorsDemo registers the fictional mediators and books, assigns and completes
// a month of bookings through the service's own API, in process, as the development
// admin. It runs once per data directory: when the first demo mediator exists it does
// nothing.
func (a *App) loadMediatorsDemo(ctx context.Context) error {
	ctx, conn, err := a.demoLoader(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	client := mediatorsv1.NewMediatorServiceClient(conn)
	if _, err := client.GetMediator(ctx, &mediatorsv1.GetMediatorRequest{Id: demo.MediatorID(0)}); err == nil {
		return nil // loaded at an earlier start
	} else if status.Code(err) != codes.NotFound {
		return fmt.Errorf("demo mediators: %w", err)
	}
	loc, err := mediators.Rome()
	if err != nil {
		return err
	}
	now := time.Now()
	ms := demo.Mediators(demoMediators, now.In(loc).Year())
	for _, m := range ms {
		if _, err := client.CreateMediator(ctx, &mediatorsv1.CreateMediatorRequest{Mediator: m}); err != nil && status.Code(err) != codes.AlreadyExists {
			return fmt.Errorf("demo mediator %s: %w", m.GetId(), err)
		}
	}
	assigned, completed := 0, 0
	for _, d := range demo.Bookings(now, loc, ms) {
		b, err := client.CreateBooking(ctx, &mediatorsv1.CreateBookingRequest{Booking: d.Booking, RequestId: d.RequestID})
		if err != nil {
			return fmt.Errorf("demo booking %s: %w", d.RequestID, err)
		}
		if !d.Assign || b.GetState() != mediatorsv1.BookingState_BOOKING_STATE_REQUESTED {
			continue
		}
		res, err := client.AssignBooking(ctx, &mediatorsv1.AssignBookingRequest{Id: b.GetId()})
		if status.Code(err) == codes.FailedPrecondition {
			continue // nobody free: it stays requested, as real requests sometimes do
		}
		if err != nil {
			return fmt.Errorf("demo assignment %s: %w", d.RequestID, err)
		}
		assigned++
		if !d.Complete {
			continue
		}
		if _, err := client.ConfirmBooking(ctx, &mediatorsv1.ConfirmBookingRequest{Id: b.GetId()}); err != nil {
			return fmt.Errorf("demo confirmation %s: %w", d.RequestID, err)
		}
		start := res.GetBooking().GetStartTime()
		end := start.AsTime().Add(time.Duration(b.GetDurationMinutes()) * time.Minute)
		if _, err := client.CompleteBooking(ctx, &mediatorsv1.CompleteBookingRequest{Id: b.GetId(), ActualStartTime: start,
			ActualEndTime: timestamppb.New(end)}); err != nil {
			return fmt.Errorf("demo completion %s: %w", d.RequestID, err)
		}
		completed++
	}
	a.tel.Logger.Info("demo mediators loaded (fictional)", slog.Int("mediators", len(ms)),
		slog.Int("assigned", assigned), slog.Int("completed", completed))
	return nil
}
