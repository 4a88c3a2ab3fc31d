"""``modeltrust bom``: a CycloneDX 1.6 or SPDX 3.0.1 bill of materials for a model.

Parses options, calls :func:`modeltrust.api.bom_evidence` (scan, openness, hashing) with a
progress display for people, renders the chosen format and writes it atomically.
"""

from __future__ import annotations

import click

from modeltrust._cli.options import VERBOSE_KEY
from modeltrust._cli.output import atomic_write, note, progress_wanted, scan_progress

ANNOUNCE_BYTES = 1_000_000_000
"""Models at least this large get a line on stderr before hashing (seconds of waiting)."""

BOM_EPILOG = """\b
Exit codes:
  0  the BOM was written (findings are inside it, as vulnerabilities/annotations),
     also when PATH holds no model file (a warning on stderr says so)
  2  the tool could not do its job (bad arguments, unreadable target)

\b
Examples:
  modeltrust bom ./my-model -o my-model.cdx.json
  modeltrust bom ./my-model --format spdx -o my-model.spdx.json
  modeltrust bom ./all-MiniLM-L6-v2 --hub-id sentence-transformers/all-MiniLM-L6-v2
  SOURCE_DATE_EPOCH=0 modeltrust bom ./my-model   # reproducible timestamp

Nothing is looked up online: the hub id and revision come from the snapshot (a Hugging
Face cache names both) or from --hub-id/--revision.
"""


@click.command("bom", epilog=BOM_EPILOG,
               short_help="Write a CycloneDX 1.6 or SPDX 3.0.1 BOM for a model.")
@click.argument("path", type=click.Path(path_type=str))
@click.option("-f", "--format", "fmt", type=click.Choice(["cyclonedx", "spdx"]),
              default=None, help="BOM standard (default: from the -o file name "
              "(*.spdx.json -> spdx), else cyclonedx).")
@click.option("--hub-id", default=None, metavar="ORG/NAME",
              help="The model's Hugging Face Hub id, when the folder does not say (purl).")
@click.option("--revision", default=None, metavar="REV",
              help="The hub commit of the snapshot, when the folder does not say.")
@click.option("-q", "--quiet", is_flag=True, help="No progress or summary on stderr.")
@click.option("-v", "--verbose", is_flag=True, help="Tracebacks on internal errors.")
@click.option("-o", "--output", metavar="FILE",
              type=click.Path(dir_okay=False, path_type=str),
              help="Write the BOM to FILE (atomically; '-' = standard output, the default).")
def bom_command(path: str, fmt: str | None, hub_id: str | None, revision: str | None,
                quiet: bool, verbose: bool, output: str | None) -> None:
    """Write a bill of materials for the model at PATH.

    The model is a machine-learning-model component (CycloneDX) or an AI package (SPDX)
    with its files and their SHA-256, the OMS root digest, licences, declared datasets,
    base models (pedigree), the model card's facts, the scan's findings and the openness
    findings (licence, lineage, card). What could not be established is stated in the
    document, never guessed.
    """
    from modeltrust import api
    from modeltrust._bom.interface import BomFormat, format_for, render

    click.get_current_context().meta[VERBOSE_KEY] = verbose
    chosen = BomFormat(fmt) if fmt else format_for(output or "")
    def announce(files: int, size: int) -> None:
        if not quiet and size >= ANNOUNCE_BYTES:
            note(f"hashing {files} files ({size / 1e9:.1f} GB) for the BOM's digests")

    with scan_progress(progress_wanted(quiet)) as progress:
        evidence = api.bom_evidence(path, hub_id=hub_id, revision=revision,
                                    progress=progress, announce=announce)
    text = render(evidence, chosen)
    if not evidence.weights_found:  # a warning, not progress: shown even with --quiet
        note(f"no model files found in {path}: the BOM lists {len(evidence.files)} "
             "file(s), none in a known weights format")
    if output is not None and output != "-":
        atomic_write(output, text)
        if not quiet:
            note(f"wrote {chosen.label} BOM to {output}: {len(evidence.files)} files, "
                 f"{len(evidence.datasets)} datasets, {len(evidence.ancestors)} base models, "
                 f"{len(evidence.findings)} scan findings, "
                 f"{len(evidence.assessment_findings)} openness findings, "
                 f"{len(evidence.unknowns)} unknowns")
    else:
        click.echo(text, nl=False)
