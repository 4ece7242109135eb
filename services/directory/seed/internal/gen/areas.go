package main

// orgSpec is a demo organization: a kind of orgKinds, a fictional name, the ISTAT codes of
// its locations (the first is its seat) and its services as svcKinds keys, "key@n" placing
// the service at the n-th location.
type orgSpec struct {
	kind     string
	name     string
	places   []string
	services []string
}

// area is one demo file: a district of a programme and its organizations.
type area struct {
	file     string
	district string
	prefix   string                // fictional phone prefix
	centres  map[string][2]float64 // approximate centre (lat, lon) of each municipality used
	orgs     []orgSpec
}

var areas = []area{
	{file: "cremona-cremasco", district: "Ambito distrettuale Cremasco", prefix: "0373",
		centres: map[string][2]float64{
			"019035": {45.3625, 9.6856}, "019062": {45.3817, 9.7437}, "019067": {45.4048, 9.5522},
			"019084": {45.4703, 9.5126}, "019025": {45.2950, 9.7623}, "019097": {45.4005, 9.8723},
			"019111": {45.3720, 9.5874}, "019102": {45.4006, 9.4936}, "019005": {45.3613, 9.6125},
			"019086": {45.3777, 9.7836},
		},
		orgs: []orgSpec{
			{"comune", "Comune di Crema", []string{"019035"}, []string{"registry", "social-services", "school-enrolment", "library", "housing-desk"}},
			{"comune", "Comune di Pandino", []string{"019067"}, []string{"registry", "social-services"}},
			{"comune", "Comune di Rivolta d'Adda", []string{"019084"}, []string{"registry", "social-services"}},
			{"comune", "Comune di Castelleone", []string{"019025"}, []string{"registry", "social-services", "library"}},
			{"comune", "Comune di Spino d'Adda", []string{"019102"}, []string{"registry", "library"}},
			{"asl", "Azienda sanitaria territoriale — Distretto di Crema (demo)", []string{"019035", "019025"}, []string{"ssn-registration", "consultorio", "consultorio@1", "vaccinations", "stp", "psych-support"}},
			{"cpia", "CPIA del Cremasco (demo)", []string{"019035", "019067"}, []string{"l2-course", "l2-course@1", "certification", "middle-school"}},
			{"coop", "Cooperativa sociale Il Ponte sul Serio", []string{"019035", "019005"}, []string{"sai-centre", "mediation", "job-orientation@1"}},
			{"assoc", "Associazione Porte Aperte", []string{"019035"}, []string{"l2-evening", "homework", "info-point"}},
			{"assoc", "Centro di ascolto San Martino", []string{"019035"}, []string{"food-aid", "night-shelter"}},
			{"union", "Patronato Lavoro e Diritti — Crema", []string{"019035"}, []string{"permit-desk", "citizenship-desk", "workers-rights"}},
			{"sport", "Polisportiva Cremasca Insieme", []string{"019062"}, []string{"sports"}},
			{"faith", "Centro culturale islamico del Cremasco", []string{"019035"}, []string{"worship-mosque"}},
			{"faith", "Parrocchia ortodossa dei Santi Apostoli — Crema", []string{"019035"}, []string{"worship-orthodox"}},
			{"assoc", "Associazione Donne del Mondo", []string{"019097", "019086"}, []string{"l2-women", "l2-women@1", "volunteering"}},
			{"assoc", "Rete Rosa — centro antiviolenza del Cremasco", []string{"019035"}, []string{"antiviolenza"}},
			{"job", "Centro per l'impiego di Crema (demo)", []string{"019035"}, []string{"employment-centre"}},
			{"training", "Fondazione CR Forma Lavoro", []string{"019035", "019111"}, []string{"vocational-training", "qualifications", "vocational-training@1"}},
		}},
	{file: "cremona-cremonese", district: "Ambito distrettuale Cremonese", prefix: "0372",
		centres: map[string][2]float64{
			"019036": {45.1335, 10.0227}, "019098": {45.2869, 9.8574}, "019026": {45.1873, 9.9975},
			"019113": {45.1745, 10.1654}, "019076": {45.1870, 9.7880}, "019099": {45.1080, 10.1585},
			"019016": {45.2531, 9.9634}, "019095": {45.1766, 9.9158}, "019048": {45.1097, 10.0424},
		},
		orgs: []orgSpec{
			{"comune", "Comune di Cremona", []string{"019036"}, []string{"registry", "social-services", "school-enrolment", "housing-desk", "library", "youth-centre"}},
			{"comune", "Comune di Soresina", []string{"019098"}, []string{"registry", "social-services"}},
			{"comune", "Comune di Pizzighettone", []string{"019076"}, []string{"registry", "library"}},
			{"comune", "Comune di Castelverde", []string{"019026"}, []string{"registry", "social-services"}},
			{"comune", "Comune di Vescovato", []string{"019113"}, []string{"registry"}},
			{"asl", "Azienda sanitaria territoriale — Distretto di Cremona (demo)", []string{"019036", "019098"}, []string{"ssn-registration", "consultorio", "consultorio@1", "vaccinations", "stp", "addiction", "psych-support"}},
			{"cpia", "CPIA di Cremona (demo)", []string{"019036", "019098"}, []string{"l2-course", "l2-course@1", "certification", "middle-school"}},
			{"coop", "Cooperativa sociale Terra Comune", []string{"019036", "019099"}, []string{"sai-centre", "mediation", "psych-support", "sai-centre@1"}},
			{"assoc", "Avvocati per i Diritti — associazione", []string{"019036"}, []string{"asylum-legal", "anti-discrimination"}},
			{"assoc", "Associazione Mondo Aperto", []string{"019036", "019016"}, []string{"info-point", "qualifications", "l2-evening", "l2-evening@1"}},
			{"union", "Patronato Solidarietà e Lavoro — Cremona", []string{"019036"}, []string{"permit-desk", "family-reunification", "citizenship-desk", "workers-rights"}},
			{"assoc", "Banco solidale cremonese", []string{"019036", "019095"}, []string{"food-aid", "food-aid@1"}},
			{"assoc", "Casa Aperta — accoglienza notturna", []string{"019036"}, []string{"night-shelter"}},
			{"faith", "Comunità islamica di Cremona", []string{"019036"}, []string{"worship-mosque"}},
			{"faith", "Chiesa evangelica internazionale di Cremona", []string{"019036"}, []string{"worship-church"}},
			{"sport", "ASD Cremona Multicolore", []string{"019048"}, []string{"sports"}},
			{"job", "Centro per l'impiego di Cremona (demo)", []string{"019036"}, []string{"employment-centre", "job-orientation"}},
			{"training", "Scuola di mestieri del Po (demo)", []string{"019036"}, []string{"vocational-training"}},
			{"assoc", "Doposcuola Il Girasole", []string{"019036", "019026"}, []string{"homework", "homework@1", "volunteering"}},
			{"assoc", "Centro antiviolenza Il Filo di Arianna (demo)", []string{"019036"}, []string{"antiviolenza"}},
		}},
	{file: "cremona-casalasco", district: "Ambito distrettuale Casalasco", prefix: "0375",
		centres: map[string][2]float64{
			"019021": {44.9905, 10.4179}, "019116": {45.1281, 10.3700}, "019090": {45.0736, 10.3731},
			"019052": {45.0131, 10.3479}, "019107": {45.1437, 10.2885}, "019083": {45.0330, 10.4754},
			"019057": {44.9995, 10.3779},
		},
		orgs: []orgSpec{
			{"comune", "Comune di Casalmaggiore", []string{"019021"}, []string{"registry", "social-services", "school-enrolment", "library"}},
			{"comune", "Comune di Piadena Drizzona", []string{"019116"}, []string{"registry", "social-services"}},
			{"comune", "Comune di San Giovanni in Croce", []string{"019090"}, []string{"registry"}},
			{"comune", "Comune di Gussola", []string{"019052"}, []string{"registry"}},
			{"asl", "Azienda sanitaria territoriale — Distretto di Casalmaggiore (demo)", []string{"019021", "019116"}, []string{"ssn-registration", "consultorio", "vaccinations", "vaccinations@1", "stp"}},
			{"cpia", "CPIA di Cremona — sede di Casalmaggiore (demo)", []string{"019021"}, []string{"l2-course", "certification", "middle-school"}},
			{"coop", "Cooperativa sociale L'Argine", []string{"019021", "019083"}, []string{"sai-centre", "mediation", "job-orientation", "sai-centre@1"}},
			{"assoc", "Associazione Casalasco Solidale", []string{"019021", "019057"}, []string{"food-aid", "homework", "l2-evening@1"}},
			{"union", "Patronato Lavoro e Diritti — Casalmaggiore", []string{"019021"}, []string{"permit-desk", "citizenship-desk"}},
			{"sport", "Polisportiva Riva del Po", []string{"019052"}, []string{"sports"}},
			{"faith", "Centro culturale islamico Casalasco", []string{"019021"}, []string{"worship-mosque"}},
			{"job", "Centro per l'impiego di Casalmaggiore (demo)", []string{"019021"}, []string{"employment-centre"}},
			{"assoc", "Associazione Le Radici", []string{"019107"}, []string{"l2-women", "volunteering"}},
		}},
	{file: "verona-sona", district: "Distretto di Sona (Verona)", prefix: "045",
		centres: map[string][2]float64{
			"023083": {45.4360, 10.8373}, "023082": {45.4049, 10.8462}, "023015": {45.4718, 10.8501},
			"023022": {45.4366, 10.7616}, "023058": {45.4849, 10.8683}, "023043": {45.5055, 10.7329},
			"023089": {45.3541, 10.7350}, "023096": {45.3544, 10.8453}, "023059": {45.4393, 10.6903},
			"023057": {45.4960, 10.7990},
		},
		orgs: []orgSpec{
			{"comune", "Comune di Sona", []string{"023083"}, []string{"registry", "social-services", "school-enrolment", "library", "housing-desk"}},
			{"comune", "Comune di Sommacampagna", []string{"023082"}, []string{"registry", "social-services"}},
			{"comune", "Comune di Bussolengo", []string{"023015"}, []string{"registry", "social-services", "youth-centre"}},
			{"comune", "Comune di Castelnuovo del Garda", []string{"023022"}, []string{"registry", "social-services"}},
			{"comune", "Comune di Pescantina", []string{"023058"}, []string{"registry", "library"}},
			{"comune", "Comune di Villafranca di Verona", []string{"023096"}, []string{"registry", "school-enrolment"}},
			{"asl", "Azienda sanitaria territoriale — Distretto Ovest Veronese (demo)", []string{"023015", "023096"}, []string{"ssn-registration", "consultorio", "consultorio@1", "vaccinations@1", "stp", "psych-support"}},
			{"cpia", "CPIA di Verona — sede di Sona (demo)", []string{"023083", "023096"}, []string{"l2-course", "l2-course@1", "certification", "middle-school@1"}},
			{"coop", "Cooperativa sociale Il Gelso", []string{"023083", "023082"}, []string{"sai-centre", "mediation", "psych-support@1"}},
			{"assoc", "Associazione Insieme sul Garda", []string{"023043", "023059"}, []string{"l2-evening", "homework@1", "info-point"}},
			{"union", "Patronato Lavoro e Diritti — Villafranca", []string{"023096"}, []string{"permit-desk", "family-reunification", "workers-rights"}},
			{"assoc", "Centro di ascolto solidale di Sona", []string{"023083"}, []string{"food-aid"}},
			{"faith", "Centro culturale islamico di Bussolengo", []string{"023015"}, []string{"worship-mosque"}},
			{"faith", "Parrocchia ortodossa ucraina di Valeggio", []string{"023089"}, []string{"worship-orthodox"}},
			{"sport", "ASD Sona Multietnica", []string{"023083"}, []string{"sports"}},
			{"job", "Centro per l'impiego di Bussolengo (demo)", []string{"023015"}, []string{"employment-centre", "qualifications"}},
			{"assoc", "Centro antiviolenza Lago Sicuro (demo)", []string{"023015"}, []string{"antiviolenza"}},
			{"assoc", "Associazione Ponti tra Culture", []string{"023022", "023057"}, []string{"volunteering", "l2-women", "l2-women@1"}},
		}},
	{file: "alessandria-ottiglio", district: "Area di Ottiglio e del Casalese", prefix: "0142",
		centres: map[string][2]float64{
			"006120": {45.0536, 8.3394}, "006039": {45.1336, 8.4522}, "006056": {45.0745, 8.3918},
			"006072": {45.0333, 8.3876}, "006118": {45.0375, 8.3680}, "006179": {45.0117, 8.3963},
			"006150": {45.0747, 8.3594}, "006057": {45.0873, 8.3196}, "006123": {45.1063, 8.3701},
			"006149": {45.0805, 8.3999}, "006153": {45.1079, 8.4158}, "006135": {45.0853, 8.2649},
			"006159": {45.1002, 8.2797}, "006004": {45.0478, 8.2085},
		},
		orgs: []orgSpec{
			{"comune", "Comune di Ottiglio", []string{"006120"}, []string{"registry", "social-services"}},
			{"comune", "Comune di Casale Monferrato", []string{"006039"}, []string{"registry", "social-services", "school-enrolment", "library", "housing-desk"}},
			{"comune", "Comune di Vignale Monferrato", []string{"006179"}, []string{"registry"}},
			{"comune", "Comune di Ozzano Monferrato", []string{"006123"}, []string{"registry"}},
			{"comune", "Comune di Ponzano Monferrato", []string{"006135"}, []string{"registry"}},
			{"asl", "Azienda sanitaria territoriale — Distretto di Casale Monferrato (demo)", []string{"006039"}, []string{"ssn-registration", "consultorio", "vaccinations", "stp", "psych-support"}},
			{"cpia", "CPIA di Alessandria — sede di Casale Monferrato (demo)", []string{"006039", "006120"}, []string{"l2-course", "certification", "middle-school", "l2-course@1"}},
			{"coop", "Cooperativa sociale Colline Aperte", []string{"006120", "006056"}, []string{"sai-centre", "mediation", "job-orientation", "sai-centre@1"}},
			{"assoc", "Associazione Monferrato Accoglie", []string{"006039", "006149"}, []string{"food-aid", "night-shelter", "info-point", "l2-evening@1"}},
			{"union", "Patronato Lavoro e Diritti — Casale Monferrato", []string{"006039"}, []string{"permit-desk", "citizenship-desk"}},
			{"consortium", "Consorzio socio-assistenziale del Casalese (demo)", []string{"006039", "006120"}, []string{"family-support", "family-support@1"}},
			{"sport", "ASD Colline del Monferrato", []string{"006149"}, []string{"sports"}},
			{"faith", "Comunità evangelica di Casale Monferrato", []string{"006039"}, []string{"worship-church"}},
			{"job", "Centro per l'impiego di Casale Monferrato (demo)", []string{"006039"}, []string{"employment-centre", "vocational-training"}},
			{"assoc", "Associazione Borghi Solidali", []string{"006159", "006004"}, []string{"homework", "volunteering@1"}},
		}},
}
