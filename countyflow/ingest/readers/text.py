"""Bytes → text for the text formats (CSV, JSON), and sniffing of misnamed binaries.

Encoding order matters: GB18030 maps almost any byte sequence to *some* characters, so
strict UTF-8 goes first and GB18030 is only the fallback (SPEC §3).
"""

from __future__ import annotations

import re

from countyflow.ingest.model import SubmissionRejected

UTF8_BOM = b"\xef\xbb\xbf"
_ZIP_MAGIC = b"PK\x03\x04"
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# C0 controls other than tab, LF, CR (and DEL) never occur in a real CSV or JSON text;
# they mean a binary file (or UTF-16) that happened to decode.
_BINARY = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def sniff_binary(data: bytes, extension: str) -> None:
    """Reject a workbook saved under a text extension with a message that says so."""
    if data.startswith(_ZIP_MAGIC):
        raise SubmissionRejected(
            "file_unreadable", f"文件实为 Excel 工作簿（xlsx），不是 .{extension} / "
            f"this is an Excel workbook (xlsx), not a .{extension} file")
    if data.startswith(_OLE2_MAGIC):
        raise SubmissionRejected(
            "file_unreadable", "文件为旧版 Excel（xls）或加密文件，请另存为 xlsx / "
            "old Excel (.xls) or encrypted file; save it as .xlsx")


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode as UTF-8 (BOM optional), else GB18030; returns (text, encoding).

    Raises `file_undecodable` when neither strict decode succeeds, and `file_unreadable`
    when the text holds control characters (binary content).
    """
    try:
        text, encoding = data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        try:
            text, encoding = data.decode("gb18030"), "gb18030"
        except UnicodeDecodeError as error:
            raise SubmissionRejected(
                "file_undecodable", f"byte {error.start}") from None
    binary = _BINARY.search(text)
    if binary is not None:
        raise SubmissionRejected(
            "file_unreadable", f"含有二进制内容（位置 {binary.start()}） / binary content at character {binary.start()}")
    return text, encoding
