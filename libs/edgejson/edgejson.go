// Package edgejson lets a service hand the REST edge parts of a gRPC reply already
// rendered as JSON, so that the edge neither decodes them from protobuf nor encodes them
// again: a page of search results is mostly its services, which the directory keeps
// rendered.
//
// The edge asks for it with the request metadata MetadataKey. A service that honours it
// attaches the JSON of a message field as an unknown field (number Field) of the message
// that would hold it, and leaves the field itself unset; which field the JSON stands for is
// the message's contract (for example, directory.v1.SearchResult carries the JSON of its
// service). The edge writes the JSON in the field's place. A service that ignores the
// metadata answers as to any client, and the edge encodes that reply as usual: either side
// can be upgraded first. Clients other than the edge never send the metadata, and get
// ordinary replies. The edge writes attached JSON as it comes, unchecked: it asks only
// the backends it is configured with, which it trusts with every reply anyway.
package edgejson

import (
	"context"
	"fmt"

	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// MetadataKey is the gRPC request metadata by which the edge asks for rendered JSON
// (value "1").
const MetadataKey = "ponte-edge-json"

// Field is the field number that carries rendered JSON, as an unknown field: the largest
// field number protobuf allows, which no message of Ponte's declares.
const Field protowire.Number = protowire.MaxValidNumber

// Options returns the protojson options of the edge's JSON, which rendered parts are
// written with: the edge and a service that renders must agree byte for byte.
func Options() protojson.MarshalOptions { return protojson.MarshalOptions{} }

// Render returns m as the edge writes it.
func Render(m proto.Message) ([]byte, error) {
	out, err := Options().Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("render JSON: %w", err)
	}
	return out, nil
}

// Requested reports whether the caller of a gRPC method asked for rendered JSON.
func Requested(ctx context.Context) bool {
	v := metadata.ValueFromIncomingContext(ctx, MetadataKey)
	return len(v) == 1 && v[0] == "1"
}

// Request returns the metadata by which the edge asks for rendered JSON.
func Request() metadata.MD { return metadata.Pairs(MetadataKey, "1") }

// Attachment is rendered JSON encoded as the unknown field that carries it: encoded once
// (a service keeps it beside what it renders), attached to any number of replies without
// copying.
type Attachment []byte

// NewAttachment encodes json as an Attachment.
func NewAttachment(json []byte) Attachment {
	b := protowire.AppendTag(make([]byte, 0, protowire.SizeTag(Field)+protowire.SizeBytes(len(json))), Field, protowire.BytesType)
	b = protowire.AppendBytes(b, json)
	return b[:len(b):len(b)] // full: appending to it copies
}

// Attach adds a to m as an unknown field: m's protobuf encoding carries it, its JSON
// encoding (by protojson, which skips unknown fields) does not. a is shared, not copied:
// nothing may modify it afterwards.
func Attach(m proto.Message, a Attachment) {
	r := m.ProtoReflect()
	if u := r.GetUnknown(); len(u) > 0 {
		r.SetUnknown(append(u, a...))
		return
	}
	r.SetUnknown(protoreflect.RawFields(a))
}

// Take removes the rendered JSON attached to m and returns it; ok is false when m carries
// none. Other unknown fields are kept.
func Take(m proto.Message) (json []byte, ok bool) {
	r := m.ProtoReflect()
	unknown := r.GetUnknown()
	if len(unknown) == 0 {
		return nil, false
	}
	var rest []byte
	for b := unknown; len(b) > 0; {
		num, typ, n := protowire.ConsumeField(b)
		if n < 0 {
			return nil, false // not ours to repair: left as received
		}
		if num == Field && typ == protowire.BytesType && !ok {
			json, _ = protowire.ConsumeBytes(b[protowire.SizeTag(num):n])
			ok = true
		} else {
			rest = append(rest, b[:n]...)
		}
		b = b[n:]
	}
	if ok {
		r.SetUnknown(rest)
	}
	return json, ok
}
