package main

import (
	"bytes"
	"fmt"
	"math"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"

	"buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go/buf/validate"
	"go.yaml.in/yaml/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	validatev1 "github.com/ponte-network/ponte/proto/ponte/validate/v1"
)

// TextPattern is the OpenAPI pattern of a field marked (ponte.validate.v1.text): no
// control character but tab, line feed and carriage return. rules.proto's CEL
// expression holds the same regular expression.
const TextPattern = `^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F]*$`

// apiPackage prefixes the protobuf packages whose messages the document describes.
const apiPackage = "ponte."

// Apply returns the OpenAPI document (YAML, as protoc-gen-openapi writes it) with the
// protovalidate rules of files written into its schemas and parameters: each component
// schema is matched to the message of its name, each property to the field of its JSON
// name, each operation's parameters to the fields of its method's request.
func Apply(document []byte, files *protoregistry.Files) ([]byte, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(document, &root); err != nil {
		return nil, fmt.Errorf("parse OpenAPI document: %w", err)
	}
	if root.Kind != yaml.DocumentNode || len(root.Content) != 1 {
		return nil, fmt.Errorf("parse OpenAPI document: not one YAML document")
	}
	doc := root.Content[0]
	messages, services, err := index(files)
	if err != nil {
		return nil, err
	}
	if schemas := get(get(doc, "components"), "schemas"); schemas != nil {
		for i := 0; i+1 < len(schemas.Content); i += 2 {
			name, schema := schemas.Content[i].Value, schemas.Content[i+1]
			md, ok := messages[name]
			if !ok {
				return nil, fmt.Errorf("component schema %s: no message of that name", name)
			}
			if err := applyMessage(schema, md); err != nil {
				return nil, fmt.Errorf("component schema %s: %w", name, err)
			}
		}
	}
	if paths := get(doc, "paths"); paths != nil {
		for i := 0; i+1 < len(paths.Content); i += 2 {
			path, item := paths.Content[i].Value, paths.Content[i+1]
			for j := 0; j+1 < len(item.Content); j += 2 {
				op := item.Content[j+1]
				if err := applyOperation(op, services); err != nil {
					return nil, fmt.Errorf("%s %s: %w", strings.ToUpper(item.Content[j].Value), path, err)
				}
			}
		}
	}
	var out bytes.Buffer
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(4) // as protoc-gen-openapi writes it
	if err := enc.Encode(&root); err != nil {
		return nil, fmt.Errorf("write OpenAPI document: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("write OpenAPI document: %w", err)
	}
	return out.Bytes(), nil
}

// index finds the API's messages by name and its services by name; a name used twice
// is an error, as the document's schemas are named by it alone.
func index(files *protoregistry.Files) (map[string]protoreflect.MessageDescriptor, map[string]protoreflect.ServiceDescriptor, error) {
	messages := map[string]protoreflect.MessageDescriptor{}
	services := map[string]protoreflect.ServiceDescriptor{}
	var err error
	var addMessages func(protoreflect.MessageDescriptors)
	addMessages = func(ms protoreflect.MessageDescriptors) {
		for i := range ms.Len() {
			md := ms.Get(i)
			if md.IsMapEntry() {
				continue
			}
			name := string(md.Name())
			if _, dup := messages[name]; dup && err == nil {
				err = fmt.Errorf("message name %s is used twice (%s)", name, md.FullName())
			}
			messages[name] = md
			addMessages(md.Messages())
		}
	}
	files.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		if !strings.HasPrefix(string(fd.Package()), apiPackage) {
			return true
		}
		addMessages(fd.Messages())
		for i := range fd.Services().Len() {
			sd := fd.Services().Get(i)
			services[string(sd.Name())] = sd
		}
		return true
	})
	return messages, services, err
}

// applyMessage writes the rules of md's fields into its schema, and closes it to other
// properties.
func applyMessage(schema *yaml.Node, md protoreflect.MessageDescriptor) error {
	if props := get(schema, "properties"); props != nil {
		for i := 0; i+1 < len(props.Content); i += 2 {
			name := props.Content[i].Value
			fd := md.Fields().ByJSONName(name)
			if fd == nil {
				return fmt.Errorf("property %s: no field of that JSON name in %s", name, md.FullName())
			}
			if err := applyField(props.Content[i+1], fd); err != nil {
				return fmt.Errorf("property %s: %w", name, err)
			}
		}
	}
	if str(schema, "type") == "object" && get(schema, "additionalProperties") == nil {
		set(schema, "additionalProperties", boolNode(false))
	}
	return nil
}

// applyOperation writes the rules of the request's fields into the operation's
// parameters; operationId is <Service>_<Method>.
func applyOperation(op *yaml.Node, services map[string]protoreflect.ServiceDescriptor) error {
	params := get(op, "parameters")
	if params == nil {
		return nil
	}
	id := str(op, "operationId")
	svc, method, ok := strings.Cut(id, "_")
	if !ok {
		return fmt.Errorf("operationId %q is not <Service>_<Method>", id)
	}
	sd, ok := services[svc]
	if !ok {
		return fmt.Errorf("operationId %q: no service %s", id, svc)
	}
	m := sd.Methods().ByName(protoreflect.Name(method))
	if m == nil {
		return fmt.Errorf("operationId %q: no method %s in %s", id, method, svc)
	}
	for _, p := range params.Content {
		name := str(p, "name")
		fd, err := fieldAt(m.Input(), name)
		if err != nil {
			return fmt.Errorf("parameter %s: %w", name, err)
		}
		if schema := get(p, "schema"); schema != nil {
			if err := applyField(schema, fd); err != nil {
				return fmt.Errorf("parameter %s: %w", name, err)
			}
		}
	}
	return nil
}

// fieldAt finds the field a parameter names: JSON (or proto) names joined with dots.
func fieldAt(md protoreflect.MessageDescriptor, path string) (protoreflect.FieldDescriptor, error) {
	var fd protoreflect.FieldDescriptor
	for part := range strings.SplitSeq(path, ".") {
		if md == nil {
			return nil, fmt.Errorf("%s is not a message", fd.FullName())
		}
		fd = md.Fields().ByJSONName(part)
		if fd == nil {
			fd = md.Fields().ByName(protoreflect.Name(part))
		}
		if fd == nil {
			return nil, fmt.Errorf("no field %s in %s", part, md.FullName())
		}
		md = fd.Message()
	}
	return fd, nil
}

// applyField writes fd's rules into the schema of its value: an array's items, a map's
// values.
func applyField(schema *yaml.Node, fd protoreflect.FieldDescriptor) error {
	rules, _ := proto.GetExtension(fd.Options(), validate.E_Field).(*validate.FieldRules)
	switch {
	case fd.IsList():
		if str(schema, "type") != "array" {
			return fmt.Errorf("repeated field %s has a schema of type %q", fd.FullName(), str(schema, "type"))
		}
		if r := rules.GetRepeated(); r != nil {
			if r.MinItems != nil {
				setInt(schema, "minItems", int64(r.GetMinItems()))
			}
			if r.MaxItems != nil {
				setInt(schema, "maxItems", int64(r.GetMaxItems()))
			}
			if r.GetUnique() {
				set(schema, "uniqueItems", boolNode(true))
			}
		}
		if _, ok := optInt(schema, "maxItems"); ok && get(schema, "minItems") == nil {
			// A repeated field may always be empty unless min_items says otherwise.
			setInt(schema, "minItems", 0)
		}
		if items := get(schema, "items"); items != nil {
			return applyValue(items, fd, rules.GetRepeated().GetItems())
		}
		return nil
	case fd.IsMap():
		if r := rules.GetMap(); r != nil {
			if r.MinPairs != nil {
				setInt(schema, "minProperties", int64(r.GetMinPairs()))
			}
			if r.MaxPairs != nil {
				setInt(schema, "maxProperties", int64(r.GetMaxPairs()))
			}
		}
		if values := get(schema, "additionalProperties"); values != nil && values.Kind == yaml.MappingNode {
			return applyValue(values, fd.MapValue(), rules.GetMap().GetValues())
		}
		return nil
	default:
		return applyValue(schema, fd, rules)
	}
}

// applyValue writes the rules of one value of fd (a scalar, an item, a map value) into
// its schema. A message's schema is a $ref, described by its own component.
func applyValue(schema *yaml.Node, fd protoreflect.FieldDescriptor, rules *validate.FieldRules) error {
	if get(schema, "$ref") != nil {
		return nil
	}
	switch fd.Kind() {
	case protoreflect.StringKind:
		applyString(schema, rules.GetString_())
	case protoreflect.EnumKind:
		applyEnum(schema, fd.Enum(), rules.GetEnum())
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind,
		protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		applyNumber(schema, numberRules(rules))
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		applyNumber(schema, numberRules(rules))
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind,
		protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		// Written as a JSON string of digits: its format says so.
		if str(schema, "type") == "string" && get(schema, "format") == nil {
			set(schema, "format", strNode(strings.ToLower(fd.Kind().String())))
		}
		applyNumber(schema, numberRules(rules))
	}
	return nil
}

// numberRules returns the rules message of a numeric field (Int32Rules, DoubleRules, …).
func numberRules(rules *validate.FieldRules) protoreflect.Message {
	if rules == nil {
		return nil
	}
	m := rules.ProtoReflect()
	oneof := m.Descriptor().Oneofs().ByName("type")
	if oneof == nil {
		return nil
	}
	fd := m.WhichOneof(oneof)
	if fd == nil || fd.Message() == nil {
		return nil
	}
	return m.Get(fd).Message()
}

// applyNumber writes gt/gte/lt/lte/const/in as minimum/maximum/enum. A number written
// as a JSON string (64-bit integers) takes no minimum: JSON Schema ranges are for numbers.
func applyNumber(schema *yaml.Node, r protoreflect.Message) {
	if r == nil {
		return
	}
	if t := str(schema, "type"); t != "integer" && t != "number" {
		return
	}
	field := func(name string) (protoreflect.Value, bool) {
		fd := r.Descriptor().Fields().ByName(protoreflect.Name(name))
		if fd == nil || !r.Has(fd) {
			return protoreflect.Value{}, false
		}
		return r.Get(fd), true
	}
	if v, ok := field("const"); ok {
		set(schema, "enum", &yaml.Node{Kind: yaml.SequenceNode, Content: []*yaml.Node{numberNode(v)}})
		return
	}
	if v, ok := field("in"); ok && v.List().Len() > 0 {
		seq := &yaml.Node{Kind: yaml.SequenceNode}
		for i := range v.List().Len() {
			seq.Content = append(seq.Content, numberNode(v.List().Get(i)))
		}
		set(schema, "enum", seq)
	}
	if v, ok := field("gte"); ok {
		set(schema, "minimum", numberNode(v))
	} else if v, ok := field("gt"); ok {
		set(schema, "minimum", numberNode(v))
		set(schema, "exclusiveMinimum", boolNode(true))
	}
	if v, ok := field("lte"); ok {
		set(schema, "maximum", numberNode(v))
	} else if v, ok := field("lt"); ok {
		set(schema, "maximum", numberNode(v))
		set(schema, "exclusiveMaximum", boolNode(true))
	}
}

// applyString writes a string's rules: lengths, pattern, enum, well-known formats and
// Ponte's predefined rules. A pattern that bounds the length gives maxLength when no
// rule says it.
func applyString(schema *yaml.Node, r *validate.StringRules) {
	if r == nil || str(schema, "type") != "string" {
		return
	}
	if r.Const != nil {
		set(schema, "enum", &yaml.Node{Kind: yaml.SequenceNode, Content: []*yaml.Node{strNode(r.GetConst())}})
	}
	if len(r.GetIn()) > 0 {
		seq := &yaml.Node{Kind: yaml.SequenceNode}
		for _, v := range r.GetIn() {
			seq.Content = append(seq.Content, strNode(v))
		}
		set(schema, "enum", seq)
	}
	if r.Len != nil {
		setInt(schema, "minLength", int64(r.GetLen()))
		setInt(schema, "maxLength", int64(r.GetLen()))
	}
	if r.MinLen != nil {
		setInt(schema, "minLength", int64(r.GetMinLen()))
	}
	if r.MaxLen != nil {
		setInt(schema, "maxLength", int64(r.GetMaxLen()))
	}
	if format := stringFormat(r); format != "" {
		set(schema, "format", strNode(format))
	}
	pattern := r.GetPattern()
	if proto.HasExtension(r, validatev1.E_Text) && proto.GetExtension(r, validatev1.E_Text).(bool) {
		if pattern == "" {
			// With a pattern of its own, the field's pattern is the stricter shape the
			// document says (a lookahead joining both is not RE2 and not every tool's).
			pattern = TextPattern
		}
	}
	if pattern != "" {
		set(schema, "pattern", strNode(pattern))
	}
	if _, ok := optInt(schema, "maxLength"); !ok {
		// Every code point is at least one byte, and a bounded pattern bounds the length.
		if r.MaxBytes != nil {
			setInt(schema, "maxLength", int64(r.GetMaxBytes()))
		} else if n, ok := patternMaxLength(r.GetPattern()); ok {
			setInt(schema, "maxLength", int64(n))
		}
	}
}

// stringFormat is the OpenAPI format of a string's well-known rule, or "".
func stringFormat(r *validate.StringRules) string {
	switch {
	case proto.HasExtension(r, validatev1.E_CivilDate) && proto.GetExtension(r, validatev1.E_CivilDate).(bool):
		return "date"
	case r.GetUuid():
		return "uuid"
	case r.GetEmail():
		return "email"
	case r.GetUri():
		return "uri"
	case r.GetUriRef():
		return "uri-reference"
	case r.GetHostname():
		return "hostname"
	case r.GetIpv4():
		return "ipv4"
	case r.GetIpv6():
		return "ipv6"
	}
	return ""
}

// patternMaxLength is the most code points a string matching pattern (RE2 syntax, as
// protovalidate reads it) can have, when the pattern is anchored at both ends and
// bounds it.
func patternMaxLength(pattern string) (int, bool) {
	if pattern == "" {
		return 0, false
	}
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return 0, false
	}
	re = re.Simplify()
	if !anchored(re) {
		return 0, false
	}
	n := maxLen(re)
	return n, n >= 0
}

// anchored reports whether every alternative of re starts with ^ and ends with $.
func anchored(re *syntax.Regexp) bool {
	for re.Op == syntax.OpCapture {
		re = re.Sub[0]
	}
	switch re.Op {
	case syntax.OpAlternate:
		for _, sub := range re.Sub {
			if !anchored(sub) {
				return false
			}
		}
		return true
	case syntax.OpConcat:
		first, last := re.Sub[0], re.Sub[len(re.Sub)-1]
		return (first.Op == syntax.OpBeginText || first.Op == syntax.OpBeginLine) &&
			(last.Op == syntax.OpEndText || last.Op == syntax.OpEndLine)
	case syntax.OpEmptyMatch:
		return true
	}
	return false
}

// maxLen is the most code points re matches, -1 when unbounded.
func maxLen(re *syntax.Regexp) int {
	switch re.Op {
	case syntax.OpLiteral:
		return len(re.Rune)
	case syntax.OpCharClass, syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		return 1
	case syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText,
		syntax.OpEndText, syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return 0
	case syntax.OpCapture:
		return maxLen(re.Sub[0])
	case syntax.OpQuest:
		return maxLen(re.Sub[0])
	case syntax.OpStar, syntax.OpPlus:
		return -1
	case syntax.OpRepeat:
		sub := maxLen(re.Sub[0])
		if re.Max < 0 || sub < 0 {
			return -1
		}
		return sub * re.Max
	case syntax.OpConcat:
		total := 0
		for _, s := range re.Sub {
			n := maxLen(s)
			if n < 0 {
				return -1
			}
			total += n
		}
		return total
	case syntax.OpAlternate:
		most := 0
		for _, s := range re.Sub {
			n := maxLen(s)
			if n < 0 {
				return -1
			}
			most = max(most, n)
		}
		return most
	}
	return -1
}

// applyEnum narrows an enum's values by in/not_in/const, by number.
func applyEnum(schema *yaml.Node, ed protoreflect.EnumDescriptor, r *validate.EnumRules) {
	values := get(schema, "enum")
	if r == nil || values == nil || values.Kind != yaml.SequenceNode {
		return
	}
	keep := func(n protoreflect.EnumNumber) bool {
		if r.Const != nil {
			return int32(n) == r.GetConst()
		}
		if len(r.GetIn()) > 0 && !slices.Contains(r.GetIn(), int32(n)) {
			return false
		}
		return !slices.Contains(r.GetNotIn(), int32(n))
	}
	var kept []*yaml.Node
	for _, v := range values.Content {
		ev := ed.Values().ByName(protoreflect.Name(v.Value))
		if ev == nil || keep(ev.Number()) {
			kept = append(kept, v)
		}
	}
	values.Content = kept
}

// get returns the value of key in a mapping node, or nil.
func get(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// str returns the scalar value of key in a mapping node, or "".
func str(m *yaml.Node, key string) string {
	if v := get(m, key); v != nil && v.Kind == yaml.ScalarNode {
		return v.Value
	}
	return ""
}

// set replaces the value of key in a mapping node, or appends the pair.
func set(m *yaml.Node, key string, v *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content[i+1] = v
			return
		}
	}
	m.Content = append(m.Content, strNode(key), v)
}

func setInt(m *yaml.Node, key string, v int64) {
	set(m, key, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.FormatInt(v, 10)})
}

func optInt(m *yaml.Node, key string) (int64, bool) {
	v := get(m, key)
	if v == nil {
		return 0, false
	}
	n, err := strconv.ParseInt(v.Value, 10, 64)
	return n, err == nil
}

func strNode(s string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
}

func boolNode(b bool) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(b)}
}

// numberNode writes a rule's number: integers as integers, floats in the shortest form
// that reads back the same.
func numberNode(v protoreflect.Value) *yaml.Node {
	switch x := v.Interface().(type) {
	case int32:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.FormatInt(int64(x), 10)}
	case int64:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.FormatInt(x, 10)}
	case uint32:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.FormatUint(uint64(x), 10)}
	case uint64:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.FormatUint(x, 10)}
	case float32:
		return floatNode(float64(x), 32)
	case float64:
		return floatNode(x, 64)
	}
	return strNode(v.String())
}

func floatNode(f float64, bits int) *yaml.Node {
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.FormatInt(int64(f), 10)}
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!float", Value: strconv.FormatFloat(f, 'g', -1, bits)}
}
