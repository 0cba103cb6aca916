"""Reading contact CSV files: encodings, headers and rows checked before anything touches the database."""

from __future__ import annotations

from survey.services.contact_csv import CSV_MAX_FIELD, read_contacts_csv

HEADER = "source,external_id,channel,unit,occurred_at,phone"


def test_a_bom_is_dropped_and_vietnamese_survives():
    reading = read_contacts_csv(("\ufeff" + HEADER + ",agent\nsw,1,call,HN-BD,2026-11-23T09:00:00+07:00,"
                                 "0912 345 678,Nguyễn Thị Ánh\n").encode())
    assert reading.errors == [] and reading.warnings == []
    [event] = reading.events
    assert event.agent == "Nguyễn Thị Ánh" and event.occurred_at.utcoffset().total_seconds() == 7 * 3600
    assert reading.rows == [2]


def test_a_naive_time_is_kept_naive_for_the_service_to_read_as_local_time():
    [event] = read_contacts_csv(f"{HEADER}\nsw,1,call,HN-BD,2026-11-23 09:00,0912345678\n".encode()).events
    assert event.occurred_at.tzinfo is None


def test_the_file_level_problems_are_named():
    assert "UTF-16" in read_contacts_csv(HEADER.encode("utf-16")).errors[0][1]
    assert "not UTF-8" in read_contacts_csv(f"{HEADER}\nsw,1,call,HN-BD,x,\xe9\n".encode("latin-1")).errors[0][1]
    assert "missing required column(s): source" in read_contacts_csv(b"external_id,channel,unit,occurred_at\n")\
        .errors[0][1]
    assert read_contacts_csv(b"external_id,channel,unit,occurred_at\n", source="sw").errors == []
    assert "given twice" in read_contacts_csv(f"{HEADER},phone\n".encode()).errors[0][1]


def test_row_problems_name_the_row_and_field():
    text = (f"{HEADER}\nsw,1,call,HN-BD,yesterday,0912345678\n"
            f"sw,2,call,HN-BD,2026-11-23T09:00:00Z,{'9' * (CSV_MAX_FIELD + 1)}\n"
            "Sw Bad,3,call,HN-BD,2026-11-23T09:00:00Z,0912345678\n"
            "sw,4,call,HN-BD,2026-11-23T09:00:00Z,0912345678\n"
            "sw,4,call,HN-BD,2026-11-23T09:00:00Z,0912345678\n")
    errors = read_contacts_csv(text.encode()).errors
    assert [row for row, _ in errors] == [2, 3, 4, 6]
    assert errors[0][1].startswith("occurred_at: 'yesterday' is not a date and time; use ISO 8601")
    assert errors[1][1] == f"phone: longer than {CSV_MAX_FIELD} characters"
    assert errors[2][1].startswith("source:")
    assert errors[3][1] == "external_id: '4' repeats row 5"


def test_source_option_and_a_differing_source_column():
    reading = read_contacts_csv(f"{HEADER}\nother,1,call,HN-BD,2026-11-23T09:00:00Z,0912345678\n".encode(),
                                source="sw")
    assert reading.errors == [(2, "source: 'other' differs from --source 'sw'")]
