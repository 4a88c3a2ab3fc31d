"""``modeltrust verify``: is this exactly what the publisher signed, and if not, what changed?"""

from __future__ import annotations

import json
from pathlib import Path

import click

from modeltrust._cli.options import EXIT_FINDINGS, EXIT_OK
from modeltrust.errors import UsageError

VERIFY_EPILOG = """\b
Exit codes:
  0  verified: signature valid and every file matches
  1  not verified (the reason is printed: wrong key, changed files, malformed bundle...)
  2  modeltrust could not do its job (bad arguments, missing files)

\b
Examples:
  modeltrust verify ./my-model --signature model.sig --key signing-key.pub
  modeltrust verify ./my-model --signature model.sig --cert-chain ca.pem
  modeltrust verify ./my-model --signature model.sig \\
      --identity dev@example.com --issuer https://accounts.google.com
"""


@click.command("verify", epilog=VERIFY_EPILOG,
               short_help="Verify a model against its OMS signature.")
@click.argument("model", type=click.Path(exists=True, path_type=Path))
@click.option("--signature", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The OMS bundle (default MODEL/model.sig, or FILE.sig).")
@click.option("--key", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Trusted PEM EC public key (key method).")
@click.option("--cert-chain", multiple=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Trusted PEM CA certificates (certificate method; repeatable).")
@click.option("--identity", help="Expected Sigstore signer identity (keyless method).")
@click.option("--issuer", help="Expected OIDC issuer of that identity (keyless method).")
@click.option("--staging", is_flag=True, help="Use Sigstore's staging trust root.")
@click.option("--ignore-unsigned-files", is_flag=True,
              help="Do not fail on files the signature does not list.")
@click.option("--no-tensors", is_flag=True, help="Skip the per-tensor explanation.")
@click.option("-f", "--format", "fmt", type=click.Choice(["console", "json"]),
              default="console", show_default=True, help="Output format.")
def verify_command(model: Path, signature: Path | None, key: Path | None,
                   cert_chain: tuple[Path, ...], identity: str | None, issuer: str | None,
                   staging: bool, ignore_unsigned_files: bool, no_tensors: bool,
                   fmt: str) -> None:
    """Verify MODEL against an OpenSSF Model Signing v1.0 bundle.

    The signature is checked with the key, CA certificates or Sigstore identity you trust,
    then every file is re-hashed. Missing, extra and changed files are listed; weight
    files are compared tensor by tensor when the signer recorded tensor digests.
    """
    from modeltrust._integrity.methods import Trust
    from modeltrust._integrity.verifying import find_signature, verify_model

    sig = signature or find_signature(model)
    if sig is None:
        raise UsageError(f"no signature given and none found next to {model} "
                         "(use --signature)")
    trust = Trust(public_key=key, cert_chain=cert_chain, identity=identity, issuer=issuer,
                  use_staging=staging)
    res = verify_model(model, sig, trust, ignore_unsigned=ignore_unsigned_files,
                       tensors=not no_tensors)
    if fmt == "json":
        click.echo(json.dumps(res.to_dict(), indent=2, ensure_ascii=False))
    else:
        for line in res.lines():
            click.echo(line)
    click.get_current_context().exit(EXIT_OK if res.verified else EXIT_FINDINGS)
