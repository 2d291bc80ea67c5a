"""Unit tests for domain.suggest: mapping suggestions for the headers of real CRM and mailing
tool exports (HubSpot, Salesforce, Mailchimp, LinkedIn, Outlook, Pipedrive, German, French and
Spanish exports). Every expected mapping is written out by hand."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.fields import PROFILE_FIELDS, canonical_field
from domain.identifiers import ALIAS_TARGETS
from domain.suggest import suggest, words


def mappings(
    headers: list[str],
    emails: tuple[str, ...] = (),
    phones: tuple[str, ...] = (),
    rows: tuple[tuple[str, ...], ...] = (),
) -> dict[str, Any]:
    result = suggest(headers, emails, phones, [list(r) for r in rows]).as_dict()
    assert_valid(headers, result)
    return result


def assert_valid(headers: list[str], result: dict[str, Any]) -> None:
    """What makes a suggestion a valid start request: columns are headers, each used once; the
    primary is neither field nor alias; fields canonical and each used once; alias targets
    known; every header is mapped or ignored."""
    primary = result["primary_identifier"]
    fields, aliases, ignored = (
        result["field_mappings"],
        result["alias_mappings"],
        result["ignored_columns"],
    )
    used = ([primary["column"]] if primary else []) + list(fields) + list(aliases) + ignored
    assert sorted(used) == sorted(headers)
    assert set(used) <= set(headers)
    assert all(canonical_field(f) == f and f in PROFILE_FIELDS for f in fields.values())
    assert len(set(fields.values())) == len(fields)
    assert set(aliases.values()) <= set(ALIAS_TARGETS)
    if primary is not None:
        assert f"_alias_{primary['kind']}" in ALIAS_TARGETS


# --- whole exports ---------------------------------------------------------------------------

HUBSPOT = [
    "Record ID", "First Name", "Last Name", "Email", "Phone Number", "Mobile Phone Number",
    "Company Name", "Job Title", "Street Address", "City", "State/Region", "Postal Code",
    "Country/Region", "Website URL", "Lifecycle Stage", "Lead Status", "Contact owner",
    "Create Date", "Original Source", "Industry", "Annual Revenue", "Number of Employees",
    "Twitter Username", "LinkedIn Bio", "Time Zone", "Preferred language",
    "Marketing contact status", "Associated Company", "Fax Number", "Email Domain", "Salutation",
]  # fmt: skip


def test_hubspot_contacts_export() -> None:
    assert mappings(HUBSPOT, emails=("Email", "Email Domain")) == {
        "primary_identifier": {"column": "Email", "kind": "email"},
        "field_mappings": {
            "First Name": "first_name",
            "Last Name": "last_name",
            "Company Name": "company",
            "Job Title": "title",
            "Street Address": "address",
            "City": "city",
            "State/Region": "state",
            "Postal Code": "postal_code",
            "Country/Region": "country",
            "Website URL": "website",
            "Lead Status": "lead_status",
            "Original Source": "lead_source",
            "Industry": "industry",
            "Annual Revenue": "annual_revenue",
            "Number of Employees": "employee_count",
            "Time Zone": "timezone",
            "Preferred language": "language",
            "Salutation": "salutation",
        },
        "alias_mappings": {
            "Record ID": "_alias_external_id",
            "Phone Number": "_alias_phone",
            "Mobile Phone Number": "_alias_phone",
            "Twitter Username": "_alias_social",
        },
        "ignored_columns": [
            "Lifecycle Stage",
            "Contact owner",
            "Create Date",
            "LinkedIn Bio",
            "Marketing contact status",
            "Associated Company",  # "Company Name" has the company
            "Fax Number",
            "Email Domain",
        ],
    }


SALESFORCE_DATA_LOADER = [
    "Id", "Salutation", "FirstName", "LastName", "Title", "Company", "Email", "Phone",
    "MobilePhone", "Fax", "Street", "City", "State", "PostalCode", "Country", "LeadSource",
    "Status", "Industry", "AnnualRevenue", "NumberOfEmployees", "Website", "Description",
    "HasOptedOutOfEmail", "DoNotCall", "OwnerId", "AccountId", "OtherPhone", "AssistantPhone",
    "Birthdate", "Department", "IsConverted", "CreatedDate",
]  # fmt: skip


def test_salesforce_data_loader_export() -> None:
    assert mappings(SALESFORCE_DATA_LOADER, ("Email",), ("Phone", "MobilePhone")) == {
        "primary_identifier": {"column": "Email", "kind": "email"},
        "field_mappings": {
            "Salutation": "salutation",
            "FirstName": "first_name",
            "LastName": "last_name",
            "Title": "title",
            "Company": "company",
            "Street": "address",
            "City": "city",
            "State": "state",
            "PostalCode": "postal_code",
            "Country": "country",
            "LeadSource": "lead_source",
            "Status": "lead_status",
            "Industry": "industry",
            "AnnualRevenue": "annual_revenue",
            "NumberOfEmployees": "employee_count",
            "Website": "website",
            "Description": "notes",
            "Birthdate": "birthday",
            "Department": "department",
        },
        "alias_mappings": {
            "Id": "_alias_external_id",
            "Phone": "_alias_phone",
            "MobilePhone": "_alias_phone",
            "OtherPhone": "_alias_phone",
        },
        "ignored_columns": [
            "Fax",
            "HasOptedOutOfEmail",
            "DoNotCall",
            "OwnerId",  # the record owner's id, not the lead's
            "AccountId",  # shared by every contact of the account
            "AssistantPhone",
            "IsConverted",
            "CreatedDate",
        ],
    }


SALESFORCE_REPORT = [
    "Lead ID", "Salutation", "First Name", "Last Name", "Title", "Company / Account", "Email",
    "Phone", "Mobile", "Fax", "Street", "City", "State/Province", "Zip/Postal Code", "Country",
    "Lead Source", "Lead Status", "Industry", "Annual Revenue", "No. of Employees", "Website",
    "Rating", "Lead Owner", "Created Date",
]  # fmt: skip


def test_salesforce_lead_report() -> None:
    assert mappings(SALESFORCE_REPORT, ("Email",), ("Phone", "Mobile")) == {
        "primary_identifier": {"column": "Email", "kind": "email"},
        "field_mappings": {
            "Salutation": "salutation",
            "First Name": "first_name",
            "Last Name": "last_name",
            "Title": "title",
            "Company / Account": "company",
            "Street": "address",
            "City": "city",
            "State/Province": "state",
            "Zip/Postal Code": "postal_code",
            "Country": "country",
            "Lead Source": "lead_source",
            "Lead Status": "lead_status",
            "Industry": "industry",
            "Annual Revenue": "annual_revenue",
            "No. of Employees": "employee_count",
            "Website": "website",
        },
        "alias_mappings": {
            "Lead ID": "_alias_external_id",
            "Phone": "_alias_phone",
            "Mobile": "_alias_phone",
        },
        "ignored_columns": ["Fax", "Rating", "Lead Owner", "Created Date"],
    }


def test_salesforce_contacts_with_mailing_and_other_address() -> None:
    headers = [
        "Contact ID", "Email", "MailingStreet", "MailingCity", "MailingPostalCode",
        "MailingCountry", "OtherStreet", "OtherCity", "HomePhone", "Account Name",
    ]  # fmt: skip
    assert mappings(headers) == {
        "primary_identifier": {"column": "Email", "kind": "email"},
        "field_mappings": {
            "MailingStreet": "address",
            "MailingCity": "city",
            "MailingPostalCode": "postal_code",
            "MailingCountry": "country",
            "Account Name": "company",
        },
        "alias_mappings": {"Contact ID": "_alias_external_id", "HomePhone": "_alias_phone"},
        "ignored_columns": ["OtherStreet", "OtherCity"],  # the mailing address is taken
    }


MAILCHIMP = [
    "Email Address", "First Name", "Last Name", "Address", "Phone Number", "Birthday",
    "Company", "MEMBER_RATING", "OPTIN_TIME", "OPTIN_IP", "CONFIRM_TIME", "CONFIRM_IP",
    "LATITUDE", "LONGITUDE", "GMTOFF", "DSTOFF", "TIMEZONE", "CC", "REGION", "LAST_CHANGED",
    "LEID", "EUID", "NOTES", "TAGS",
]  # fmt: skip


def test_mailchimp_audience_export() -> None:
    assert mappings(MAILCHIMP, ("Email Address",), ("Phone Number",)) == {
        "primary_identifier": {"column": "Email Address", "kind": "email"},
        "field_mappings": {
            "First Name": "first_name",
            "Last Name": "last_name",
            "Address": "address",
            "Birthday": "birthday",
            "Company": "company",
            "TIMEZONE": "timezone",
            "REGION": "state",
            "NOTES": "notes",
        },
        "alias_mappings": {"Phone Number": "_alias_phone"},
        "ignored_columns": [
            *("MEMBER_RATING", "OPTIN_TIME", "OPTIN_IP", "CONFIRM_TIME", "CONFIRM_IP"),
            *("LATITUDE", "LONGITUDE", "GMTOFF", "DSTOFF", "CC", "LAST_CHANGED", "LEID", "EUID"),
            "TAGS",
        ],
    }


LINKEDIN = [
    "First Name",
    "Last Name",
    "URL",
    "Email Address",
    "Company",
    "Position",
    "Connected On",
]
LINKEDIN_ROWS = (
    ("Jane", "Doe", "https://www.linkedin.com/in/janedoe", "jane@example.com", "Acme", "CTO",
     "01 Mar 2024"),
    ("John", "Roe", "https://www.linkedin.com/in/john-roe-1a2b3c", "", "Initech", "VP Sales",
     "02 Mar 2024"),
)  # fmt: skip


def test_linkedin_connections_export() -> None:
    """LinkedIn calls the profile URL column "URL": its values tell it from a website."""
    assert mappings(LINKEDIN, ("Email Address",), rows=LINKEDIN_ROWS) == {
        "primary_identifier": {"column": "Email Address", "kind": "email"},
        "field_mappings": {
            "First Name": "first_name",
            "Last Name": "last_name",
            "URL": "linkedin_url",
            "Company": "company",
            "Position": "title",
        },
        "alias_mappings": {},
        "ignored_columns": ["Connected On"],
    }
    # Without the values, a "URL" column is a website.
    assert mappings(LINKEDIN)["field_mappings"]["URL"] == "website"


def test_linkedin_lead_gen_form_export() -> None:
    headers = [
        "First Name", "Last Name", "Email Address", "Phone Number", "Company Name", "Job Title",
        "Country", "LinkedIn Profile URL", "Lead ID",
    ]  # fmt: skip
    assert mappings(headers) == {
        "primary_identifier": {"column": "Email Address", "kind": "email"},
        "field_mappings": {
            "First Name": "first_name",
            "Last Name": "last_name",
            "Company Name": "company",
            "Job Title": "title",
            "Country": "country",
            "LinkedIn Profile URL": "linkedin_url",
        },
        "alias_mappings": {"Phone Number": "_alias_phone", "Lead ID": "_alias_external_id"},
        "ignored_columns": [],
    }


OUTLOOK = [
    "Title", "First Name", "Middle Name", "Last Name", "Suffix", "Company", "Department",
    "Job Title", "Business Street", "Business Street 2", "Business Street 3", "Business City",
    "Business State", "Business Postal Code", "Business Country/Region", "Home Street",
    "Home City", "Business Phone", "Business Fax", "Mobile Phone", "Home Phone",
    "E-mail Address", "E-mail 2 Address", "E-mail 3 Address", "Birthday", "Gender", "Notes",
    "Web Page",
]  # fmt: skip


def test_outlook_contacts_export() -> None:
    """Outlook's "Title" is Mr/Ms/Dr: "Job Title" takes the title field, so it is the
    salutation."""
    assert mappings(OUTLOOK) == {
        "primary_identifier": {"column": "E-mail Address", "kind": "email"},
        "field_mappings": {
            "Title": "salutation",
            "First Name": "first_name",
            "Middle Name": "middle_name",
            "Last Name": "last_name",
            "Company": "company",
            "Department": "department",
            "Job Title": "title",
            "Business Street": "address",
            "Business Street 2": "address2",
            "Business City": "city",
            "Business State": "state",
            "Business Postal Code": "postal_code",
            "Business Country/Region": "country",
            "Birthday": "birthday",
            "Gender": "gender",
            "Notes": "notes",
            "Web Page": "website",
        },
        "alias_mappings": {
            "Business Phone": "_alias_phone",
            "Mobile Phone": "_alias_phone",
            "Home Phone": "_alias_phone",
            "E-mail 2 Address": "_alias_email",
            "E-mail 3 Address": "_alias_email",
        },
        "ignored_columns": [
            "Suffix",
            "Business Street 3",
            "Home Street",
            "Home City",
            "Business Fax",
        ],
    }


def test_outlook_german_export() -> None:
    headers = [
        "Anrede", "Vorname", "Weitere Vornamen", "Nachname", "Firma", "Abteilung", "Position",
        "Straße geschäftlich", "Ort geschäftlich", "Postleitzahl geschäftlich",
        "Land/Region geschäftlich", "Telefon geschäftlich", "Fax geschäftlich", "Mobiltelefon",
        "E-Mail-Adresse", "E-Mail 2: Adresse", "Geburtstag", "Notizen", "Webseite",
    ]  # fmt: skip
    assert mappings(headers) == {
        "primary_identifier": {"column": "E-Mail-Adresse", "kind": "email"},
        "field_mappings": {
            "Anrede": "salutation",
            "Vorname": "first_name",
            "Weitere Vornamen": "middle_name",
            "Nachname": "last_name",
            "Firma": "company",
            "Abteilung": "department",
            "Position": "title",
            "Straße geschäftlich": "address",
            "Ort geschäftlich": "city",
            "Postleitzahl geschäftlich": "postal_code",
            "Land/Region geschäftlich": "country",
            "Geburtstag": "birthday",
            "Notizen": "notes",
            "Webseite": "website",
        },
        "alias_mappings": {
            "Telefon geschäftlich": "_alias_phone",
            "Mobiltelefon": "_alias_phone",
            "E-Mail 2: Adresse": "_alias_email",
        },
        "ignored_columns": ["Fax geschäftlich"],
    }


def test_german_crm_export() -> None:
    """A German CRM writes "Name" for the family name next to "Vorname"."""
    headers = [
        "Kundennummer", "Anrede", "Vorname", "Name", "Firma", "Position", "E-Mail", "Telefon",
        "Handy", "Fax", "Straße", "PLZ", "Ort", "Bundesland", "Land", "Branche", "Umsatz",
        "Mitarbeiter", "Geburtsdatum", "Geschlecht", "Sprache", "Bemerkung", "Firmentelefon",
    ]  # fmt: skip
    assert mappings(headers, ("E-Mail",), ("Telefon", "Fax", "Firmentelefon")) == {
        "primary_identifier": {"column": "E-Mail", "kind": "email"},
        "field_mappings": {
            "Anrede": "salutation",
            "Vorname": "first_name",
            "Name": "last_name",
            "Firma": "company",
            "Position": "title",
            "Straße": "address",
            "PLZ": "postal_code",
            "Ort": "city",
            "Bundesland": "state",
            "Land": "country",
            "Branche": "industry",
            "Umsatz": "annual_revenue",
            "Mitarbeiter": "employee_count",
            "Geburtsdatum": "birthday",
            "Geschlecht": "gender",
            "Sprache": "language",
            "Bemerkung": "notes",
        },
        "alias_mappings": {
            "Kundennummer": "_alias_external_id",
            "Telefon": "_alias_phone",
            "Handy": "_alias_phone",
        },
        "ignored_columns": ["Fax", "Firmentelefon"],  # the company's switchboard
    }


def test_french_export() -> None:
    headers = [
        "Civilité", "Prénom", "Nom", "Société", "Fonction", "E-mail", "Téléphone", "Portable",
        "Adresse", "Complément d'adresse", "Code postal", "Ville", "Pays", "Site web",
        "Secteur d'activité", "Effectif", "Date de naissance", "Langue", "Commentaires",
        "N° client", "Date de création",
    ]  # fmt: skip
    assert mappings(headers) == {
        "primary_identifier": {"column": "E-mail", "kind": "email"},
        "field_mappings": {
            "Civilité": "salutation",
            "Prénom": "first_name",
            "Nom": "last_name",
            "Société": "company",
            "Fonction": "title",
            "Adresse": "address",
            "Complément d'adresse": "address2",
            "Code postal": "postal_code",
            "Ville": "city",
            "Pays": "country",
            "Site web": "website",
            "Secteur d'activité": "industry",
            "Effectif": "employee_count",
            "Date de naissance": "birthday",
            "Langue": "language",
            "Commentaires": "notes",
        },
        "alias_mappings": {
            "Téléphone": "_alias_phone",
            "Portable": "_alias_phone",
            "N° client": "_alias_external_id",
        },
        "ignored_columns": ["Date de création"],
    }


def test_spanish_export() -> None:
    headers = [
        "Nombre", "Apellidos", "Empresa", "Cargo", "Correo electrónico", "Teléfono", "Móvil",
        "Dirección", "Código postal", "Ciudad", "Provincia", "País", "Sitio web", "Sector",
        "Fecha de nacimiento", "Idioma", "Notas", "Número de cliente", "Fecha de alta",
    ]  # fmt: skip
    assert mappings(headers) == {
        "primary_identifier": {"column": "Correo electrónico", "kind": "email"},
        "field_mappings": {
            "Nombre": "first_name",
            "Apellidos": "last_name",
            "Empresa": "company",
            "Cargo": "title",
            "Dirección": "address",
            "Código postal": "postal_code",
            "Ciudad": "city",
            "Provincia": "state",
            "País": "country",
            "Sitio web": "website",
            "Sector": "industry",
            "Fecha de nacimiento": "birthday",
            "Idioma": "language",
            "Notas": "notes",
        },
        "alias_mappings": {
            "Teléfono": "_alias_phone",
            "Móvil": "_alias_phone",
            "Número de cliente": "_alias_external_id",
        },
        "ignored_columns": ["Fecha de alta"],
    }


def test_pipedrive_people_export() -> None:
    headers = [
        "Person - ID", "Person - Name", "Person - Email - Work", "Person - Email - Home",
        "Person - Phone - Work", "Person - Phone - Mobile", "Person - Organization",
        "Person - Owner", "Person - Label",
    ]  # fmt: skip
    assert mappings(headers) == {
        "primary_identifier": {"column": "Person - Email - Work", "kind": "email"},
        "field_mappings": {"Person - Name": "full_name", "Person - Organization": "company"},
        "alias_mappings": {
            "Person - ID": "_alias_external_id",
            "Person - Email - Home": "_alias_email",
            "Person - Phone - Work": "_alias_phone",
            "Person - Phone - Mobile": "_alias_phone",
        },
        "ignored_columns": ["Person - Owner", "Person - Label"],
    }


def test_trade_show_badge_scan() -> None:
    """The spec's event use case: "Badge ID" and "Mobile" are aliases, notes are notes."""
    headers = ["Badge ID", "Name", "Email", "Company", "Mobile", "Booth Notes", "Scanned At"]
    assert mappings(headers) == {
        "primary_identifier": {"column": "Email", "kind": "email"},
        "field_mappings": {"Name": "full_name", "Company": "company"},
        "alias_mappings": {"Badge ID": "_alias_external_id", "Mobile": "_alias_phone"},
        "ignored_columns": ["Booth Notes", "Scanned At"],
    }


def test_the_spec_example_file() -> None:
    headers = ["Email", "First Name", "Last Name", "Company", "Phone", "Job Title", "LinkedIn"]
    assert mappings(headers, ("Email",), ("Phone",)) == {
        "primary_identifier": {"column": "Email", "kind": "email"},
        "field_mappings": {
            "First Name": "first_name",
            "Last Name": "last_name",
            "Company": "company",
            "Job Title": "title",
        },
        "alias_mappings": {"Phone": "_alias_phone", "LinkedIn": "_alias_social"},
        "ignored_columns": [],
    }


# --- rules, one at a time ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("Given name", "first_name"),
        ("Vorname", "first_name"),
        ("Prénom", "first_name"),
        ("first_name", "first_name"),
        ("FIRST-NAME", "first_name"),
        ("Forename", "first_name"),
        ("Surname", "last_name"),
        ("Nachname", "last_name"),
        ("Family Name", "last_name"),
        ("Apellido", "last_name"),
        ("Full Name", "full_name"),
        ("Nom complet", "full_name"),
        ("Organisation", "company"),
        ("Organization Name", "company"),
        ("Firma", "company"),
        ("Empresa", "company"),
        ("Employer", "company"),
        ("Entreprise", "company"),
        ("Job title", "title"),
        ("Position", "title"),
        ("Role", "title"),
        ("Puesto", "title"),
        ("Berufsbezeichnung", "title"),
        ("Zip", "postal_code"),
        ("ZIP Code", "postal_code"),
        ("Postcode", "postal_code"),
        ("PLZ", "postal_code"),
        ("Postleitzahl", "postal_code"),
        ("Address Line 1", "address"),
        ("Address Line 2", "address2"),
        ("Street 2", "address2"),
        ("Adresszusatz", "address2"),
        ("Province", "state"),
        ("County", "state"),
        ("Land", "country"),
        ("Country Code", "country"),
        ("DOB", "birthday"),
        ("Date of Birth", "birthday"),
        ("Sex", "gender"),
        ("Company Size", "employee_count"),
        ("Headcount", "employee_count"),
        ("Revenue", "annual_revenue"),
        ("Homepage", "website"),
        ("Company Website", "website"),
        ("Lead Source", "lead_source"),
        ("Source", "lead_source"),
        ("Comments", "notes"),
        ("Description", "notes"),
        ("Dept", "department"),
        ("Locale", "language"),
        ("TZ", "timezone"),
        ("Mailing City", "city"),
        ("Contact City", "city"),
        ("Other City", "city"),  # a second address is still an address when it is alone
    ],
)
def test_field_names(header: str, field: str) -> None:
    result = mappings(["Email", header])
    assert result["field_mappings"] == {header: field}


@pytest.mark.parametrize(
    ("header", "target"),
    [
        ("Mobile", "_alias_phone"),
        ("Cell", "_alias_phone"),
        ("Cell Phone", "_alias_phone"),
        ("Tel.", "_alias_phone"),
        ("Telefonnummer", "_alias_phone"),
        ("Handynummer", "_alias_phone"),
        ("Work Phone", "_alias_phone"),
        ("Secondary Email", "_alias_email"),
        ("Personal e-mail", "_alias_email"),
        ("Courriel", "_alias_email"),
        ("LinkedIn", "_alias_social"),
        ("Twitter Handle", "_alias_social"),
        ("X handle", "_alias_social"),
        ("Xing", "_alias_social"),
        ("Instagram", "_alias_social"),
        ("ID", "_alias_external_id"),
        ("Customer ID", "_alias_external_id"),
        ("External ID", "_alias_external_id"),
        ("CustomerID", "_alias_external_id"),
        ("customer_number", "_alias_external_id"),
        ("Customer #", "_alias_external_id"),
        ("Client ID", "_alias_external_id"),
        ("Member Number", "_alias_external_id"),
        ("Salesforce ID", "_alias_external_id"),
        ("Subscriber Key", "_alias_external_id"),
        ("UUID", "_alias_external_id"),
        ("Kunden-Nr.", "_alias_external_id"),
        ("Code client", "_alias_external_id"),
        ("Identifiant", "_alias_external_id"),
        ("Cookie", "_alias_cookie"),
        ("Cookie ID", "_alias_cookie"),
        ("hubspotutk", "_alias_cookie"),
        ("Anonymous ID", "_alias_cookie"),
    ],
)
def test_alias_names(header: str, target: str) -> None:
    result = mappings(["Email", header])
    assert result["primary_identifier"] == {"column": "Email", "kind": "email"}
    assert result["alias_mappings"] == {header: target}


@pytest.mark.parametrize(
    "header",
    [
        "Email Opt Out", "Email Opt-In", "Unsubscribed from Email", "Email Bounced", "Do Not Email",
        "Email Verified", "Email Type", "Email Domain", "Last Email Opened", "Email Hash (SHA256)",
        "Owner Email", "Account Manager Email", "Phone Type", "Phone Ext", "Phone Country Code",
        "Do Not Call", "Fax", "Telefax", "Assistant Phone", "Company Phone", "Company Email",
        "Zentrale", "Voicemail", "LinkedIn Bio", "Twitter Followers", "Company LinkedIn URL",
        "Cookie Consent", "Account ID", "Owner ID", "Order ID", "Campaign ID", "Number",
        "Order Number", "House number", "Promo Code", "Created By", "Score", "Tags",
        "Social Security Number",
    ],
)  # fmt: skip
def test_columns_about_an_identifier_or_shared_are_ignored(header: str) -> None:
    result = mappings(["Email", header], emails=("Email",))
    assert result["ignored_columns"] == [header]


def test_twitter_and_linkedin_as_urls_are_profile_fields() -> None:
    headers = ["Email", "LinkedIn URL", "Twitter Profile", "Twitter", "LinkedIn Profile"]
    result = mappings(headers)
    assert result["field_mappings"] == {
        "LinkedIn URL": "linkedin_url",
        "Twitter Profile": "twitter",
    }
    # The second LinkedIn URL column is not mapped twice; a bare "Twitter" is a handle.
    assert result["alias_mappings"] == {"Twitter": "_alias_social"}
    assert result["ignored_columns"] == ["LinkedIn Profile"]


def test_a_twitter_column_of_profile_urls_by_value() -> None:
    rows = (("a@example.com", "https://twitter.com/jane"), ("b@example.com", "https://x.com/bob"))
    assert mappings(["Email", "Profile"], rows=rows)["field_mappings"] == {"Profile": "twitter"}


def test_identifier_columns_found_by_their_values() -> None:
    headers = ["Contact", "Reach me at", "Notes", "Kontakt"]
    result = mappings(headers, emails=("Contact", "Notes"), phones=("Reach me at", "Kontakt"))
    assert result == {
        "primary_identifier": {"column": "Contact", "kind": "email"},
        "field_mappings": {"Notes": "notes"},  # its name says what it is
        "alias_mappings": {"Reach me at": "_alias_phone", "Kontakt": "_alias_phone"},
        "ignored_columns": [],
    }


def test_a_second_email_is_never_the_primary_while_a_first_one_exists() -> None:
    headers = ["Alt Email", "Email 2", "Other E-mail", "Work Email", "Personal Email"]
    assert mappings(headers) == {
        "primary_identifier": {"column": "Work Email", "kind": "email"},
        "field_mappings": {},
        "alias_mappings": {
            "Alt Email": "_alias_email",
            "Email 2": "_alias_email",
            "Other E-mail": "_alias_email",
            "Personal Email": "_alias_email",
        },
        "ignored_columns": [],
    }
    only_seconds = mappings(["Email 2", "Secondary Email"])
    assert only_seconds["primary_identifier"] == {"column": "Email 2", "kind": "email"}
    assert mappings(["Email 1", "Email 2"])["primary_identifier"]["column"] == "Email 1"


@pytest.mark.parametrize(
    ("headers", "primary"),
    [
        (["Name", "Mobile", "Customer ID"], {"column": "Mobile", "kind": "phone"}),
        (["Other Phone", "Phone", "Twitter"], {"column": "Phone", "kind": "phone"}),
        (["Visitor ID", "Record ID", "Name"], {"column": "Visitor ID", "kind": "cookie"}),
        (["Name", "Record ID", "Twitter"], {"column": "Record ID", "kind": "external_id"}),
        (["Twitter", "Name"], {"column": "Twitter", "kind": "social"}),
        (["Name", "Company", "City"], None),
        ([], None),
    ],
)
def test_the_primary_without_an_email_column(
    headers: list[str], primary: dict[str, str] | None
) -> None:
    assert mappings(headers)["primary_identifier"] == primary


def test_no_identifier_maps_fields_only() -> None:
    assert mappings(["Name", "Company", "Shoe Size"]) == {
        "primary_identifier": None,
        "field_mappings": {"Name": "full_name", "Company": "company"},
        "alias_mappings": {},
        "ignored_columns": ["Shoe Size"],
    }


def test_each_field_goes_to_one_column_the_exact_name_first() -> None:
    headers = ["Mailing Street", "Street", "Company", "Associated Company", "Organisation"]
    assert mappings(headers) == {
        "primary_identifier": None,
        "field_mappings": {"Street": "address", "Company": "company"},
        "alias_mappings": {},
        "ignored_columns": ["Mailing Street", "Associated Company", "Organisation"],
    }


def test_name_is_the_family_name_only_next_to_a_first_name() -> None:
    assert mappings(["Vorname", "Name"])["field_mappings"] == {
        "Vorname": "first_name",
        "Name": "last_name",
    }
    assert mappings(["First Name", "Last Name", "Name"])["field_mappings"] == {
        "First Name": "first_name",
        "Last Name": "last_name",
        "Name": "full_name",
    }
    assert mappings(["Name"])["field_mappings"] == {"Name": "full_name"}


def test_title_is_the_job_title_unless_a_job_title_column_exists() -> None:
    assert mappings(["Title"])["field_mappings"] == {"Title": "title"}
    assert mappings(["Title", "Job Title", "Salutation"]) == {
        "primary_identifier": None,
        "field_mappings": {"Job Title": "title", "Salutation": "salutation"},
        "alias_mappings": {},
        "ignored_columns": ["Title"],
    }


def test_headers_that_name_nothing_are_ignored() -> None:
    headers = ["Ключ", "Spalte 7", "???", "42"]
    assert mappings(headers) == {
        "primary_identifier": None,
        "field_mappings": {},
        "alias_mappings": {},
        "ignored_columns": headers,
    }


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("MailingPostalCode", ("mailing", "postal", "code")),
        ("E-mail 2 Address", ("e", "mail", "2", "address")),
        ("N° client", ("number", "client")),
        ("Customer #", ("customer", "number")),
        ("Straße", ("strasse",)),
        ("Código postal", ("codigo", "postal")),
        ("HTMLEmail", ("html", "email")),
        ("first_name", ("first", "name")),
        ("  State/Province ", ("state", "province")),
    ],
)
def test_words(header: str, expected: tuple[str, ...]) -> None:
    assert words(header) == expected


# --- any headers -------------------------------------------------------------------------------

HEADER_WORDS = [
    "Email", "E-mail", "Phone", "Mobile", "Fax", "ID", "Customer", "Name", "First", "Last",
    "Company", "Title", "Job", "City", "Zip", "Other", "2", "Opt", "Out", "LinkedIn", "URL",
    "Cookie", "Notes", "Street", "Address", "Contact", "Mailing", "Status", "Lead", "Source",
]  # fmt: skip
HEADERS = st.lists(
    st.lists(st.sampled_from(HEADER_WORDS), min_size=1, max_size=3).map(" ".join)
    | st.text(min_size=1, max_size=12).filter(lambda s: s.strip() == s and s),
    max_size=12,
    unique_by=str.casefold,
)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(HEADERS, st.data())
def test_any_headers_give_a_valid_start_request(headers: list[str], data: st.DataObject) -> None:
    emails = data.draw(st.lists(st.sampled_from(headers), unique=True)) if headers else []
    phones = data.draw(st.lists(st.sampled_from(headers), unique=True)) if headers else []
    mappings(headers, tuple(emails), tuple(phones))


def test_russian_crm_export() -> None:
    """A Windows-1251 export of a Russian CRM (found trying the service with such a file)."""
    headers = [
        "Эл. почта", "Имя", "Отчество", "Фамилия", "Компания", "Должность", "Телефон",
        "Мобильный телефон", "Город", "Страна", "Комментарий",
    ]  # fmt: skip
    assert mappings(headers, (), ("Телефон",)) == {
        "primary_identifier": {"column": "Эл. почта", "kind": "email"},
        "field_mappings": {
            "Имя": "first_name",
            "Отчество": "middle_name",
            "Фамилия": "last_name",
            "Компания": "company",
            "Должность": "title",
            "Город": "city",
            "Страна": "country",
            "Комментарий": "notes",
        },
        "alias_mappings": {"Телефон": "_alias_phone", "Мобильный телефон": "_alias_phone"},
        "ignored_columns": [],
    }
