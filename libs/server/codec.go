package server

import (
	"strconv"
	"unicode/utf8"

	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	protov2 "google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/ponte-network/ponte/libs/textguard"
)

// requestCodec is the server's protobuf codec: grpc-go's own, except for requests that do
// not decode. grpc-go answers a codec's error as INTERNAL ("failed to unmarshal"), so a
// client that sends a string of invalid UTF-8 — a client error — would see a server fault.
// This codec instead leaves such a request empty, marked with what is wrong (an unknown
// field, undecodableField, that no Ponte message declares), and returns no error; the
// validation interceptor, which every unary and stream call passes, answers the mark as
// INVALID_ARGUMENT naming the field. The mark lives in the message itself, so a request
// that another interceptor refuses first (authentication) leaves nothing behind.
type requestCodec struct{ base encoding.CodecV2 }

// undecodableField is the field number of the mark: the largest protobuf allows.
const undecodableField = protowire.MaxValidNumber

func newRequestCodec() requestCodec {
	return requestCodec{base: encoding.GetCodecV2(proto.Name)}
}

// Name is the codec's content subtype, "proto", as the codec it wraps.
func (c requestCodec) Name() string { return c.base.Name() }

// Marshal encodes answers as grpc-go's codec does.
func (c requestCodec) Marshal(v any) (mem.BufferSlice, error) { return c.base.Marshal(v) }

// Unmarshal decodes a request; see requestCodec for what it does when that fails.
func (c requestCodec) Unmarshal(data mem.BufferSlice, v any) error {
	err := c.base.Unmarshal(data, v)
	if err == nil {
		return nil
	}
	msg, ok := v.(protov2.Message)
	if !ok {
		return err
	}
	raw := data.Materialize()
	field, reason := undecodable(raw, msg.ProtoReflect().Descriptor(), "")
	protov2.Reset(msg)
	mark := protowire.AppendTag(nil, undecodableField, protowire.BytesType)
	mark = protowire.AppendString(mark, field+"\x00"+reason)
	msg.ProtoReflect().SetUnknown(mark)
	return nil
}

// undecodableRequest returns the field and reason requestCodec marked m with, if it did.
func undecodableRequest(m protoreflect.Message) (field, reason string, ok bool) {
	b := m.GetUnknown()
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return "", "", false
		}
		b = b[n:]
		if num == undecodableField && typ == protowire.BytesType {
			v, n := protowire.ConsumeString(b)
			if n < 0 {
				return "", "", false
			}
			for i := 0; i < len(v); i++ {
				if v[i] == 0 {
					return v[:i], v[i+1:], true
				}
			}
			return "", v, true
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return "", "", false
		}
		b = b[n:]
	}
	return "", "", false
}

// undecodable finds why b does not decode as a message of md: the first string field of
// invalid UTF-8 (its path in proto names, "items[1].case.external_id", as textguard
// names fields), else that the bytes are not a protobuf message at all.
func undecodable(b []byte, md protoreflect.MessageDescriptor, prefix string) (field, reason string) {
	if f, ok := badUTF8(b, md, prefix, 0); ok {
		return f, textguard.ReasonInvalidUTF8
	}
	return "", "the request is not a well-formed protobuf message"
}

// maxDepth bounds the recursion of badUTF8 (protobuf's own limit is 10000; requests nest
// a handful of levels).
const maxDepth = 100

// badUTF8 returns the path of the first string of invalid UTF-8 in b, read as md.
func badUTF8(b []byte, md protoreflect.MessageDescriptor, prefix string, depth int) (string, bool) {
	if depth > maxDepth {
		return "", false
	}
	seen := map[protowire.Number]int{} // occurrences of each repeated field so far
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return "", false
		}
		b = b[n:]
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return "", false
		}
		body := b[:n]
		b = b[n:]
		fd := md.Fields().ByNumber(num)
		if fd == nil || typ != protowire.BytesType {
			continue
		}
		v, _ := protowire.ConsumeBytes(body)
		path := prefix + string(fd.Name())
		if fd.IsList() {
			path += "[" + strconv.Itoa(seen[num]) + "]"
			seen[num]++
		}
		switch {
		case fd.IsMap():
			if p, ok := badMapEntry(v, fd, path, depth); ok {
				return p, true
			}
		case fd.Kind() == protoreflect.StringKind:
			if !utf8.Valid(v) {
				return path, true
			}
		case fd.Kind() == protoreflect.MessageKind:
			if p, ok := badUTF8(v, fd.Message(), path+".", depth+1); ok {
				return p, true
			}
		}
	}
	return "", false
}

// badMapEntry checks one map entry: its string key, then its value.
func badMapEntry(entry []byte, fd protoreflect.FieldDescriptor, path string, depth int) (string, bool) {
	var key, value []byte
	hasValue := false
	for len(entry) > 0 {
		num, typ, n := protowire.ConsumeTag(entry)
		if n < 0 {
			return "", false
		}
		entry = entry[n:]
		n = protowire.ConsumeFieldValue(num, typ, entry)
		if n < 0 {
			return "", false
		}
		if typ == protowire.BytesType {
			v, _ := protowire.ConsumeBytes(entry[:n])
			switch num {
			case 1:
				key = v
			case 2:
				value, hasValue = v, true
			}
		}
		entry = entry[n:]
	}
	if fd.MapKey().Kind() == protoreflect.StringKind {
		if !utf8.Valid(key) {
			return path, true
		}
		path += "[" + strconv.Quote(string(key)) + "]"
	}
	if !hasValue {
		return "", false
	}
	switch fd.MapValue().Kind() {
	case protoreflect.StringKind:
		if !utf8.Valid(value) {
			return path, true
		}
	case protoreflect.MessageKind:
		return badUTF8(value, fd.MapValue().Message(), path+".", depth+1)
	}
	return "", false
}
