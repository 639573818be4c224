"""What ``import_customers`` and ``import_licences`` share: read the file, run the service with a progress
bar on stderr, report errors by line and refuse (exit status 1) when there were any."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.progress import ProgressBar

ERRORS_SHOWN = 200


class ImportCommand(BaseCommand):
    service: Callable[..., Any]
    what: str
    # The line printed after an import, formatted with the counts of ``ImportResult.summary``.
    report_format: str

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="CSV file, UTF-8 (with or without BOM), header row")

    def handle(self, *args: Any, file: Path, **options: Any) -> None:
        try:
            content = file.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(
                f"Cannot read {file}: {exc.__class__.__name__} (UTF-8 text expected)"
            ) from None
        bar: dict[str, ProgressBar] = {}

        def progress(done: int, total: int) -> None:
            if "bar" not in bar:
                bar["bar"] = ProgressBar(self.stderr, total, file.name)
            bar["bar"].advance(done - bar["bar"].done)

        result = type(self).service(content=content, progress=progress)
        del content
        if "bar" in bar:
            bar["bar"].finish()
        if result.errors:
            for error in result.errors[:ERRORS_SHOWN]:
                self.stderr.write(str(error))
            if len(result.errors) > ERRORS_SHOWN:
                self.stderr.write(f"… and {len(result.errors) - ERRORS_SHOWN} more errors")
            raise CommandError(f"{len(result.errors)} error(s) in {file.name}: nothing was imported.")
        self.stdout.write(self.report_format.format(**result.summary()))
