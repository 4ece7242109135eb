package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestGeneratedFilesAreUpToDate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := run(dir); err != nil {
		t.Fatal(err)
	}
	for _, a := range areas {
		name := a.file + ".json"
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		committed, err := os.ReadFile(filepath.Join("..", "..", "demo", name))
		if err != nil {
			t.Fatalf("%s is not committed: %v", name, err)
		}
		if !bytes.Equal(got, committed) {
			t.Errorf("demo/%s differs from the generator's output: run go generate ./services/directory/seed", name)
		}
	}
	entries, err := os.ReadDir(filepath.Join("..", "..", "demo"))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(areas) {
		t.Errorf("demo/ holds %d files, the generator writes %d", len(entries), len(areas))
	}
}
