package catalog

// The dimensions of the facts derived from case events (DimTaxonomyTerm is shared with
// the directory's facts).
const (
	DimTopic            = "topic"             // a consultation's topic, as a case category ("residence_permit")
	DimOutcome          = "outcome"           // where a referral stands: sent, accepted, refused, completed
	DimIssue            = "issue"             // a cross-cutting problem's tag ("immigration_office_wait")
	DimInterventionKind = "intervention_kind" // an intervention's kind ("civic_orientation")
)

// Fact kinds derived from case events.
const (
	KindConsultation = "consultation" // a consultation, on its day, in its requesting municipality
	KindReferral     = "referral"     // a referral of a case to a service, on the day of its first event; its latest outcome
	KindIssueRaised  = "issue_raised" // a cross-cutting problem tag on a case, on the day it was first raised
	KindIntervention = "intervention" // an intervention for a case's person, on its day
)

// InterventionCivicOrientation is the intervention kind of civic orientation.
const InterventionCivicOrientation = "civic_orientation"

// Dimensions of the case events' facts.
var (
	// consultationDims: the territory is the requesting municipality's; the district is
	// the case's (the desk that answered).
	consultationDims = []string{DimMunicipality, DimDistrict, DimProvince, DimRegion, DimTopic}
	referralDims     = []string{DimMunicipality, DimDistrict, DimProvince, DimRegion, DimCategory, DimTaxonomyTerm, DimOutcome}
	issueDims        = []string{DimMunicipality, DimDistrict, DimProvince, DimRegion, DimCategory, DimIssue}
	interventionDims = append(append([]string(nil), caseDims...), DimInterventionKind)
)

// Default returns Ponte's catalog.
func Default() *Catalog {
	base := baseCatalog()
	return New(append(base.All(), caseEventIndicators()...))
}

// caseEventIndicators are the indicators of the case events (cases' ListReportingCases
// carries their anonymous part: kinds, days and codes).
func caseEventIndicators() []Indicator {
	return []Indicator{
		{
			ID:    "consultations",
			Title: Text{"Consulenze per comune richiedente e tema", "Consultations by requesting municipality and topic"},
			Definition: Text{
				"Numero di consulenze (un operatore, di solito un'assistente sociale di un comune, chiede agli esperti della rete di una situazione) nel periodo (giorno della consulenza), per comune richiedente (e la sua provincia e regione), distretto del caso e tema (una categoria dei casi; «_U» se non indicato). Il testo della domanda non arriva a reporting.",
				"Number of consultations (someone, usually a municipality's social worker, asked the network's experts about a situation) in the period (the consultation's day), by requesting municipality (and its province and region), the case's district and topic (a case category; \"_U\" when not given). The question's text never reaches reporting.",
			},
			Unit: "consultations", Measure: Count, Kind: KindConsultation, Dimensions: consultationDims, Public: true, Source: "cases",
		},
		{
			ID:    "referrals",
			Title: Text{"Invii ai servizi per voce della tassonomia ed esito", "Referrals by taxonomy term and outcome"},
			Definition: Text{
				"Numero di invii di una persona a un servizio dell'elenco nel periodo (giorno del primo evento dell'invio), per voce della tassonomia del servizio, esito (inviato, accettato, rifiutato, concluso: l'ultimo registrato), comune, distretto e categoria del caso. Più eventi di invio dello stesso caso allo stesso servizio sono un solo invio, con l'esito dell'ultimo.",
				"Number of referrals of a person to a directory service in the period (the day of the referral's first event), by the service's taxonomy term, outcome (sent, accepted, refused, completed: the latest recorded), the case's municipality, district and category. Several referral events of one case to one service are one referral, with the latest one's outcome.",
			},
			Unit: "referrals", Measure: Count, Kind: KindReferral, Dimensions: referralDims, Public: true, Source: "cases",
		},
		{
			ID:    "cross_cutting_problems",
			Title: Text{"Problemi trasversali segnalati, per tipo", "Cross-cutting problems raised, by tag"},
			Definition: Text{
				"Numero di casi su cui è stato segnalato un problema trasversale (che la rete porta alle amministrazioni, es. attese all'ufficio immigrazione) nel periodo (giorno della prima segnalazione sul caso), per tipo di problema, comune, distretto e categoria del caso. Lo stesso problema segnalato due volte sullo stesso caso conta una volta.",
				"Number of cases on which a cross-cutting problem (one the network raises with administrations, e.g. waits at the immigration office) was raised in the period (the day it was first raised on the case), by problem tag, the case's municipality, district and category. The same problem raised twice on one case counts once.",
			},
			Unit: "cases", Measure: Count, Kind: KindIssueRaised, Dimensions: issueDims, Public: true, Source: "cases",
		},
		{
			ID:    "amif_so2_civic_orientation_participants",
			Title: Text{"Partecipanti a percorsi di orientamento civico (FAMI OS2)", "Participants in civic orientation (AMIF SO2)"},
			Definition: Text{
				"Indicatore comune di output FAMI, Reg. (UE) 2021/1147, allegato VIII, obiettivo specifico 2: numero di partecipanti a percorsi di orientamento civico. In Ponte: persone distinte con almeno un intervento di tipo «civic_orientation» nel periodo (giorno dell'intervento), per comune, distretto e categoria del caso, fascia d'età, sesso e cittadinanza. Gli interventi su casi senza persona non contano.",
				"AMIF common output indicator, Regulation (EU) 2021/1147, Annex VIII, specific objective 2: number of participants in civic orientation courses. In Ponte: distinct persons with at least one intervention of kind \"civic_orientation\" in the period (the intervention's day), by the case's municipality, district and category, age band, sex and citizenship. Interventions on cases without a person do not count.",
			},
			Unit: "persons", Measure: DistinctPersons, Kind: KindIntervention, Where: map[string]string{DimInterventionKind: InterventionCivicOrientation},
			Dimensions: interventionDims, Public: true, Source: "cases", AMIF: "SO2 output: participants in civic orientation",
		},
		{
			ID:    "amif_so2_authorities_supported",
			Title: Text{"Enti locali e regionali supportati (FAMI OS2)", "Local and regional authorities supported (AMIF SO2)"},
			Definition: Text{
				"Indicatore comune di output FAMI, Reg. (UE) 2021/1147, allegato VIII, obiettivo specifico 2: numero di enti locali e regionali supportati nell'attuazione di misure di integrazione. In Ponte: comuni distinti che hanno chiesto almeno una consulenza nel periodo (comune richiedente), per provincia, regione, distretto del caso e tema. È un conteggio di enti, non di persone: non è soggetto alla soppressione dei piccoli numeri (un comune che chiede consulenza non è un dato personale, e che un comune ne abbia chiesta almeno una lo mostra già l'indicatore delle consulenze) né perturbato.",
				"AMIF common output indicator, Regulation (EU) 2021/1147, Annex VIII, specific objective 2: number of local and regional authorities supported to implement integration measures. In Ponte: distinct municipalities that requested at least one consultation in the period (the requesting municipality), by province, region, the case's district and topic. It counts authorities, not persons: small counts are not suppressed (a municipality asking for advice is no personal data, and that a municipality asked at least once the consultations indicator shows already) nor perturbed.",
			},
			Unit: "authorities", Measure: DistinctPersons, Kind: KindConsultation, Dimensions: consultationDims, Public: true, Source: "cases",
			AMIF: "SO2 output: local and regional authorities supported", Authorities: true,
		},
	}
}
