"""`survey contacts import FILE.csv`: files as source systems export them, good, sloppy and hostile."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner

HEADER = "source,external_id,channel,unit,service,occurred_at,phone,email,language,agent,counter"


def _recent(minutes: int = 5) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes)).isoformat()


async def _cli(*args: str):
    """Run the real command line (in a thread: it runs its own event loop, as from a shell)."""
    from survey.cli import main

    return await asyncio.to_thread(CliRunner().invoke, main, list(args), catch_exceptions=False)


def _write(tmp_path: Path, text: str, *, bom: bool = False, encoding: str = "utf-8", name: str = "c.csv") -> Path:
    path = tmp_path / name
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode(encoding))
    return path


async def _count(table_name: str) -> int:
    from survey import tables

    return await getattr(tables, table_name).count()


async def test_a_file_with_bom_vietnamese_text_and_phones_as_people_write_them_is_imported(reference, tmp_path):
    from survey.crypto import cipher
    from survey.tables import Contact, Respondent

    t = _recent()
    rows = [
        f"queue,q-1,counter,HN-BD,HIC,{t},0912 345 678,,vi,Nguyễn Thị Hồng,HN-BD-Q2",
        f"queue,q-2,counter,HN-BD,HIC,{t},+84 913 345 678,,vi,Trần Văn Đức,",
        f"queue,q-3,counter,HN-BD,HIC,{t},84-914-345-678,,en,Lê Minh,",
        f"queue,q-4,counter,HN-BD,HIC,{t},(024) 3936 1234,,vi,Phạm Thu,",
        f"queue,q-5,counter,HN-BD,HIC,{t},,ba.lan@example.vn,vi,=HYPERLINK(\"http://evil\"),",
        f"queue,q-6,counter,HN-BD,HIC,{t},,lan@example.vn,vi,\"=1+1\",",
    ]
    path = _write(tmp_path, HEADER + "\r\n" + "\r\n".join(rows) + "\r\n", bom=True)
    result = await _cli("contacts", "import", str(path))
    assert result.exit_code == 0, result.output
    assert "6 contact(s) read: 6 new" in result.output
    assert "planned: 5" in result.output  # three mobiles and two email addresses
    assert "landline_only: 1" in result.output
    respondents = await Respondent.select(Respondent.phone_encrypted)
    phones = sorted(cipher().decrypt(r["phone_encrypted"]) for r in respondents if r["phone_encrypted"])
    assert phones == ["+842439361234", "+84912345678", "+84913345678", "+84914345678"]
    agents = {r["external_id"]: r["agent"] for r in await Contact.select(Contact.external_id, Contact.agent)}
    assert agents["q-1"] == "Nguyễn Thị Hồng"
    assert agents["q-5"] == '=HYPERLINK("http://evil")' and agents["q-6"] == "=1+1"  # stored as text, as given
    again = await _cli("contacts", "import", str(path))
    assert again.exit_code == 0 and "0 new, 6 already imported" in again.output
    assert await _count("Contact") == 6


async def test_source_from_the_option_and_naive_times_are_local(reference, tmp_path):
    from survey.tables import Contact

    local = (datetime.now(UTC) + timedelta(hours=7) - timedelta(minutes=30)).replace(tzinfo=None, microsecond=0)
    path = _write(tmp_path, "external_id,channel,unit,occurred_at,phone\n"
                            f"p-1,online,HCM-Q1,{local.isoformat(sep=' ')},0912345678\n")
    result = await _cli("contacts", "import", str(path), "--source", "portal")
    assert result.exit_code == 0, result.output
    [row] = await Contact.select(Contact.source, Contact.occurred_at)
    assert row["source"] == "portal"
    assert abs((row["occurred_at"] - (datetime.now(UTC) - timedelta(minutes=30))).total_seconds()) < 5


async def test_a_file_with_errors_imports_nothing_and_reports_each_row(reference, tmp_path):
    t = _recent()
    rows = [
        f"sw,ok-1,call,HN-BD,HOTLINE,{t},0912345678,,vi,,",
        f"sw,bad-unit,call,XX-99,HOTLINE,{t},0912345679,,vi,,",
        f"sw,bad-channel,sms,HN-BD,HOTLINE,{t},0912345670,,vi,,",
        f"sw,bad-service,call,HN-BD,NOPE,{t},0912345671,,vi,,",
        "sw,bad-date,call,HN-BD,HOTLINE,23/11/2026 14:05,0912345672,,vi,,",
        f"sw,bad-phone,call,HN-BD,HOTLINE,{t},12345,,vi,,",
        f"sw,bad-email,call,HN-BD,HOTLINE,{t},,not-an-email,vi,,",
        f"sw,ok-1,call,HN-BD,HOTLINE,{t},0912345673,,vi,,",
        "sw,short-row,call,HN-BD",
        f"sw,{'x' * 5000},call,HN-BD,HOTLINE,{t},0912345674,,vi,,",
    ]
    path = _write(tmp_path, HEADER + "\n" + "\n".join(rows) + "\n")
    result = await _cli("contacts", "import", str(path))
    assert result.exit_code == 1
    out = result.output
    assert "c.csv:3: unit: unknown unit 'XX-99'" in out and "HN-BD" in out
    assert "c.csv:4: channel: 'sms' is not a contact channel; allowed: call, counter, online, email, fanpage" in out
    assert "c.csv:5: service: unknown service 'NOPE'" in out and "HOTLINE" in out
    assert "c.csv:6: occurred_at: '23/11/2026 14:05' is not a date and time; use ISO 8601" in out
    assert "Asia/Ho_Chi_Minh" in out
    assert "c.csv:7: phone:" in out and "c.csv:8: email:" in out
    assert "c.csv:9: external_id: 'ok-1' repeats row 2" in out
    assert "c.csv:10: 4 fields where the header has 11" in out
    assert "c.csv:11: external_id: longer than 1000 characters" in out
    assert "Nothing was imported" in out and "--skip-invalid" in out
    assert await _count("Contact") == 0 and await _count("Respondent") == 0
    skipping = await _cli("contacts", "import", str(path), "--skip-invalid")
    assert skipping.exit_code == 0, skipping.output
    assert "1 new" in skipping.output and "9 row(s) with errors left out" in skipping.output
    assert await _count("Contact") == 1


async def test_nul_characters_and_implausible_times_are_row_errors_and_nothing_is_imported(reference, tmp_path):
    t = _recent()
    rows = [
        f"sw,ok-1,call,HN-BD,HOTLINE,{t},0912345678,,vi,,",
        f"sw,nul-agent,call,HN-BD,HOTLINE,{t},0912345679,,vi,Lan\x00,",
        "sw,far-future,call,HN-BD,HOTLINE,9999-12-31T23:59:59-12:00,0912345670,,vi,,",
        "sw,year-one,call,HN-BD,HOTLINE,0001-01-01T00:00:00+01:00,0912345671,,vi,,",
    ]
    path = _write(tmp_path, HEADER + "\n" + "\n".join(rows) + "\n")
    result = await _cli("contacts", "import", str(path))
    assert result.exit_code == 1
    out = result.output
    assert "c.csv:3: agent: contains a NUL character (U+0000)" in out
    assert "c.csv:4: occurred_at: 9999-12-31T23:59:59-12:00 is not a plausible contact time" in out
    assert "c.csv:5: occurred_at: 0001-01-01T00:00:00+01:00 is not a plausible contact time" in out
    assert "Nothing was imported" in out
    assert await _count("Contact") == 0 and await _count("Respondent") == 0


async def test_files_that_cannot_be_read_say_why(reference, tmp_path):
    t = _recent()
    latin = _write(tmp_path, HEADER + f"\nsw,1,call,HN-BD,HOTLINE,{t},0912345678,,vi,Đinh,\n",
                   encoding="cp1258", name="latin.csv")
    result = await _cli("contacts", "import", str(latin))
    assert result.exit_code == 1 and "not UTF-8" in result.output and "line 2" in result.output
    utf16 = _write(tmp_path, HEADER + "\n", encoding="utf-16", name="utf16.csv")
    assert "UTF-16" in (await _cli("contacts", "import", str(utf16))).output
    missing = _write(tmp_path, "source,external_id,unit\nsw,1,HN-BD\n", name="missing.csv")
    result = await _cli("contacts", "import", str(missing))
    assert result.exit_code == 1 and "missing required column(s): channel, occurred_at" in result.output
    extra = _write(tmp_path, HEADER + f",nickname\nsw,1,call,HN-BD,HOTLINE,{t},0912345678,,vi,,,Bé\n",
                   name="extra.csv")
    result = await _cli("contacts", "import", str(extra))
    assert result.exit_code == 0 and "warning: ignored column(s) not used by the import: nickname" in result.output
    semicolons = _write(tmp_path, HEADER.replace(",", ";") + "\n", name="semi.csv")
    assert "separated by ';'" in (await _cli("contacts", "import", str(semicolons))).output
    empty = _write(tmp_path, "", name="empty.csv")
    assert "empty" in (await _cli("contacts", "import", str(empty))).output
    assert await _count("Contact") == 1
