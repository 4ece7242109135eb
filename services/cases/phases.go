package cases

import (
	"slices"

	casesv1 "github.com/ponte-network/ponte/proto/ponte/cases/v1"
)

// transitions is the phase state machine: the phases each phase may move to.
var transitions = map[casesv1.Phase][]casesv1.Phase{
	casesv1.Phase_PHASE_INTAKE:          {casesv1.Phase_PHASE_TAKEN_IN_CHARGE, casesv1.Phase_PHASE_CLOSED},
	casesv1.Phase_PHASE_TAKEN_IN_CHARGE: {casesv1.Phase_PHASE_PLANNING, casesv1.Phase_PHASE_INTAKE, casesv1.Phase_PHASE_CLOSED},
	casesv1.Phase_PHASE_PLANNING:        {casesv1.Phase_PHASE_DELIVERY, casesv1.Phase_PHASE_TAKEN_IN_CHARGE, casesv1.Phase_PHASE_CLOSED},
	casesv1.Phase_PHASE_DELIVERY:        {casesv1.Phase_PHASE_MONITORING, casesv1.Phase_PHASE_PLANNING, casesv1.Phase_PHASE_CLOSED},
	casesv1.Phase_PHASE_MONITORING:      {casesv1.Phase_PHASE_CLOSED, casesv1.Phase_PHASE_DELIVERY},
	casesv1.Phase_PHASE_CLOSED:          {casesv1.Phase_PHASE_TAKEN_IN_CHARGE},
}

// CanTransition reports whether a case may move from one phase to another.
func CanTransition(from, to casesv1.Phase) bool {
	return slices.Contains(transitions[from], to)
}
