// Package modules starts the parts of a Ponte process in dependency order and stops them
// in reverse, so that one binary can run any set of services (`-target=all`,
// `-target=cases,mediators`, `-target=gateway`), as Grafana Loki and Mimir do.
package modules

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Module is one part of the process. A module without Start or Stop is a group: it only
// pulls in its dependencies (like "all").
type Module struct {
	Name string
	// Deps are started before this module and stopped after it.
	Deps []string
	// Start prepares the module (open stores, register gRPC services); the process
	// starts serving once every selected module has started.
	Start func(ctx context.Context) error
	// Stop releases what Start acquired.
	Stop func(ctx context.Context) error
	// Hidden modules (internal dependencies such as the gRPC server) are not offered
	// as targets.
	Hidden bool
}

// Manager holds the modules a binary knows.
type Manager struct {
	modules map[string]Module
	started []string
}

// NewManager returns an empty manager.
func NewManager() *Manager { return &Manager{modules: map[string]Module{}} }

// Register adds a module; names are unique.
func (m *Manager) Register(mod Module) error {
	if mod.Name == "" {
		return errors.New("register module: empty name")
	}
	if _, dup := m.modules[mod.Name]; dup {
		return fmt.Errorf("register module %q: already registered", mod.Name)
	}
	m.modules[mod.Name] = mod
	return nil
}

// Targets lists the names a user may pass to -target, sorted.
func (m *Manager) Targets() []string {
	var out []string
	for name, mod := range m.modules {
		if !mod.Hidden {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// Resolve returns the targets and all their dependencies, each once, every module after
// its dependencies (ties broken by name, so the order is stable).
func (m *Manager) Resolve(targets []string) ([]string, error) {
	if len(targets) == 0 {
		return nil, errors.New("no target given")
	}
	const (
		visiting = 1
		done     = 2
	)
	state := map[string]int{}
	var order []string
	var visit func(name string, path []string) error
	visit = func(name string, path []string) error {
		mod, ok := m.modules[name]
		if !ok {
			if len(path) == 0 {
				return fmt.Errorf("unknown target %q (known: %s)", name, strings.Join(m.Targets(), ", "))
			}
			return fmt.Errorf("module %q depends on unknown module %q", path[len(path)-1], name)
		}
		switch state[name] {
		case done:
			return nil
		case visiting:
			return fmt.Errorf("module dependency cycle: %s -> %s", strings.Join(path, " -> "), name)
		}
		state[name] = visiting
		deps := append([]string(nil), mod.Deps...)
		sort.Strings(deps)
		for _, d := range deps {
			if err := visit(d, append(path, name)); err != nil {
				return err
			}
		}
		state[name] = done
		order = append(order, name)
		return nil
	}
	sorted := append([]string(nil), targets...)
	sort.Strings(sorted)
	for _, t := range sorted {
		if err := visit(strings.TrimSpace(t), nil); err != nil {
			return nil, err
		}
	}
	return order, nil
}

// Start resolves targets and starts the modules in order. If one fails, those already
// started are stopped in reverse and the error returned.
func (m *Manager) Start(ctx context.Context, targets []string) error {
	order, err := m.Resolve(targets)
	if err != nil {
		return err
	}
	for _, name := range order {
		mod := m.modules[name]
		if mod.Start != nil {
			if err := mod.Start(ctx); err != nil {
				stopErr := m.Stop(ctx)
				return errors.Join(fmt.Errorf("start module %s: %w", name, err), stopErr)
			}
		}
		m.started = append(m.started, name)
	}
	return nil
}

// Started lists the modules started, in start order.
func (m *Manager) Started() []string { return append([]string(nil), m.started...) }

// Stop stops the started modules in reverse order, going on past failures.
func (m *Manager) Stop(ctx context.Context) error {
	var errs []error
	for i := len(m.started) - 1; i >= 0; i-- {
		mod := m.modules[m.started[i]]
		if mod.Stop != nil {
			if err := mod.Stop(ctx); err != nil {
				errs = append(errs, fmt.Errorf("stop module %s: %w", mod.Name, err))
			}
		}
	}
	m.started = nil
	return errors.Join(errs...)
}
