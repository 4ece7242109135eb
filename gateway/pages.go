package gateway

import (
	"net/http"

	"github.com/ponte-network/ponte/gateway/web"
)

// mountPages mounts the web pages (package web): the public directory at / when the
// directory is behind the edge, and the observatory at /observatory when reporting is.
// The pages are clients of those services like any other.
func mountPages(root *http.ServeMux, cfg Config, backends []Backend) error {
	var pages *web.Handler
	for _, b := range backends {
		if b.Service != "directory" {
			continue
		}
		var err error
		if pages, err = web.New(web.Config{Conn: b.Conn, Logger: cfg.Telemetry.Logger}); err != nil {
			return err
		}
		for _, pattern := range web.Routes {
			root.Handle(pattern, pages)
		}
	}
	for _, b := range backends {
		if b.Service != "reporting" || cfg.Catalog == nil {
			continue
		}
		if pages == nil { // the observatory's assets and templates are the pages'
			var err error
			if pages, err = web.New(web.Config{Conn: b.Conn, Logger: cfg.Telemetry.Logger}); err != nil {
				return err
			}
			root.Handle("GET /assets/", pages)
		}
		obs, err := pages.NewObservatory(web.ObservatoryConfig{
			Conn: b.Conn, Logger: cfg.Telemetry.Logger, Catalog: cfg.Catalog,
			SessionSecret: cfg.Observatory.SessionSecret, OIDC: cfg.Observatory.OIDC, DevSignIn: cfg.Observatory.DevSignIn,
		})
		if err != nil {
			return err
		}
		for _, pattern := range web.ObservatoryRoutes {
			root.Handle(pattern, obs)
		}
	}
	return nil
}
