// Package catalog is the observatory's list of indicators: what each one counts, from
// which facts, in which unit, along which dimensions, and whether the public may see it.
// Definitions are written in Italian and English, because the Region and the funder
// (EU AMIF, "FAMI" in Italy) read them in their own language; docs/reporting.md gives
// the mapping from Ponte's events to each indicator and what is left out.
//
// An indicator selects facts by kind (and, for some, by an attribute) and measures
// them: a count of facts, a count of distinct persons (by keyed pseudonym), a sum of a
// quantity, or a median. Only indicators whose facts reporting ingests today are in the
// catalog: an indicator that would always answer zero is not listed.
package catalog

import (
	"slices"
	"sort"
)

// Measure is how an indicator's cells are computed.
type Measure int

// The measures.
const (
	Count           Measure = iota + 1 // facts
	DistinctPersons                    // distinct keyed pseudonyms
	Sum                                // the facts' quantity
	Median                             // the median of the facts' values (DimValue) over the facts
	Rate                               // the facts' quantities summed over the number of facts
)

// The dimensions facts carry. Territory levels are dimensions of their own: a query
// groups by one of them.
const (
	DimMunicipality = "municipality"      // six-digit ISTAT code
	DimDistrict     = "district"          // the network's district (ambito) code
	DimProvince     = "province"          // three-digit ISTAT code
	DimRegion       = "region"            // two-digit ISTAT code
	DimCategory     = "category"          // the case category ("family_reunification")
	DimAgeBand      = "age_band"          // "0-17", "18-24", ... "65+"
	DimSex          = "sex"               // F, M, O (SDMX codes)
	DimCitizenship  = "citizenship"       // ISO 3166-1 alpha-2
	DimLanguage     = "language"          // ISO 639 code of the language mediated
	DimServiceType  = "service_type"      // who asked a mediator: school, health, social, legal, housing...
	DimOrgType      = "organization_type" // the kind of requesting organization
	DimMode         = "mode"              // in_person, phone, video
	DimReachedVia   = "reached_via"       // how the network reached a home owner: desk, municipality, agency...
	DimBedrooms     = "bedrooms"          // a home's bedrooms: 0 (studio) to 4 (4 or more)
	DimContractType = "contract_type"     // free_4_4, agreed_3_2, transitional, student
	DimTaxonomyTerm = "taxonomy_term"     // the directory's taxonomy term id
	// DimValue is no dimension one may group by: the facts of a median indicator carry
	// their measured value in it, so that their rollup rows are the value's distribution.
	DimValue = "value"
)

// TerritoryDims are the territory levels, widest first.
var TerritoryDims = []string{DimRegion, DimProvince, DimDistrict, DimMunicipality}

// Fact kinds reporting derives from the feeds.
const (
	KindCaseOpened      = "case_opened"      // a case, on the day it was created
	KindDeliveryReached = "delivery_reached" // a case, on the day it was first seen in delivery or monitoring

	KindMediationDelivered = "mediation_delivered" // a completed booking, on its day; quantity: actual minutes
	KindMediationClosed    = "mediation_closed"    // a booking completed, cancelled or no-show, on its day; quantity: 1 if completed
	KindMediationAssigned  = "mediation_lead_time" // a booking that got a mediator, on its day; value: hours from request to assignment

	KindOwnerEngaged   = "housing_owner_engaged"    // a home owner, on the day first seen engaged
	KindHomeAvailable  = "housing_home_available"   // a home offered, on the day it was created
	KindContractSigned = "housing_contract_signed"  // a tenancy, on the day it was signed
	KindDaysToContract = "housing_days_to_contract" // a tenancy, on the day it was signed; value: days from request to contract

	KindServiceMapped     = "service_mapped"     // an active service of the directory, per term × language × municipality, on the day it was created
	KindDirectoryLocation = "directory_location" // a location and its municipality (places services; no indicator)
)

// Text is a text in Italian and English.
type Text struct{ It, En string }

// Indicator is one entry of the catalog.
type Indicator struct {
	ID         string
	Title      Text
	Definition Text
	Unit       string
	Measure    Measure
	Kind       string            // the kind of facts it measures
	Where      map[string]string // and only facts with these attribute values
	Dimensions []string
	Public     bool   // default for deployments that do not choose
	Source     string // the feed its facts come from
	AMIF       string // the AMIF common indicator, Regulation (EU) 2021/1147 Annex VIII
	// Authorities: the distinct "persons" are public authorities (municipalities), not
	// persons, so its answers are published exactly, without disclosure control.
	Authorities bool
}

// Allows reports whether dim may be used in group_by or a filter.
func (ind Indicator) Allows(dim string) bool { return slices.Contains(ind.Dimensions, dim) }

// caseDims are the dimensions of every fact derived from a case.
var caseDims = []string{DimMunicipality, DimDistrict, DimProvince, DimRegion, DimCategory, DimAgeBand, DimSex, DimCitizenship}

// mediationDims are the dimensions of every fact derived from a booking.
var mediationDims = []string{DimMunicipality, DimDistrict, DimProvince, DimRegion, DimLanguage, DimServiceType, DimOrgType, DimMode}

// Dimensions of the housing facts: owners have only a district.
var (
	ownerDims    = []string{DimDistrict, DimReachedVia}
	homeDims     = []string{DimMunicipality, DimDistrict, DimProvince, DimRegion, DimBedrooms}
	contractDims = []string{DimMunicipality, DimDistrict, DimProvince, DimRegion, DimContractType}
)

// serviceDims are the dimensions of the directory's service facts.
var serviceDims = []string{DimMunicipality, DimProvince, DimRegion, DimTaxonomyTerm, DimLanguage}

// Catalog is the set of indicators; it is read-only.
type Catalog struct {
	byID map[string]Indicator
	ids  []string
}

// baseCatalog returns Ponte's catalog but for the indicators of the case events
// (caseevents.go).
func baseCatalog() *Catalog {
	return New([]Indicator{
		{
			ID:    "cases_opened",
			Title: Text{"Casi aperti", "Cases opened"},
			Definition: Text{
				"Numero di casi aperti nel periodo (data di creazione del caso in Ponte o nel sistema del distretto sincronizzato), per comune del caso, distretto, categoria, fascia d'età della persona all'apertura, sesso e cittadinanza. I casi eliminati non sono contati.",
				"Number of cases opened in the period (the day the case was created in Ponte or synced from the district's system), by the case's municipality, district, category, the person's age band at opening, sex and citizenship. Deleted cases are not counted.",
			},
			Unit: "cases", Measure: Count, Kind: KindCaseOpened, Dimensions: caseDims, Public: true, Source: "cases",
		},
		{
			ID:    "persons_reached",
			Title: Text{"Persone raggiunte", "Persons reached"},
			Definition: Text{
				"Numero di persone distinte con almeno un caso aperto nel periodo. Le persone sono contate per pseudonimo con chiave (HMAC sotto il segreto di reporting), mai per identificativo; i casi senza persona (consulenze su una situazione) non contano. Una persona con casi in due comuni conta una volta nel totale e una volta in ciascun comune.",
				"Number of distinct persons with at least one case opened in the period. Persons are counted by keyed pseudonym (HMAC under the reporting secret), never by id; cases without a person (consultations about a situation) do not count. A person with cases in two municipalities counts once in the total and once in each municipality.",
			},
			Unit: "persons", Measure: DistinctPersons, Kind: KindCaseOpened, Dimensions: caseDims, Public: true, Source: "cases",
		},
		{
			ID:    "persons_reached_delivery",
			Title: Text{"Persone arrivate all'erogazione", "Persons who reached delivery"},
			Definition: Text{
				"Numero di persone distinte con almeno un caso entrato in erogazione (o direttamente in monitoraggio) nel periodo: la data è quella in cui reporting ha visto per la prima volta il caso in quella fase nel flusso dei casi.",
				"Number of distinct persons with at least one case that entered delivery (or went straight to monitoring) in the period: the day is when reporting first saw the case in that phase in the case feed.",
			},
			Unit: "persons", Measure: DistinctPersons, Kind: KindDeliveryReached, Dimensions: caseDims, Public: true, Source: "cases",
		},
		{
			ID:    "amif_so2_language_course_participants",
			Title: Text{"Partecipanti a corsi di lingua (FAMI OS2)", "Participants in language courses (AMIF SO2)"},
			Definition: Text{
				"Indicatore comune di output FAMI, Reg. (UE) 2021/1147, allegato VIII, obiettivo specifico 2: numero di partecipanti a corsi di lingua. In Ponte: persone distinte con un caso della categoria «corso di italiano» entrato in erogazione nel periodo (la persona è iscritta e segue il corso).",
				"AMIF common output indicator, Regulation (EU) 2021/1147, Annex VIII, specific objective 2: number of participants in language courses. In Ponte: distinct persons with a case of category \"Italian course\" that entered delivery in the period (the person is enrolled and attending).",
			},
			Unit: "persons", Measure: DistinctPersons, Kind: KindDeliveryReached, Where: map[string]string{DimCategory: "italian_course"},
			Dimensions: caseDims, Public: true, Source: "cases", AMIF: "SO2 output: participants in language courses",
		},
		{
			ID:    "amif_so2_professional_guidance_participants",
			Title: Text{"Partecipanti a orientamento professionale individuale (FAMI OS2)", "Participants in individual professional guidance (AMIF SO2)"},
			Definition: Text{
				"Indicatore comune di output FAMI, allegato VIII, OS2: numero di partecipanti che hanno ricevuto orientamento professionale individuale. In Ponte: persone distinte con un caso della categoria «lavoro» entrato in erogazione nel periodo (il percorso individuale di orientamento è in corso).",
				"AMIF common output indicator, Annex VIII, SO2: number of participants who received individual professional guidance. In Ponte: distinct persons with a case of category \"employment\" that entered delivery in the period (their individual guidance is under way).",
			},
			Unit: "persons", Measure: DistinctPersons, Kind: KindDeliveryReached, Where: map[string]string{DimCategory: "employment"},
			Dimensions: caseDims, Public: true, Source: "cases", AMIF: "SO2 output: participants who received individual professional guidance",
		},
		{
			ID:    "amif_so2_family_reunification_assisted",
			Title: Text{"Partecipanti assistiti per il ricongiungimento familiare (FAMI OS2)", "Participants assisted to apply for family reunification (AMIF SO2)"},
			Definition: Text{
				"Indicatore comune di output FAMI, allegato VIII, OS2: numero di partecipanti che ricevono informazioni e/o assistenza per chiedere il ricongiungimento familiare. In Ponte: persone distinte con un caso della categoria «ricongiungimento familiare» aperto nel periodo.",
				"AMIF common output indicator, Annex VIII, SO2: number of participants receiving information and/or assistance to apply for family reunification. In Ponte: distinct persons with a case of category \"family reunification\" opened in the period.",
			},
			Unit: "persons", Measure: DistinctPersons, Kind: KindCaseOpened, Where: map[string]string{DimCategory: "family_reunification"},
			Dimensions: caseDims, Public: true, Source: "cases", AMIF: "SO2 output: participants receiving information and/or assistance to apply for family reunification",
		},
		{
			ID:    "mediation_hours",
			Title: Text{"Ore di mediazione linguistico-culturale", "Hours of linguistic-cultural mediation"},
			Definition: Text{
				"Ore di mediazione svolte: la durata effettiva (fine meno inizio registrati) delle prenotazioni completate, per giorno dell'incontro (Europe/Rome), lingua, distretto, comune, tipo di servizio richiedente, tipo di ente e modalità. Le cancellazioni tardive e le assenze della persona, pagate al mediatore secondo il tariffario, non sono ore di mediazione svolte e non sono contate (sono nei rendiconti). Contributori: le prenotazioni completate; una cella con meno prenotazioni della soglia è soppressa.",
				"Hours of mediation delivered: the actual duration (recorded end minus start) of completed bookings, by the day of the meeting (Europe/Rome), language, district, municipality, requesting service type, organization type and mode. Late cancellations and no-shows, which the rate card pays the mediator, are not mediation delivered and are not counted (they are in the statements). Contributors: the completed bookings; a cell with fewer bookings than the threshold is suppressed.",
			},
			Unit: "hours", Measure: Sum, Kind: KindMediationDelivered, Dimensions: mediationDims, Public: true, Source: "mediators",
		},
		{
			ID:    "mediation_requests_fulfilled_rate",
			Title: Text{"Richieste di mediazione soddisfatte (tasso)", "Mediation requests fulfilled (rate)"},
			Definition: Text{
				"Quota delle richieste di mediazione chiuse che sono state soddisfatte: prenotazioni completate diviso prenotazioni chiuse (completate, cancellate — in tempo o tardi, da chiunque — o con la persona assente), per giorno dell'incontro. Le richieste ancora aperte (richieste, assegnate, confermate) non sono nel denominatore, perché il loro esito non è noto. Valore tra 0 e 1; soppresso quando le richieste chiuse della cella sono meno della soglia, o per proteggerne un'altra.",
				"Share of closed mediation requests that were fulfilled: bookings completed divided by bookings closed (completed, cancelled — in time or late, by anyone — or no-show), by the day of the meeting. Requests still open (requested, assigned, confirmed) are not in the denominator, their outcome being unknown. A value between 0 and 1; suppressed when the cell's closed requests are fewer than the threshold, or to protect another cell.",
			},
			Unit: "ratio", Measure: Rate, Kind: KindMediationClosed, Dimensions: mediationDims, Public: true, Source: "mediators",
		},
		{
			ID:    "mediation_lead_time_median",
			Title: Text{"Tempo dalla richiesta all'assegnazione del mediatore (mediana)", "Lead time from request to mediator assignment (median)"},
			Definition: Text{
				"Mediana, in ore intere (arrotondate per eccesso), del tempo tra la richiesta di una prenotazione e la sua prima assegnazione a un mediatore, sulle prenotazioni che hanno avuto un mediatore, per giorno dell'incontro. Soppressa quando le prenotazioni della cella sono meno della soglia.",
				"Median, in whole hours (rounded up), of the time from a booking's request to its first assignment to a mediator, over the bookings that got one, by the day of the meeting. Suppressed when the cell's bookings are fewer than the threshold.",
			},
			Unit: "hours", Measure: Median, Kind: KindMediationAssigned, Dimensions: mediationDims, Public: true, Source: "mediators",
		},
		{
			ID:    "housing_owners_engaged",
			Title: Text{"Proprietari coinvolti", "Home owners engaged"},
			Definition: Text{
				"Numero di proprietari di casa entrati nello stato «coinvolto» nel periodo (il giorno in cui reporting li ha visti coinvolti per la prima volta), per distretto e canale con cui la rete li ha raggiunti. Un proprietario che poi rinuncia resta contato: è stato coinvolto. I proprietari non hanno un comune: l'indicatore non ha dimensione comunale e chi vede un territorio ISTAT (regione, provincia) non ne vede i fatti.",
				"Number of home owners who became \"engaged\" in the period (the day reporting first saw them engaged), by district and the channel through which the network reached them. An owner who later declines stays counted: they were engaged. Owners have no municipality: the indicator has no municipal breakdown, and callers scoped to an ISTAT territory (region, province) do not see its facts.",
			},
			Unit: "owners", Measure: Count, Kind: KindOwnerEngaged, Dimensions: ownerDims, Public: true, Source: "housing",
		},
		{
			ID:    "housing_homes_made_available",
			Title: Text{"Case messe a disposizione", "Homes made available"},
			Definition: Text{
				"Numero di case offerte alla rete nel periodo (giorno di registrazione della casa), per comune, distretto e numero di camere (0 = monolocale, 4 = quattro o più). Una casa ritirata in seguito resta contata.",
				"Number of homes offered to the network in the period (the day the home was registered), by municipality, district and bedrooms (0 = studio, 4 = four or more). A home withdrawn later stays counted.",
			},
			Unit: "homes", Measure: Count, Kind: KindHomeAvailable, Dimensions: homeDims, Public: true, Source: "housing",
		},
		{
			ID:    "housing_contracts_signed",
			Title: Text{"Contratti di locazione firmati", "Lease contracts signed"},
			Definition: Text{
				"Numero di contratti di locazione firmati tramite lo sportello nel periodo (giorno della firma), per comune e distretto della casa e tipo di contratto (4+4, 3+2 a canone concordato, transitorio, studenti).",
				"Number of lease contracts signed through the desk in the period (the day of signing), by the home's municipality and district and the contract type (4+4, agreed-rent 3+2, transitional, student).",
			},
			Unit: "contracts", Measure: Count, Kind: KindContractSigned, Dimensions: contractDims, Public: true, Source: "housing",
		},
		{
			ID:    "housing_days_to_contract_median",
			Title: Text{"Giorni dalla richiesta di casa al contratto (mediana)", "Days from housing request to contract (median)"},
			Definition: Text{
				"Mediana dei giorni tra l'apertura della richiesta di casa di un nucleo e la firma del suo contratto, sui contratti firmati nel periodo, per comune, distretto e tipo di contratto. Soppressa quando i contratti della cella sono meno della soglia.",
				"Median of the days from a household's housing request being opened to its contract being signed, over the contracts signed in the period, by municipality, district and contract type. Suppressed when the cell's contracts are fewer than the threshold.",
			},
			Unit: "days", Measure: Median, Kind: KindDaysToContract, Dimensions: contractDims, Public: true, Source: "housing",
		},
		{
			ID:    "services_mapped",
			Title: Text{"Servizi mappati", "Services mapped"},
			Definition: Text{
				"Numero di servizi attivi dell'elenco dei servizi del territorio, registrati nel periodo (giorno di creazione nell'elenco), per voce della tassonomia, lingua in cui il servizio è offerto e comune delle sue sedi. Un servizio con più voci, lingue o comuni conta in ciascuno, e una volta nei totali. Per i servizi mappati a oggi, interrogare dall'avvio dell'elenco a oggi. I servizi inattivi o cessati e quelli copiati dall'elenco di un altro nodo (che li conta) non sono contati.",
				"Number of active services of the directory of the territory's services, registered in the period (the day they were created in the directory), by taxonomy term, language the service is offered in and the municipality of its locations. A service with several terms, languages or municipalities counts in each, and once in the totals. For the services mapped today, query from the directory's start to today. Inactive or defunct services, and those mirrored from another node's directory (which counts them), are not counted.",
			},
			Unit: "services", Measure: DistinctPersons, Kind: KindServiceMapped, Dimensions: serviceDims, Public: true, Source: "directory",
		},
	})
}

// New returns a catalog of the given indicators.
func New(inds []Indicator) *Catalog {
	c := &Catalog{byID: make(map[string]Indicator, len(inds))}
	for _, ind := range inds {
		c.byID[ind.ID] = ind
		c.ids = append(c.ids, ind.ID)
	}
	sort.Strings(c.ids)
	return c
}

// Get returns the indicator with the given id.
func (c *Catalog) Get(id string) (Indicator, bool) {
	ind, ok := c.byID[id]
	return ind, ok
}

// All returns every indicator, ordered by id.
func (c *Catalog) All() []Indicator {
	out := make([]Indicator, 0, len(c.ids))
	for _, id := range c.ids {
		out = append(out, c.byID[id])
	}
	return out
}

// Selects reports whether the indicator measures a fact of the given kind and attributes.
func (ind Indicator) Selects(kind string, attr func(dim string) string) bool {
	if kind != ind.Kind {
		return false
	}
	for dim, want := range ind.Where {
		if attr(dim) != want {
			return false
		}
	}
	return true
}
