package server

import (
	"context"

	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"
)

// codeOnly hands the telemetry stats handler next a call's status code without its message:
// messages are written for the caller and may name what was asked for ("person RSSMRA80A41H501U
// not found" — an id that can be a tax code), so spans record the code alone.
func codeOnly(next stats.Handler) stats.Handler { return codeOnlyHandler{next} }

type codeOnlyHandler struct{ stats.Handler }

func (h codeOnlyHandler) HandleRPC(ctx context.Context, s stats.RPCStats) {
	if end, ok := s.(*stats.End); ok && end.Error != nil {
		redacted := *end
		code := status.Code(end.Error)
		redacted.Error = status.Error(code, code.String())
		s = &redacted
	}
	h.Handler.HandleRPC(ctx, s)
}
