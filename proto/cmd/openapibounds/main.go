// Command openapibounds writes the protovalidate rules of Ponte's protos into the
// OpenAPI document that protoc-gen-openapi generated from them, so that the document
// promises what the services enforce: string lengths, patterns and formats, enum values,
// item and pair counts, number ranges, and no properties beyond a message's fields
// (the edge refuses unknown fields). `make generate` runs it after `buf generate`, on the
// descriptor set `buf build` writes; its output depends only on its inputs, so
// `make check-generated` reproduces it.
//
//	openapibounds -descriptors ponte.binpb -openapi proto/openapi/openapi.yaml
package main

import (
	"flag"
	"fmt"
	"os"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
)

func main() {
	descriptors := flag.String("descriptors", "", "file descriptor set of the protos, as `buf build -o` writes it")
	document := flag.String("openapi", "", "OpenAPI document to complete, rewritten in place")
	flag.Parse()
	if *descriptors == "" || *document == "" {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*descriptors, *document); err != nil {
		fmt.Fprintln(os.Stderr, "openapibounds:", err)
		os.Exit(1)
	}
}

func run(descriptors, document string) error {
	files, err := loadFiles(descriptors)
	if err != nil {
		return err
	}
	in, err := os.ReadFile(document)
	if err != nil {
		return fmt.Errorf("read OpenAPI document: %w", err)
	}
	out, err := Apply(in, files)
	if err != nil {
		return err
	}
	if err := os.WriteFile(document, out, 0o644); err != nil {
		return fmt.Errorf("write OpenAPI document: %w", err)
	}
	return nil
}

// loadFiles reads a file descriptor set; the protovalidate options and Ponte's
// predefined rules are decoded as the extensions this binary links in.
func loadFiles(path string) (*protoregistry.Files, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read descriptor set: %w", err)
	}
	set := &descriptorpb.FileDescriptorSet{}
	if err := (proto.UnmarshalOptions{Resolver: protoregistry.GlobalTypes}).Unmarshal(b, set); err != nil {
		return nil, fmt.Errorf("decode descriptor set %s: %w", path, err)
	}
	files, err := protodesc.NewFiles(set)
	if err != nil {
		return nil, fmt.Errorf("link descriptor set %s: %w", path, err)
	}
	return files, nil
}
