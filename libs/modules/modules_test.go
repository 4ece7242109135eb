package modules_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/ponte-network/ponte/libs/modules"
)

func newManager(t *testing.T, log *[]string, failing string) *modules.Manager {
	t.Helper()
	m := modules.NewManager()
	add := func(name string, deps ...string) {
		err := m.Register(modules.Module{
			Name: name, Deps: deps,
			Start: func(context.Context) error {
				if name == failing {
					return errors.New("boom")
				}
				*log = append(*log, "start "+name)
				return nil
			},
			Stop: func(context.Context) error { *log = append(*log, "stop "+name); return nil },
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	add("server")
	add("directory", "server")
	add("cases", "server", "directory")
	add("gateway", "server")
	if err := m.Register(modules.Module{Name: "all", Deps: []string{"gateway", "cases", "directory"}}); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestResolve(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		targets []string
		want    []string
		wantErr string
	}{
		{"a service pulls in the server first", []string{"directory"}, []string{"server", "directory"}, ""},
		{"cases pulls in directory, each once", []string{"cases", "directory"}, []string{"server", "directory", "cases"}, ""},
		{"all expands to everything in dependency order", []string{"all"}, []string{"server", "directory", "cases", "gateway", "all"}, ""},
		{"an unknown target is refused with the known ones", []string{"billing"}, nil, `unknown target "billing"`},
		{"no target is refused", nil, nil, "no target"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var log []string
			got, err := newManager(t, &log, "").Resolve(tt.targets)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Resolve(%v) = %v, %v; want %v", tt.targets, got, err, tt.want)
			}
		})
	}
}

func TestStartStopOrder(t *testing.T) {
	t.Parallel()
	var log []string
	m := newManager(t, &log, "")
	if err := m.Start(context.Background(), []string{"cases"}); err != nil {
		t.Fatal(err)
	}
	if err := m.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := []string{"start server", "start directory", "start cases", "stop cases", "stop directory", "stop server"}
	if !reflect.DeepEqual(log, want) {
		t.Errorf("log = %v, want %v", log, want)
	}
}

func TestFailedStartStopsWhatStarted(t *testing.T) {
	t.Parallel()
	var log []string
	m := newManager(t, &log, "cases")
	err := m.Start(context.Background(), []string{"cases"})
	if err == nil || !strings.Contains(err.Error(), "start module cases") {
		t.Fatalf("error = %v, want the failing module named", err)
	}
	want := []string{"start server", "start directory", "stop directory", "stop server"}
	if !reflect.DeepEqual(log, want) {
		t.Errorf("log = %v, want %v", log, want)
	}
}

func TestCycleIsReported(t *testing.T) {
	t.Parallel()
	m := modules.NewManager()
	_ = m.Register(modules.Module{Name: "a", Deps: []string{"b"}})
	_ = m.Register(modules.Module{Name: "b", Deps: []string{"a"}})
	if _, err := m.Resolve([]string{"a"}); err == nil || !strings.Contains(err.Error(), "cycle") {
		t.Fatalf("error = %v, want a cycle", err)
	}
}
