"""The ``apexbench`` command (``python -m apexbench`` too): ``serve`` and ``export``.

    apexbench serve --classifier minixception --detector haar --db results/serve.sqlite --port 8080
    apexbench export --db results/serve.sqlite --out results.json

Defaults come from the ``annotate`` section of ``--configfile`` (default: ``config/config.yaml`` of the
working directory when there is one, else the workflow's), read as ``snakemake --configfile`` reads it:
over the workflow's default config. Every failure is one line on stderr and exit status 1 (2 for a bad flag).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from .errors import ApexbenchError

TOKEN_ENV = "APEXBENCH_TOKEN"
DEFAULT_DB = "results/serve.sqlite"


class _Parser(argparse.ArgumentParser):
    """argparse whose errors are one line (no usage block)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive integer")
    return value


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text} is not a port (0..65535)")
    return value


def _unit(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is outside 0..1")
    return value


_positive_int.__name__ = "positive integer"
_port.__name__ = "port"
_unit.__name__ = "number in 0..1"


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="apexbench", description="apexbench: facial-expression classifiers as a service.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    serve = sub.add_parser("serve", help="receive images over HTTP; every face's emotion as JSON, stored",
                           description="Receive images over HTTP (POST /v1/images); every face's emotion as JSON, "
                                       "stored in a database before the answer.")
    serve.add_argument("--configfile", default=None,
                       help="a config whose annotate section gives the defaults, read over the workflow's "
                            "(default: config/config.yaml here if present, else the workflow's)")
    serve.add_argument("--classifier", help="a name under the config's classifiers (default: annotate.classifier)")
    serve.add_argument("--detector", choices=["haar", "mediapipe", "both"],
                       help="face detector; both = MediaPipe full- and short-range merged (default: annotate.detector)")
    serve.add_argument("--model-selection", choices=["0", "1", "both"],
                       help="MediaPipe model: 0 short-range, 1 full-range, both (default: annotate.model_selection)")
    serve.add_argument("--min-score", type=_unit, help="minimum detection score (default: annotate.min_score)")
    serve.add_argument("--threshold", type=_unit,
                       help="emotion threshold when a request gives none (default: annotate.threshold)")
    serve.add_argument("--db", default=DEFAULT_DB,
                       help="SQLite file, sqlite:///path or postgresql://user:pw@host:port/db (default: %(default)s)")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: %(default)s)")
    serve.add_argument("--port", type=_port, default=8080, help="TCP port; 0 picks a free one (default: %(default)s)")
    serve.add_argument("--token", help=f"require 'Authorization: Bearer <token>' (default: ${TOKEN_ENV}; "
                                       "health stays open)")
    serve.add_argument("--max-bytes", type=_positive_int, default=10 * 1024 * 1024,
                       help="largest request body; more is 413 (default: %(default)s = 10 MiB)")
    serve.add_argument("--max-pixels", type=_positive_int, default=40_000_000,
                       help="largest image (width x height), checked before decoding (default: %(default)s)")
    serve.add_argument("--threads", type=_positive_int, default=4, help="WSGI server threads (default: %(default)s)")
    serve.add_argument("--workers", type=_positive_int, default=2,
                       help="detector + classifier copies working in parallel (default: %(default)s)")

    export = sub.add_parser("export", help="write every stored record as one {\"images\": [...]} JSON document",
                            description="Write every stored record as one {\"images\": [...]} JSON document.")
    export.add_argument("--db", default=DEFAULT_DB, help="the service's database (default: %(default)s)")
    export.add_argument("--out", required=True, help="the JSON file to write")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "serve":
            return _serve(args)
        return _export(args)
    except ApexbenchError as err:
        print(f"apexbench {args.command}: error: {err.one_line()}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _serve(args) -> int:
    from .serve import Service, create_app, load_config, run_server, settings_from_config
    from .store import Store

    token = args.token or os.environ.get(TOKEN_ENV) or None
    local = Path("config/config.yaml")
    config = load_config(args.configfile or (local if local.is_file() else None))
    store = Store(args.db)  # before the models: an unreachable database fails fast
    try:
        settings = settings_from_config(config, classifier=args.classifier, detector=args.detector,
                                        model_selection=args.model_selection, min_score=args.min_score,
                                        threshold=args.threshold)
        service = Service(settings, workers=args.workers)
        try:
            print(f"apexbench serve: {settings.classifier} ({settings.kind}, sha256 {settings.model_sha256}), "
                  f"detector {service.detector_name}, database {store.shown}"
                  f"{', token required' if token else ''}", file=sys.stderr, flush=True)
            app = create_app(service, store, token=token, max_bytes=args.max_bytes, max_pixels=args.max_pixels)
            run_server(app, args.host, args.port, args.threads, args.max_bytes)
        finally:
            service.close()
    finally:
        store.close()
    return 0


def _export(args) -> int:
    from .fsutil import atomic_path
    from .store import Store, export_document

    store = Store(args.db, create=False)
    try:
        document = export_document(store.iter_all())
    finally:
        store.close()
    with atomic_path(args.out) as tmp:
        Path(tmp).write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    n_faces = sum(len(image["faces"]) for image in document["images"])
    print(f"apexbench export: {len(document['images'])} image(s), {n_faces} face(s) -> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
