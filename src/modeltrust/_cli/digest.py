"""``modeltrust digest``: the OMS root digest, the identity reports and registries use."""

from __future__ import annotations

from pathlib import Path

import click

from modeltrust._cli.sign import shard_size_callback

DIGEST_EPILOG = """\b
Examples:
  modeltrust digest ./my-model
  modeltrust digest model.safetensors --hash blake3
  modeltrust digest ./my-model --serialization shards --ignore logs
"""


@click.command("digest", epilog=DIGEST_EPILOG,
               short_help="Print a model's OMS root digest (sha256:...).")
@click.argument("model", type=click.Path(exists=True, path_type=Path))
@click.option("--hash", "hash_type", type=click.Choice(["sha256", "blake2b", "blake3"]),
              default="sha256", show_default=True, help="File hash algorithm.")
@click.option("--serialization", type=click.Choice(["files", "shards"]), default="files",
              show_default=True, help="One digest per file, or per fixed-size shard.")
@click.option("--shard-size", callback=shard_size_callback, default=None, metavar="SIZE",
              help="Shard size for --serialization shards (default 1GB = 10^9 bytes).")
@click.option("--ignore", multiple=True, metavar="PATH",
              help="Path inside the model to leave out (repeatable).")
@click.option("--allow-symlinks", is_flag=True, help="Follow symbolic links.")
def digest_command(model: Path, hash_type: str, serialization: str, shard_size: int | None,
                   ignore: tuple[str, ...], allow_symlinks: bool) -> None:
    """Print the OMS root digest of MODEL: what 'modeltrust sign' puts in the subject.

    It is SHA-256 over the file (or shard) digests in canonical order, so it names the
    exact bytes of the model whatever the hash used per file. The model's own model.sig
    and tensor statement are left out.
    """
    from modeltrust._integrity.signing import digest_model

    click.echo(digest_model(model, hash_type=hash_type, method=serialization,
                            shard_size=shard_size, ignore=ignore,
                            allow_symlinks=allow_symlinks))
