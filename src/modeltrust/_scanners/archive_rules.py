"""The archive rules (MT-ZIP-*, MT-ARC-*), declared once for the zip, tar and 7z readers.

A module of its own because several modules raise them (the zip reader in :mod:`.archive`,
:mod:`.archive_tar`, :mod:`.archive_7z`, :mod:`.archive_members`, and the compressed-stream
scanner): declared below all of them, no import runs back up to the scanner.
"""

from __future__ import annotations

from modeltrust._source.zipread import Kind
from modeltrust.findings import Rule, Severity
from modeltrust.rules import rule

_DIFFERENTIAL = (
    "PyTorch (miniz) ignores this and loads the member anyway, while zipfile-based scanners "
    "fail or skip it: a known way to hide a payload from scanners. torch.save never writes it."
)
_ZIP_FIX = "Do not load the file; re-create it with the tool that produced the model."
ANOMALY_RULES: dict[Kind, Rule] = {
    Kind.CRC: rule("MT-ZIP-001", "Zip member fails its CRC check", Severity.MEDIUM,
                   f"The member's data does not match the CRC-32 in the archive. {_DIFFERENTIAL}",
                   fix=_ZIP_FIX, references=("CVE-2025-10156",)),
    Kind.NAME_MISMATCH: rule(
        "MT-ZIP-002", "Zip local and central member names differ", Severity.MEDIUM,
        f"The local header names the member differently from the central directory, so tools "
        f"disagree on what the member is called. {_DIFFERENTIAL}",
        fix=_ZIP_FIX, references=("CVE-2025-1944",)),
    Kind.FLAGS: rule(
        "MT-ZIP-003", "Zip member has unusual general-purpose flag bits", Severity.MEDIUM,
        f"Flag bits such as 'encrypted' (0x1), 'patched' (0x20) or 'strong encryption' (0x40) "
        f"are set on readable data, or local and central flags differ. {_DIFFERENTIAL}",
        fix=_ZIP_FIX, references=("CVE-2025-1945",)),
    Kind.DUPLICATE: rule(
        "MT-ZIP-004", "Zip holds two members with the same name", Severity.MEDIUM,
        "Loaders pick different copies of a duplicated name (first, last or by sorted "
        "lookup), so a scanner can check one copy while the loader runs the other.",
        fix=_ZIP_FIX),
    Kind.PREFIX: rule(
        "MT-ZIP-005", "Data before the first zip member", Severity.LOW,
        "Bytes precede the first member. A file that is both a pickle and a zip (a polyglot) "
        "is read as a pickle by torch.load; the prefix is scanned as a file of its own.",
        fix="Remove the prefix; genuine model archives start with their first member."),
    Kind.OVERLAP: rule(
        "MT-ZIP-006", "Zip members overlap", Severity.MEDIUM,
        "Two members share bytes. Genuine writers never do this; overlap is used for zip "
        "bombs and to show different content to different readers.",
        fix=_ZIP_FIX, cwe=409),
    Kind.TRUNCATED: rule(
        "MT-ZIP-007", "Zip structure truncated", Severity.MEDIUM,
        "A member or directory record runs past the end of the file, so its content is "
        "incomplete. The file may be damaged or built to crash readers.",
        fix="Download the file again and compare its digest with the publisher's."),
    Kind.BAD_ENTRY: rule(
        "MT-ZIP-008", "Malformed zip record", Severity.MEDIUM,
        "A central directory entry is malformed or points at no local header. Readers "
        "disagree on such entries; the rest of the archive was still analysed.",
        fix="Download the file again; if it persists, treat it as hostile."),
    Kind.NO_CENTRAL: rule(
        "MT-ZIP-009", "Zip central directory missing or unreadable", Severity.MEDIUM,
        "The central directory (the index loaders use) is missing or broken; the members "
        "were recovered by walking local headers. Scanners that need the index see nothing.",
        fix="Download the file again; if it persists, treat it as hostile."),
    Kind.HIDDEN: rule(
        "MT-ZIP-010", "Zip member missing from the central directory", Severity.MEDIUM,
        "A local entry is not listed in the central directory: index-based readers never "
        "see it, stream-based readers do. It was analysed anyway.",
        fix=_ZIP_FIX),
    Kind.TOO_MANY: rule(
        "MT-ARC-005", "Archive has more members than the limit", Severity.HIGH,
        "Members past the limit were not analysed, and a payload may sit among them: padding "
        "an archive with thousands of harmless members is an evasion technique as much as "
        "huge member counts exhaust scanners' memory and time. Members whose names say they "
        "carry code (pickles, .npy arrays, TorchScript code) are still found through the zip "
        "central directory and analysed. Medium when nothing past the limit was left "
        "unanalysed.",
        fix="Unpack the archive and scan the folder, or raise the member limit.", cwe=400),
}
TOO_MANY = ANOMALY_RULES[Kind.TOO_MANY]
TRAVERSAL = rule(
    "MT-ARC-001", "Archive member name escapes the extraction folder (zip slip)", Severity.HIGH,
    "The member name is absolute, has a drive letter, or climbs with '..'. Extracting the "
    "archive would write outside the target folder, e.g. over a startup script.",
    fix="Do not extract the archive; ask the publisher for a clean one.", cwe=22)
BOMB = rule(
    "MT-ARC-002", "Decompression bomb", Severity.MEDIUM,
    "The data expands far more than real model data does (the compression ratio limit). It "
    "was not decompressed further; whatever it holds was not analysed.",
    fix="Treat the file as hostile, or raise the ratio limit if the data is known.", cwe=409)
TOO_LARGE = rule(
    "MT-ARC-003", "Member larger than the analysis limit", Severity.MEDIUM,
    "The decompressed member is larger than the per-member limit and was not analysed.",
    fix="Raise the member size limit to analyse it.", cwe=409)
BUDGET = rule(
    "MT-ARC-004", "Total expansion budget exhausted", Severity.MEDIUM,
    "All members of this file together decompress to more than the expansion budget; the "
    "rest were not analysed. Nested archives are a classic way to build such bombs.",
    fix="Unpack the archive and scan the folder, or raise the expansion limit.", cwe=409)
ENCRYPTED = rule(
    "MT-ARC-006", "Encrypted archive member not analysed", Severity.LOW,
    "The member is password protected, so its content could not be checked. No loader "
    "reads it without the password either.",
    fix="Decrypt the archive yourself and scan the content.")
UNSUPPORTED = rule(
    "MT-ARC-007", "Archive member could not be decoded", Severity.LOW,
    "The member uses a compression method modeltrust does not read, so it was not analysed.",
    fix="Repack the archive with stored or deflate compression and scan again.")
CORRUPT = rule(
    "MT-ARC-008", "Archive or member is corrupt", Severity.MEDIUM,
    "The archive or a member's compressed data is damaged. Whatever could be read was "
    "analysed; corruption is also used to make scanners stop before the payload.",
    fix="Download the file again and compare its digest with the publisher's.")
LINK = rule(
    "MT-ARC-009", "Archive holds a link or device entry", Severity.MEDIUM,
    "A symbolic link, hard link or device node would, once extracted, point at files outside "
    "the model (or at hardware). modeltrust does not follow it.",
    fix="Remove link and device entries from model archives.", cwe=59)
SEVENZIP_MISSING = rule(
    "MT-ARC-010", "7z support not installed", Severity.INFO,
    "The 7z archive was not analysed because the optional py7zr package is missing.",
    fix="pip install 'modeltrust[archives]'")
TORCHSCRIPT_CODE = rule(
    "MT-ARC-011", "TorchScript archive contains code", Severity.INFO,
    "TorchScript archives carry Python-like code that torch.jit.load compiles and runs. The "
    "pickles are scanned; the code is listed for review.",
    fix="Load with torch.load(weights_only=True) instead of torch.jit.load if you only need "
        "weights.")
