package auth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
)

// Signing algorithms accepted; each is bound to one key type, so a key of one kind can never
// verify a token claiming another algorithm.
const (
	algHS256 = "HS256"
	algRS256 = "RS256"
	algES256 = "ES256"
)

const (
	// minHMACKeyLen is the shortest HS256 key accepted: RFC 7518 §3.2 asks for a key at least as
	// long as the hash output.
	minHMACKeyLen = 32
	// minRSABits is the smallest RSA modulus accepted for RS256.
	minRSABits = 2048
	// maxTokenLen bounds the work spent on a token before its signature is checked.
	maxTokenLen = 16 << 10
	// jwksHTTPTimeout bounds one fetch of the JWKS endpoint.
	jwksHTTPTimeout = 10 * time.Second
	// jwksUnknownKIDWait bounds how long a verification may wait to refresh the JWKS for an
	// unknown "kid"; refreshes for unknown kids are rate-limited (one per 5 minutes) by keyfunc.
	jwksUnknownKIDWait = 5 * time.Second
)

var (
	errNoKeySource = errors.New("no key source configured: set an HMAC key, a keys file or a JWKS URL")
	errNoKey       = errors.New("no key matches the token")
	errTokenSize   = errors.New("token too long")
	errNoSubject   = errors.New(`token has no "sub" claim`)
)

// VerifierConfig says which keys and claims a Verifier accepts.
type VerifierConfig struct {
	HMACKey  []byte        // HS256 shared key (the dev key), at least 32 bytes; nil = HS256 not accepted
	KeysFile string        // PEM public keys (RSA/ECDSA P-256, several concatenated) or a JWKS JSON file: RS256/ES256
	JWKSURL  string        // JWKS endpoint, refreshed in the background and on an unknown "kid"
	Issuer   string        // if set, "iss" must match
	Audience string        // if set, "aud" must contain it
	Leeway   time.Duration // clock skew tolerated on "exp", "nbf" and "iat"
	Logger   *slog.Logger  // where refused-by-policy calls and JWKS refresh failures are logged; nil = nowhere
}

// Verifier checks bearer tokens and turns them into Principals; it is safe for concurrent use.
type Verifier struct {
	hmacKey []byte
	pemKeys []crypto.PublicKey
	sets    []jwkset.Storage
	parser  *jwt.Parser
	logger  *slog.Logger
}

// claims is the token payload: the registered claims plus Ponte's own.
type claims struct {
	jwt.RegisteredClaims
	Organization string           `json:"org,omitempty"`
	Territory    string           `json:"territory,omitempty"`
	Roles        jwt.ClaimStrings `json:"roles,omitempty"`
}

// NewVerifier builds a Verifier from cfg; ctx must outlive it, as cancelling ctx stops the JWKS refresh.
func NewVerifier(ctx context.Context, cfg VerifierConfig) (*Verifier, error) {
	v := &Verifier{logger: cfg.Logger}
	if v.logger == nil {
		v.logger = slog.New(slog.DiscardHandler)
	}
	if cfg.HMACKey != nil {
		if len(cfg.HMACKey) < minHMACKeyLen {
			return nil, fmt.Errorf("new verifier: HMAC key has %d bytes, want at least %d", len(cfg.HMACKey), minHMACKeyLen)
		}
		v.hmacKey = slices.Clone(cfg.HMACKey)
	}
	if cfg.KeysFile != "" {
		keys, set, err := loadKeysFile(cfg.KeysFile)
		if err != nil {
			return nil, fmt.Errorf("new verifier: %w", err)
		}
		v.pemKeys = keys
		if set != nil {
			v.sets = append(v.sets, set)
		}
	}
	if cfg.JWKSURL != "" {
		set, err := remoteJWKS(ctx, cfg.JWKSURL, v.logger)
		if err != nil {
			return nil, fmt.Errorf("new verifier: %w", err)
		}
		v.sets = append(v.sets, set)
	}

	var methods []string
	if v.hmacKey != nil {
		methods = append(methods, algHS256)
	}
	if len(v.pemKeys) > 0 || len(v.sets) > 0 {
		methods = append(methods, algRS256, algES256)
	}
	if len(methods) == 0 {
		return nil, fmt.Errorf("new verifier: %w", errNoKeySource)
	}

	opts := []jwt.ParserOption{
		jwt.WithValidMethods(methods),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(cfg.Leeway),
	}
	if cfg.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(cfg.Issuer))
	}
	if cfg.Audience != "" {
		opts = append(opts, jwt.WithAudience(cfg.Audience))
	}
	v.parser = jwt.NewParser(opts...)
	return v, nil
}

// Verify checks token's signature and claims (exp required) and returns its Principal; errors never echo the token.
func (v *Verifier) Verify(ctx context.Context, token string) (*Principal, error) {
	if len(token) > maxTokenLen {
		return nil, fmt.Errorf("verify token: %w", errTokenSize)
	}
	var c claims
	if _, err := v.parser.ParseWithClaims(token, &c, v.keyfunc(ctx)); err != nil {
		return nil, fmt.Errorf("verify token: %w", err)
	}
	if c.Subject == "" {
		return nil, fmt.Errorf("verify token: %w", errNoSubject)
	}
	p := &Principal{
		Subject:      c.Subject,
		Organization: c.Organization,
		Territory:    c.Territory,
		Roles:        slices.Clone([]string(c.Roles)),
	}
	if err := checkServiceClaims(p); err != nil {
		return nil, fmt.Errorf("verify token: %w", err)
	}
	return p, nil
}

// keyfunc returns the keys that may verify a token: the HMAC key for HS256 only, and for RS256 and
// ES256 only public keys of the matching type.
func (v *Verifier) keyfunc(ctx context.Context) jwt.Keyfunc {
	return func(t *jwt.Token) (any, error) {
		alg := t.Method.Alg()
		if alg == algHS256 {
			if v.hmacKey == nil {
				return nil, errNoKey
			}
			return v.hmacKey, nil
		}
		kid, _ := t.Header["kid"].(string)
		keys, err := v.publicKeys(ctx, alg, kid)
		if len(keys) == 0 {
			return nil, errors.Join(errNoKey, err)
		}
		return jwt.VerificationKeySet{Keys: keys}, nil
	}
}

// publicKeys lists the configured public keys usable for alg: every PEM key of the right type
// (PEM carries no key id), and the JWKS keys with id kid (all of them when the token has none).
func (v *Verifier) publicKeys(ctx context.Context, alg, kid string) ([]jwt.VerificationKey, error) {
	var keys []jwt.VerificationKey
	for _, k := range v.pemKeys {
		if keyFits(alg, k) {
			keys = append(keys, k)
		}
	}
	var errs []error
	for _, set := range v.sets {
		jwks, err := readJWKs(ctx, set, kid)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, j := range jwks {
			m := j.Marshal()
			if (m.ALG != "" && m.ALG.String() != alg) || (m.USE != "" && m.USE != jwkset.UseSig) {
				continue
			}
			k := j.Key()
			if pk, ok := k.(interface{ Public() crypto.PublicKey }); ok {
				k = pk.Public()
			}
			if keyFits(alg, k) {
				keys = append(keys, k)
			}
		}
	}
	return keys, errors.Join(errs...)
}

func readJWKs(ctx context.Context, set jwkset.Storage, kid string) ([]jwkset.JWK, error) {
	if kid == "" {
		jwks, err := set.KeyReadAll(ctx)
		if err != nil {
			return nil, fmt.Errorf("read JWKS: %w", err)
		}
		return jwks, nil
	}
	j, err := set.KeyRead(ctx, kid)
	switch {
	case errors.Is(err, jwkset.ErrKeyNotFound):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("read JWKS key: %w", err)
	}
	return []jwkset.JWK{j}, nil
}

// keyFits reports whether k is a public key of the type alg requires.
func keyFits(alg string, k any) bool {
	switch alg {
	case algRS256:
		rk, ok := k.(*rsa.PublicKey)
		return ok && rk.N.BitLen() >= minRSABits
	case algES256:
		ek, ok := k.(*ecdsa.PublicKey)
		return ok && ek.Curve == elliptic.P256()
	}
	return false
}

// remoteJWKS fetches the JWKS at url now (a failure is logged, not returned, so that a service can
// start while its identity provider is down) and refreshes it hourly and on an unknown "kid".
func remoteJWKS(ctx context.Context, rawURL string, logger *slog.Logger) (jwkset.Storage, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("JWKS URL: want an absolute http(s) URL")
	}
	shown := u.Redacted()
	kf, err := keyfunc.NewDefaultOverrideCtx(ctx, []string{rawURL}, keyfunc.Override{
		HTTPTimeout:      jwksHTTPTimeout,
		RateLimitWaitMax: jwksUnknownKIDWait,
		RefreshErrorHandlerFunc: func(string) func(context.Context, error) {
			return func(ctx context.Context, err error) {
				logger.WarnContext(ctx, "auth: refresh JWKS failed", "url", shown, "error", err)
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("JWKS URL %s: %w", shown, err)
	}
	return kf.Storage(), nil
}
