package auth

import (
	"context"
	"errors"
	"strings"

	"github.com/golang-jwt/jwt/v5"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Reasons put in the errdetails.ErrorInfo of a refused call.
const (
	// ReasonUnauthenticated marks a call without a valid bearer token.
	ReasonUnauthenticated = "UNAUTHENTICATED"
	// ReasonPermissionDenied marks a call whose caller lacks the role the method requires.
	ReasonPermissionDenied = "PERMISSION_DENIED"
)

// errorDomain is the errdetails.ErrorInfo domain of Ponte's errors.
const errorDomain = "ponte"

// Rule says who may call one method.
type Rule struct {
	Public bool     // anyone, even without a token (a token, if sent, must still be valid); Roles is ignored
	Roles  []string // otherwise the caller must hold one of these (admin always passes; none = admin only)
	// Services are the service principals ("reporting" for subject "service:reporting")
	// allowed besides Roles; a service principal passes no rule that does not list it.
	Services []string
}

// Policy maps full gRPC method names ("/ponte.directory.v1.TerritoryService/GetTerritory") to rules; absent = denied.
type Policy map[string]Rule

// openMethodPrefixes are always reachable: health checks and server reflection.
var openMethodPrefixes = []string{"/grpc.health.v1.Health/", "/grpc.reflection."}

// UnaryServerInterceptor authenticates the bearer token, enforces p and puts the Principal in the handler's context.
func UnaryServerInterceptor(v *Verifier, p Policy) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		ctx, err := authorize(ctx, v, p, info.FullMethod)
		if err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

// StreamServerInterceptor is UnaryServerInterceptor for streaming methods.
func StreamServerInterceptor(v *Verifier, p Policy) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx, err := authorize(ss.Context(), v, p, info.FullMethod)
		if err != nil {
			return err
		}
		return handler(srv, &contextStream{ServerStream: ss, ctx: ctx})
	}
}

// contextStream is a ServerStream whose context carries the Principal.
type contextStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *contextStream) Context() context.Context { return s.ctx }

// authorize returns ctx with the caller's Principal, or the status error refusing the call.
func authorize(ctx context.Context, v *Verifier, p Policy, method string) (context.Context, error) {
	for _, prefix := range openMethodPrefixes {
		if strings.HasPrefix(method, prefix) {
			return ctx, nil
		}
	}
	rule, ok := p[method]
	if !ok {
		// Only the method name is logged: it tells the operator which rule is missing.
		v.logger.WarnContext(ctx, "auth: method has no rule in the policy, call denied", "method", method)
		return nil, refuse(codes.PermissionDenied, ReasonPermissionDenied, "method not allowed by policy")
	}
	token, present, err := bearerToken(ctx)
	if err != nil {
		return nil, err
	}
	if !present {
		if rule.Public {
			return ctx, nil
		}
		return nil, refuse(codes.Unauthenticated, ReasonUnauthenticated, "missing bearer token")
	}
	principal, err := v.Verify(ctx, token)
	if err != nil {
		return nil, refuse(codes.Unauthenticated, ReasonUnauthenticated, tokenProblem(err))
	}
	if !rule.Public && !rule.admits(principal) {
		return nil, refuse(codes.PermissionDenied, ReasonPermissionDenied, "caller lacks a role required by this method")
	}
	return NewContext(ctx, principal), nil
}

// bearerToken returns the token of the single "authorization: Bearer <token>" metadata entry;
// present is false when there is no authorization metadata at all.
func bearerToken(ctx context.Context) (token string, present bool, err error) {
	md, _ := metadata.FromIncomingContext(ctx)
	values := md.Get("authorization")
	switch len(values) {
	case 0:
		return "", false, nil
	case 1:
	default:
		return "", true, refuse(codes.Unauthenticated, ReasonUnauthenticated, "more than one authorization header")
	}
	scheme, token, ok := strings.Cut(strings.TrimSpace(values[0]), " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", true, refuse(codes.Unauthenticated, ReasonUnauthenticated, `authorization header must be "Bearer <token>"`)
	}
	return token, true, nil
}

// tokenProblem says in general terms why a token was refused.
func tokenProblem(err error) string {
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return "token has expired"
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return "token is not valid yet"
	case errors.Is(err, jwt.ErrTokenMalformed):
		return "token is malformed"
	case errors.Is(err, errServiceToken):
		return errServiceToken.Error()
	default:
		return "invalid token"
	}
}

// refuse builds a status error carrying an ErrorInfo with reason.
func refuse(code codes.Code, reason, msg string) error {
	st := status.New(code, msg)
	if withInfo, err := st.WithDetails(&errdetails.ErrorInfo{Reason: reason, Domain: errorDomain}); err == nil {
		st = withInfo
	}
	return st.Err()
}
