package app

import (
	"context"

	"github.com/ponte-network/ponte/libs/modules"
	"github.com/ponte-network/ponte/services/cases"
)

// casesModule runs the cases service: persons, their cases and the districts' sync.
func (a *App) casesModule() modules.Module {
	return modules.Module{Name: "cases", Start: a.startCases}
}

func (a *App) startCases(ctx context.Context) error {
	st, err := cases.OpenStore(ctx, a.storeConfig("cases"))
	if err != nil {
		return err
	}
	a.onClose(st.Close)
	svc, err := cases.New(cases.Deps{Store: st, Catalog: a.catalog})
	if err != nil {
		return err
	}
	svc.Register(a.srv.Registrar())
	a.addPolicy(cases.Policy())
	a.addReady("cases", svc.Ready)
	for _, name := range cases.ServiceNames {
		a.srv.SetServing(name, true)
	}
	return nil
}
