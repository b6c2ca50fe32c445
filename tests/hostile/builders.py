"""Every hostile file of issue 11, built at test time and small on disk, with what countyflow
must make of it.

The file builders are the shared ones of `tests/ingest/files.py` (and the endless-sheet
workbook of `tests/isolation_fakes.py`); this module only decides, per case, the bytes, where
the file lies in a landing zone, and the expected outcome:

* in the ledger after a `countyflow run` (`status` and the `rule` of one of its issues), or
  in the run summary's "Ignored in the landing zone" section (`ignored`: an IGNORED_REASONS key);
* of `countyflow check` on the file alone (`check_exit`, and `check_says`, text the output
  must contain), where the case is about the file's bytes rather than its place.

Cases named `fault-*` need a native crash, an out-of-memory abort or a hang: their bytes are
ordinary, and the run test stages them with the fakes of `tests/isolation_fakes.py`
(see `tests/hostile/faults.py`) instead of really crashing the machine.
"""

from __future__ import annotations

import io
import itertools
import json
import os
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.ingest.files import (
    SHEET_XML,
    SITES_HEADER,
    billion_laughs_sheet,
    csv_bytes,
    forge_uncompressed_size,
    replace_member,
    sheet_with_cell,
    site_row,
    xlsx_bytes,
    zip_bomb_xlsx,
)
from tests.isolation_fakes import endless_sheet_xlsx

SITES = "childcare_sites"
PHONE = "13812345678"
"""A mobile number typed into data cells: it must never be echoed (masked as 138****5678)."""
LONG_TEXT_CHARS = 20_000
"""A site name this long is past any sane COUNTYFLOW_MAX_TEXT_CHARS (the run sets 1000)."""
BAD_ROWS = 300
"""Rows of one bad kind in one file: more than the run's COUNTYFLOW_MAX_ISSUE_ROWS_PER_RULE."""
PASSWD_MARK = "root:x:0:0"
"""What an XXE reading /etc/passwd would leak."""


@dataclass(frozen=True)
class Hostile:
    """One hostile landing-zone entry and what countyflow must make of it."""

    name: str
    path: bytes
    """Relative to the landing zone, as bytes: a file name need not be UTF-8."""
    data: bytes
    status: str | None = "rejected"
    """Its ledger status after a run; None when discovery must ignore it (`ignored`)."""
    rule: str | None = None
    """A rule id among its issues in the ledger (`audit_issue.rule`)."""
    ignored: str | None = None
    """Its IGNORED_REASONS key when the run must list it as ignored instead of reading it."""
    check_exit: int | None = None
    """`countyflow check`'s exit code on the file; None when the case is not about its bytes."""
    check_says: tuple[str, ...] = ()
    symlink: bool = False
    """Lay it out as a symlink to a file outside the landing zone holding `data`."""

    @property
    def ledger_path(self) -> str:
        """`audit_submission.relative_path`: non-UTF-8 names decoded as GB18030, else escaped."""
        from countyflow.ingest.discover import decode_name

        return decode_name(os.fsdecode(self.path))[0]

    @property
    def file_name(self) -> str:
        return os.fsdecode(self.path).rsplit("/", 1)[-1]

    @property
    def county(self) -> str:
        return os.fsdecode(self.path).split("/")[0]

    @property
    def dataset(self) -> str:
        return os.fsdecode(self.path).split("/")[1]

    @property
    def period(self) -> str:
        return os.fsdecode(self.path).split("/")[2]


# --- contents -------------------------------------------------------------------------------


def sites_csv(*rows: list[object], extra_header: tuple[str, ...] = (), encoding: str = "utf-8") -> bytes:
    return csv_bytes([[*SITES_HEADER, *extra_header], *rows], encoding=encoding)


def _row(index: int, county: str, **changes: object) -> list[object]:
    """`site_row` with some cells replaced by column name (`site_code`, `site_name`, `children`)."""
    row = site_row(index, county=county)
    at = {"site_code": 1, "site_name": 2, "children": 7}
    for column, value in changes.items():
        row[at[column]] = value
    return row


def _records(county: str, count: int = 2) -> list[dict[str, object]]:
    return [dict(zip(SITES_HEADER, _row(i, county), strict=True)) for i in range(1, count + 1)]


def json_huge_integer(county: str) -> bytes:
    """A count written as a 4,301-digit JSON integer (past Python's int-parsing limit)."""
    text = json.dumps(_records(county), ensure_ascii=False)
    return text.replace('"托管儿童数": "902"', '"托管儿童数": ' + "9" * 4301, 1).encode()


def json_duplicate_key(county: str) -> bytes:
    first, second = (json.dumps(record, ensure_ascii=False) for record in _records(county))
    return ("[" + first + "," + second[:-1] + ', "托管儿童数": "5"}]').encode()


def mixed_encoding_csv(county: str) -> bytes:
    """UTF-8 throughout but one row pasted in GB18030 (read whole as GB18030: mojibake)."""
    good = sites_csv(*(_row(i, county) for i in range(1, 4)))
    pasted = csv_bytes([_row(4, county, site_name="木杆镇中心小学托管点")], encoding="gb18030")
    return good + pasted


def far_string_xxe(county: str) -> bytes:
    """A sites workbook whose shared strings declare an external entity (/etc/passwd) and
    use it as a site name."""
    data = xlsx_bytes([SITES_HEADER, _row(1, county), _row(2, county)])
    strings = zipfile.ZipFile(io.BytesIO(data)).read("xl/sharedStrings.xml")
    declaration, rest = strings.split(b"?>", 1)
    strings = (declaration + b'?><!DOCTYPE sst [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>' + rest)
    strings = strings.replace("第1托管点".encode(), b"&xxe;", 1)
    return replace_member(data, "xl/sharedStrings.xml", strings)


def encrypted_workbook() -> bytes:
    """What Excel writes for a password-protected .xlsx: an OLE compound file holding an
    `EncryptedPackage` stream, not a zip."""
    stream_name = "EncryptedPackage".encode("utf-16-le")
    return b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504) + stream_name + bytes(2048)


def truncated_workbook(county: str) -> bytes:
    data = xlsx_bytes([SITES_HEADER, *(_row(i, county) for i in range(1, 20))])
    return data[: len(data) // 2]


def underdeclared(member: str, county: str) -> bytes:
    """The zip directory says `member` inflates to 100 bytes; it inflates to far more."""
    return forge_uncompressed_size(xlsx_bytes([SITES_HEADER, *(_row(i, county) for i in range(1, 200))]),
                                   member, 100)


# --- the catalogue -----------------------------------------------------------------------------

PERIOD = "2025-summer"
"""The season of `site_row`'s dates: every content case is filed under it."""
ACCEPTED_COUNTIES = ("530602", "530621")
"""A county each for the cases that load, so none supersedes another."""
REJECTED_COUNTIES = ("530622", "530623", "530624", "530625", "530627", "530628", "530629", "530681")
"""绥江 (530626) holds the good files."""


def hostile_cases() -> list[Hostile]:
    """Every case, each file's bytes distinct from every other's (a file is its hash)."""
    place = itertools.cycle(REJECTED_COUNTIES)
    accepted = iter(ACCEPTED_COUNTIES)
    cases: list[Hostile] = []

    def content(name: str, file_name: str, build: bytes | Callable[[str], bytes], *,
                status: str = "rejected", rule: str | None = None, check_exit: int | None = 1,
                check_says: tuple[str, ...] = ()) -> None:
        """A file about its bytes, filed under a county (given to `build`) and `PERIOD`."""
        county = next(accepted if status == "accepted" else place)
        data = build(county) if callable(build) else build
        path = f"{county}/{SITES}/{PERIOD}/{file_name}".encode()
        cases.append(Hostile(name, path, data, status, rule, check_exit=check_exit,
                             check_says=check_says or ((rule,) if rule else ())))

    # The six run-stoppers.
    content("xlsx-no-dimension-last-row", "末行有值.xlsx", sheet_with_cell("I1048576"),
            rule="spreadsheet_too_large")
    content("xlsx-no-dimension-last-cell", "XFD1048576.xlsx", endless_sheet_xlsx(), rule="too_many_columns")
    content("xlsx-sheet-under-declared", "目录少报表页.xlsx", lambda c: underdeclared(SHEET_XML, c),
            rule="file_unreadable", check_says=("file_unreadable", "CRC"))
    content("xlsx-strings-under-declared", "目录少报字符串.xlsx",
            lambda c: underdeclared("xl/sharedStrings.xml", c), rule="file_unreadable")
    content("json-4301-digit-integer", "超长整数.json", json_huge_integer, rule="text_too_long")
    county = next(accepted)
    gbk_name = "昭阳区托管点.csv".encode("gbk")
    cases.append(Hostile("gbk-file-name", f"{county}/{SITES}/{PERIOD}/".encode() + gbk_name,
                         sites_csv(*(_row(i, county) for i in range(1, 3))), status="accepted",
                         check_exit=0, check_says=("accepted",)))
    county = next(place)
    cases.append(Hostile("undecodable-file-name", f"{county}/{SITES}/{PERIOD}/".encode() + b"\xff\xfe.csv",
                         sites_csv(*(_row(i, county) for i in range(5, 7))), rule="path_undecodable",
                         check_exit=0, check_says=("accepted",)))
    for dataset, period in (("vocational_enrollment", "0000"), ("vocational_enrollment", "9999"),
                            ("health_monthly", "0000-01"), (SITES, "2019-summer "),
                            (SITES, "２０１９-summer")):
        trimmed = period.strip()
        cases.append(Hostile(
            f"period-{trimmed}{'-trailing-space' if trimmed != period else ''}",
            f"530602/{dataset}/{period}/报表.csv".encode(), f"period folder {period!r}\n".encode(),
            rule="unknown_period_path",
            # `check` takes the period from its command line, where a stray space is stripped.
            check_exit=2 if trimmed == period else None, check_says=("报送期无效",)))

    # Silent or unbounded.
    content("csv-utf8-with-a-gb18030-row", "混合编码.csv", mixed_encoding_csv, rule="mixed_encoding",
            check_says=("mixed_encoding", "line 5"))
    content("json-duplicate-key", "重复键.json", json_duplicate_key, rule="json_duplicate_key",
            check_says=("json_duplicate_key", "托管儿童数"))
    content("text-cell-too-long", "超长名称.csv",
            lambda c: sites_csv(_row(1, c, site_name="长" * LONG_TEXT_CHARS), _row(2, c)),
            rule="text_too_long", check_says=("text_too_long", f"{LONG_TEXT_CHARS}"))
    content("many-bad-rows", "大量错误行.csv",
            lambda c: sites_csv(*(_row(i, c, children=f"{i}多人") for i in range(1, BAD_ROWS + 1))),
            rule="count_approximate", check_says=("count_approximate",))
    content("pii-in-a-data-cell", "电话填错列.csv",
            lambda c: sites_csv(_row(1, c, site_code=f"填报人张三{PHONE}"), _row(2, c)),
            rule="site_code_format", check_says=("site_code_format", "138****5678"))
    cases.append(Hostile("symlink", b"530602/childcare_sites/2025-summer/link.csv",
                         sites_csv(_row(7, "530602")), status=None, ignored="symlink", symlink=True))
    cases.append(Hostile("office-lock-file", "530602/childcare_sites/2025-summer/~$托管点.xlsx".encode(),
                         b"\x00lock file", status=None, ignored="lock_file"))
    cases.append(Hostile("hidden-folder-with-a-real-csv",
                         "530602/childcare_sites/.2019-winter/托管点.csv".encode(),
                         sites_csv(_row(8, "530602")), status=None, ignored="hidden_folder"))

    # The ones that already passed.
    content("csv-formula-injection", "公式注入.csv",
            lambda c: sites_csv(_row(1, c, site_code='=HYPERLINK("http://evil.example","x")',
                                     site_name="=cmd|' /C calc'!A0"), _row(2, c)),
            rule="site_code_format")
    content("xlsx-xxe", "外部实体.xlsx", far_string_xxe, rule="file_unreadable")  # never resolved
    content("xlsx-billion-laughs", "十亿笑声.xlsx",  # never expanded: no header left to find
            lambda c: replace_member(xlsx_bytes([SITES_HEADER, _row(1, c)]), SHEET_XML,
                                     billion_laughs_sheet()), rule="header_not_found")
    content("pii-columns", "含联系电话列.csv",
            lambda c: sites_csv(*([*_row(i, c), "张三", f"{PHONE[:-1]}{i}"] for i in range(1, 3)),
                                extra_header=("填报人", "联系电话")),
            status="accepted", check_exit=0, check_says=("accepted",))
    content("honest-zip-bomb", "压缩炸弹.xlsx", zip_bomb_xlsx(20), rule="spreadsheet_too_large")
    content("encrypted-workbook", "加密工作簿.xlsx", encrypted_workbook(), rule="file_unreadable",
            check_says=("file_unreadable", "encrypted"))
    content("truncated-workbook", "截断工作簿.xlsx", truncated_workbook, rule="file_unreadable")

    # Native crashes, out of memory, a hang: staged with the fakes (tests/hostile/faults.py).
    for fault, rule in FAULT_RULES.items():
        county = next(place)
        cases.append(Hostile(f"fault-{fault}", f"{county}/{SITES}/{PERIOD}/fault-{fault}.csv".encode(),
                             sites_csv(_row(1, county, site_name=f"{fault}托管点")), rule=rule))

    names = [case.name for case in cases]
    assert len(set(names)) == len(names), names
    digests = {case.data for case in cases}
    assert len(digests) == len(cases), "two cases share their bytes"
    return cases


FAULT_RULES = {
    "abort": "reader_crashed",           # calamine's failed 16 GB allocation, before the bounds
    "allocate_native": "too_large_when_expanded",
    "raise_error": "reader_crashed",     # an exception whose message quotes a phone number
    "sleep": "timed_out",
}
"""`fault-<fake>.csv` is staged by `tests.isolation_fakes.<fake>`; the rule it must end with."""


def write_case(landing: Path, case: Hostile) -> None:
    """Lay `case` out in `landing` (bytes paths: a name may not be UTF-8)."""
    target = os.path.join(os.fsencode(landing), case.path)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    if case.symlink:
        outside = landing.parent / "outside" / f"{case.name}.csv"
        outside.parent.mkdir(parents=True, exist_ok=True)
        outside.write_bytes(case.data)
        os.symlink(os.fsencode(outside), target)
        return
    with open(target, "wb") as stream:
        stream.write(case.data)


def write_case_alone(folder: Path, case: Hostile) -> Path:
    """`case`'s bytes as one file named like it (for `countyflow check`); returns its path."""
    folder.mkdir(parents=True, exist_ok=True)
    target = os.path.join(os.fsencode(folder), case.path.rsplit(b"/", 1)[-1])
    with open(target, "wb") as stream:
        stream.write(case.data)
    return Path(os.fsdecode(target))
