// Package updatemask applies the field mask of an AIP-134 Update: the fields it names are
// taken from the request, the others kept from the stored record.
package updatemask

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/ponte-network/ponte/libs/grpcerr"
)

// Apply returns a copy of before with the top-level fields named by mask taken from m
// (set, or cleared when m leaves them unset). A nested path such as "address.city"
// replaces the whole top-level field; paths may use proto or JSON names; an empty mask
// takes every field. Fields named in immutable (ids, etags, times, output-only fields)
// are never taken. A path naming no field is an InvalidArgument on update_mask.paths[i].
func Apply[T proto.Message](before, m T, mask *fieldmaskpb.FieldMask, immutable ...protoreflect.Name) (T, error) {
	out := proto.Clone(before).(T)
	dst, src := out.ProtoReflect(), m.ProtoReflect()
	fields := dst.Descriptor().Fields()
	var selected []protoreflect.FieldDescriptor
	if len(mask.GetPaths()) == 0 {
		for i := range fields.Len() {
			selected = append(selected, fields.Get(i))
		}
	}
	for i, p := range mask.GetPaths() {
		top, _, _ := strings.Cut(p, ".")
		fd := fields.ByName(protoreflect.Name(top))
		if fd == nil {
			fd = fields.ByJSONName(top)
		}
		if fd == nil {
			var zero T
			return zero, grpcerr.InvalidArgument(grpcerr.FieldViolation{
				Field: "update_mask.paths[" + strconv.Itoa(i) + "]", Description: fmt.Sprintf("no field %q", p),
			})
		}
		selected = append(selected, fd)
	}
	for _, fd := range selected {
		if slices.Contains(immutable, fd.Name()) {
			continue
		}
		if src.Has(fd) {
			dst.Set(fd, src.Get(fd))
		} else {
			dst.Clear(fd)
		}
	}
	return out, nil
}
