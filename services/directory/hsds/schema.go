package hsds

import (
	"embed"
	"io/fs"
)

//go:embed schema/*.json
var schemaFS embed.FS

// Schemas returns the HSDS 3.1 JSON schemas of the records these endpoints answer (one file
// per record, "service.json", "phone.json"..., referring to each other by file name), copied
// unchanged from the HSDS 3.1 specification's schema directory; the edge's HSDS OpenAPI
// document is built from them.
func Schemas() fs.FS {
	sub, err := fs.Sub(schemaFS, "schema")
	if err != nil {
		panic(err) // the directory is embedded: it exists
	}
	return sub
}
