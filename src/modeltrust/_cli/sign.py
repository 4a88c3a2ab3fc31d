"""``modeltrust sign``: write an OpenSSF Model Signing (OMS v1.0) bundle for a model."""

from __future__ import annotations

import os
from pathlib import Path

import click

from modeltrust._cli.options import size_callback
from modeltrust._cli.output import note
from modeltrust.errors import UsageError

SIGN_EPILOG = """\b
Exit codes:
  0  the model was signed
  2  it could not be signed (bad key or options, symlink or special file in the model)

\b
Examples:
  modeltrust sign ./my-model --key signing-key.pem
  modeltrust sign ./my-model --key leaf-key.pem --cert leaf.pem --chain ca.pem
  modeltrust sign model.gguf --key key.pem --hash blake3 --signature model.gguf.sig
  modeltrust sign ./my-model --key key.pem --serialization shards --ignore logs
  modeltrust sign ./my-model --sigstore          # keyless, needs network and an OIDC login
"""

_HASHES = ["sha256", "blake2b", "blake3"]


def shard_size_callback(ctx: click.Context, param: click.Parameter,
                        value: str | None) -> int | None:
    """``--shard-size`` as bytes (``1GB``, ``500M``...), None for the default."""
    return None if value is None else size_callback(ctx, param, value)


@click.command("sign", epilog=SIGN_EPILOG,
               short_help="Sign a model (OpenSSF Model Signing v1.0 bundle).")
@click.argument("model", type=click.Path(exists=True, path_type=Path))
@click.option("--key", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="PEM EC private key (P-256, P-384 or P-521).")
@click.option("--key-password-env", metavar="VAR",
              help="Read the private key's password from environment variable VAR.")
@click.option("--cert", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="PEM signing certificate for --key (certificate method).")
@click.option("--chain", multiple=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="PEM CA certificates to include after the leaf (repeatable).")
@click.option("--sigstore", "keyless", is_flag=True,
              help="Sign keyless with Sigstore (network; needs modeltrust[sigstore]).")
@click.option("--identity-token", metavar="TOKEN", envvar="SIGSTORE_ID_TOKEN",
              help="OIDC token for --sigstore (default: ambient credentials or a browser).")
@click.option("--staging", is_flag=True, help="Use Sigstore's staging instance (testing).")
@click.option("--signature", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the bundle (default MODEL/model.sig, or FILE.sig).")
@click.option("--ignore", multiple=True, metavar="PATH",
              help="Path inside the model to leave out (exact relative path; repeatable).")
@click.option("--hash", "hash_type", type=click.Choice(_HASHES), default="sha256",
              show_default=True, help="File hash algorithm.")
@click.option("--serialization", type=click.Choice(["files", "shards"]), default="files",
              show_default=True, help="One digest per file, or per fixed-size shard.")
@click.option("--shard-size", callback=shard_size_callback, default=None, metavar="SIZE",
              help="Shard size for --serialization shards (default 1GB = 10^9 bytes).")
@click.option("--allow-symlinks", is_flag=True,
              help="Follow symbolic links (recorded in the signature; OMS discourages it).")
@click.option("--no-tensors", is_flag=True,
              help="Do not write the per-tensor statement (SIG.tensors.json).")
def sign_command(model: Path, key: Path | None, key_password_env: str | None,
                 cert: Path | None, chain: tuple[Path, ...], keyless: bool,
                 identity_token: str | None, staging: bool, signature: Path | None,
                 ignore: tuple[str, ...], hash_type: str, serialization: str,
                 shard_size: int | None, allow_symlinks: bool, no_tensors: bool) -> None:
    """Sign MODEL (a folder or a file) as an OpenSSF Model Signing v1.0 bundle.

    Every file is hashed (in parallel) into an in-toto statement, signed in a DSSE
    envelope inside a Sigstore bundle that model_signing and other OMS tools verify. A
    second statement signed with the same key records every tensor's digest, so that
    'modeltrust verify' can say which tensors changed.
    """
    from modeltrust._integrity import methods
    from modeltrust._integrity.signing import sign_model

    if keyless == (key is not None):
        raise UsageError("give exactly one of --key KEY.pem or --sigstore")
    signer: methods.Signer | methods.SigstoreSigner
    if keyless:
        if cert or chain:
            raise UsageError("--cert/--chain are for key signing, not --sigstore")
        signer = methods.SigstoreSigner(identity_token=identity_token, use_staging=staging)
    else:
        assert key is not None
        password = None
        if key_password_env:
            if key_password_env not in os.environ:
                raise UsageError(f"environment variable {key_password_env} is not set")
            password = os.environ[key_password_env].encode("utf-8")
        signer = methods.Signer(key, password=password, cert=cert, chain=chain)
    res = sign_model(model, signer, signature=signature, ignore=ignore, hash_type=hash_type,
                     method=serialization, shard_size=shard_size,
                     allow_symlinks=allow_symlinks, tensors=not no_tensors)
    click.echo(f"signed {model}: sha256:{res.root_digest} ({res.files} files, "
               f"{res.resources} digests, {res.method} method, signer {res.signer})")
    note(f"wrote {res.signature}")
    if res.tensors is not None:
        note(f"wrote {res.tensors} (per-tensor digests of {res.tensor_files} weight files)")
    for n in res.notes:
        note(f"note: {n}")
