"""What header names say which profile field: the synonyms ``domain.suggest`` reads, in the
languages of the exports people bring (English, German, French, Spanish and more)."""

from __future__ import annotations

from typing import Final

# Names of each field, as header words run together ("Zip/Postal Code" -> "zippostalcode");
# each field's own name is one too. Rank 0: exact.
FIELD_NAMES: Final[dict[str, tuple[str, ...]]] = {
    "salutation": ("salutation", "anrede", "briefanrede", "civilite", "tratamiento", "prefix",
                   "nameprefix", "honorific", "formofaddress"),
    "first_name": ("firstname", "givenname", "forename", "fname", "vorname", "prenom", "nombre",
                   "primernombre", "nome", "voornaam", "имя"),
    "middle_name": ("middlename", "middleinitial", "weiterevornamen", "zweitervorname",
                    "deuxiemeprenom", "segundonombre", "отчество"),
    "last_name": ("lastname", "surname", "familyname", "lname", "nachname", "familienname",
                  "nom", "nomdefamille", "apellido", "apellidos", "cognome", "achternaam",
                  "sobrenome", "фамилия"),
    "full_name": ("fullname", "name", "leadname", "contactname", "personname", "displayname",
                  "completename", "nomcomplet", "nombrecompleto", "vollstandigername",
                  "vollername"),
    "title": ("jobtitle", "position", "role", "jobrole", "jobposition", "designation",
              "occupation", "jobtitel", "berufsbezeichnung", "beruf", "funktion", "fonction",
              "poste", "intituledeposte", "cargo", "puesto", "должность"),
    "department": ("department", "dept", "abteilung", "departamento", "division"),
    "company": ("company", "companyname", "companyaccount", "organisation", "organization",
                "organisationname", "organizationname", "org", "account", "accountname",
                "employer", "firma", "firmenname", "unternehmen", "arbeitgeber", "entreprise",
                "nomdelentreprise", "societe", "raisonsociale", "empresa", "nombredelaempresa",
                "compania", "компания", "организация"),
    "industry": ("industry", "branche", "sector", "secteur", "secteurdactivite", "industria"),
    "website": ("website", "websiteurl", "web", "webpage", "url", "homepage", "www", "webseite",
                "internetseite", "siteweb", "siteinternet", "sitioweb", "paginaweb"),
    "annual_revenue": ("annualrevenue", "revenue", "turnover", "umsatz", "jahresumsatz",
                       "chiffredaffaires", "ingresos", "ingresosanuales", "facturacion"),
    "employee_count": ("employees", "numberofemployees", "noofemployees", "employeecount",
                       "companysize", "headcount", "employeerange", "mitarbeiter",
                       "mitarbeiteranzahl", "anzahlmitarbeiter", "effectif", "effectifs",
                       "nombredesalaries", "empleados", "numerodeempleados"),
    "address": ("address", "address1", "addressline1", "street", "street1", "streetaddress",
                "streetaddress1", "strasse", "strasseundhausnummer", "anschrift", "adresse",
                "adresse1", "direccion", "calle", "domicilio"),
    "address2": ("address2", "addressline2", "street2", "streetaddress2", "adresszusatz",
                 "adresse2", "complementdadresse", "direccion2"),
    "city": ("city", "town", "locality", "citytown", "ort", "stadt", "wohnort", "ville",
             "ciudad", "localidad", "poblacion", "municipio", "город"),
    "state": ("state", "province", "region", "stateprovince", "stateregion", "stateorprovince",
              "provincestate", "county", "bundesland", "etat", "provincia", "estadoprovincia"),
    "postal_code": ("postalcode", "zip", "zipcode", "postcode", "zippostalcode", "postalcodezip",
                    "plz", "postleitzahl", "codepostal", "cp", "codigopostal"),
    "country": ("country", "countryregion", "countryname", "countrycode", "land", "landregion",
                "pays", "pais", "страна"),
    "timezone": ("timezone", "tz", "zeitzone", "fuseauhoraire", "zonahoraria"),
    "language": ("language", "preferredlanguage", "lang", "locale", "sprache", "langue",
                 "idioma"),
    "birthday": ("birthday", "birthdate", "dateofbirth", "dob", "geburtstag", "geburtsdatum",
                 "datedenaissance", "anniversaire", "fechadenacimiento", "cumpleanos"),
    "gender": ("gender", "sex", "geschlecht", "sexe", "genre", "sexo", "genero"),
    "linkedin_url": ("linkedinurl",),
    "twitter": (),  # a "Twitter" column is a social identifier (rule 1)
    "lead_source": ("leadsource", "source", "originalsource", "leadquelle", "quelle", "herkunft",
                    "origine", "fuente", "origen"),
    "lead_status": ("leadstatus",),
    "notes": ("notes", "note", "comments", "comment", "description", "remarks", "notizen",
              "notiz", "bemerkung", "bemerkungen", "kommentar", "kommentare", "anmerkungen",
              "commentaire", "commentaires", "remarques", "notas", "nota", "comentarios",
              "observaciones", "комментарии", "примечание"),
}  # fmt: skip
# Weaker readings: (field, rank). "Title" is a job title, unless "Job Title" takes that: then
# it is the Mr/Ms/Dr column (Outlook). A plain "Status" is the lead's status.
WEAK_NAMES: Final[dict[str, tuple[tuple[str, int], ...]]] = {
    "title": (("title", 1), ("salutation", 2)),
    "status": (("lead_status", 1),),
    "statut": (("lead_status", 1),),
    "associatedcompany": (("company", 1),),
}
