package gateway

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"strconv"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/ponte-network/ponte/libs/textguard"
)

// NewDecoder implements runtime.Marshaler. It decodes a request body as grpc-gateway's
// JSONPb does, with one difference for batches: protojson refuses a whole body for one
// unknown enum name, so a batch item naming a category that does not exist would sink
// the batch. When a body fails to decode and its only fault is such names inside batch
// items (the fields textguard.CheckedPerItem marks, inside the elements of a repeated
// field), each is replaced by a number no enum defines, and the body decodes: the service
// checks items one by one, answers that item "invalid" naming the field (protovalidate's
// defined_only), and writes the others.
func (m *jsonMarshaler) NewDecoder(r io.Reader) runtime.Decoder {
	return decoderFunc(func(v any) error {
		var raw json.RawMessage
		if err := json.NewDecoder(r).Decode(&raw); err != nil {
			return err
		}
		err := m.JSONPb.Unmarshal(raw, v)
		msg, isProto := v.(proto.Message)
		if err == nil || !isProto {
			return err
		}
		if fixed, ok := undefinedItemEnums(raw, msg.ProtoReflect().Descriptor()); ok {
			proto.Reset(msg)
			if m.JSONPb.Unmarshal(fixed, v) == nil {
				return nil
			}
			proto.Reset(msg)
		}
		return err
	})
}

// undefinedEnum is the number an unknown enum name of a batch item becomes: no Ponte
// enum defines it, so the item fails its defined_only rule.
const undefinedEnum = math.MinInt32

// undefinedItemEnums returns body with every unknown enum name inside batch items
// replaced by undefinedEnum, and whether it replaced any.
func undefinedItemEnums(body []byte, md protoreflect.MessageDescriptor) ([]byte, bool) {
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, false
	}
	if !walkItems(v, md, false, false) {
		return nil, false
	}
	out, err := json.Marshal(v)
	if err != nil {
		return nil, false
	}
	return out, true
}

// walkItems walks the JSON value v of a message md; inList says v is (inside) the element
// of a repeated field, item that it is inside a field checked per item, where unknown
// enum names are replaced. It reports whether it replaced any.
func walkItems(v any, md protoreflect.MessageDescriptor, inList, item bool) bool {
	obj, ok := v.(map[string]any)
	if !ok {
		return false
	}
	changed := false
	for key, val := range obj {
		fd := md.Fields().ByJSONName(key)
		if fd == nil {
			fd = md.Fields().ByTextName(key)
		}
		if fd == nil || fd.IsMap() {
			continue
		}
		inItem := item || (inList && textguard.CheckedPerItem(fd))
		if fd.IsList() {
			list, ok := val.([]any)
			if !ok {
				continue
			}
			for i, el := range list {
				if nv, ok := undefinedName(fd, el, inItem); ok {
					list[i], changed = nv, true
				} else if fd.Kind() == protoreflect.MessageKind && walkItems(el, fd.Message(), true, inItem) {
					changed = true
				}
			}
			continue
		}
		if nv, ok := undefinedName(fd, val, inItem); ok {
			obj[key], changed = nv, true
		} else if fd.Kind() == protoreflect.MessageKind && walkItems(val, fd.Message(), inList, inItem) {
			changed = true
		}
	}
	return changed
}

// undefinedName returns undefinedEnum for a string naming no value of fd's enum, inside
// a batch item.
func undefinedName(fd protoreflect.FieldDescriptor, v any, inItem bool) (any, bool) {
	if !inItem || fd.Kind() != protoreflect.EnumKind || fd.Enum().FullName() == "google.protobuf.NullValue" {
		return nil, false
	}
	name, ok := v.(string)
	if !ok || fd.Enum().Values().ByName(protoreflect.Name(name)) != nil {
		return nil, false
	}
	return json.Number(strconv.Itoa(undefinedEnum)), true
}

// decoderFunc is a runtime.Decoder from a function.
type decoderFunc func(v any) error

// Decode implements runtime.Decoder.
func (f decoderFunc) Decode(v any) error { return f(v) }
