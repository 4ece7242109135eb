// Package proto holds Ponte's API: the .proto files under ponte/<service>/v1, the Go,
// gRPC and grpc-gateway code generated from them (never edited by hand: run `make
// generate`), and the merged OpenAPI 3 document in openapi/.
package proto

import _ "embed"

// OpenAPI is the merged OpenAPI 3 document (YAML) of every service's REST routes,
// as protoc-gen-openapi writes it; the gateway completes and serves it as JSON.
//
//go:embed openapi/openapi.yaml
var OpenAPI []byte
