"""``voxwatch keys generate DIR [--name NAME]``: a CURVE key pair for a daemon, broker or consumer.

Writes ``DIR/NAME.key`` (the public key: copy it into the server's ``--curve-allow`` directory, or hand it to
clients as ``--curve-server-key``) and ``DIR/NAME.key_secret`` (mode 0600; never leaves its host).
"""

from __future__ import annotations

import argparse
import socket

from voxwatch.commands.output_paths import OutputFolder

HELP = "manage CURVE key pairs for encrypted, authenticated event sockets"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
    generate = sub.add_parser("generate", help="write NAME.key (public) and NAME.key_secret (0600) into DIR",
                              description="write NAME.key (public) and NAME.key_secret (mode 0600) into DIR")
    generate.add_argument("directory", metavar="DIR", action=OutputFolder,
                          help="where to write the key files (created if missing)")
    generate.add_argument("--name", default=None, help="file name stem (default: this host's name)")
    generate.add_argument("--force", action="store_true", help="replace existing key files of that name")


def run(args: argparse.Namespace) -> int:
    from voxwatch.transport.curve import generate_keys, load_public_key

    name = args.name or socket.gethostname().split(".")[0] or "voxwatch"
    public, secret = generate_keys(args.directory, name, force=args.force)
    print(f"public key  {public}  ({load_public_key(public).decode()})")
    print(f"secret key  {secret}  (mode 0600: keep it on this host)")
    return 0
