from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from catalog.models import Product
from core.progress import ProgressBar
from locker.services import IMPORT_CHUNK, ImportReport, keys_import_numbered, parse_key_file


class Command(BaseCommand):
    help = "Import keys for SKU from FILE (one a line, or CSV with a key column). Never prints a key."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("sku")
        parser.add_argument("file", type=Path)

    def handle(self, *args: Any, sku: str, file: Path, **options: Any) -> None:
        product = Product.objects.filter(sku=sku).first()
        if product is None:
            raise CommandError(f"No product with SKU {sku!r}.")
        try:
            text = file.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"Cannot read {file}: {exc.__class__.__name__}") from None
        numbered = parse_key_file(text, file.name)
        del text
        total = ImportReport()
        bar = ProgressBar(self.stdout, len(numbered), product.sku) if len(numbered) > IMPORT_CHUNK else None
        for start in range(0, len(numbered), IMPORT_CHUNK):
            chunk = numbered[start : start + IMPORT_CHUNK]
            report = keys_import_numbered(product=product, numbered=chunk)
            total.imported += report.imported
            total.duplicates += report.duplicates
            total.malformed += report.malformed
            if bar:
                bar.advance(len(chunk))
        if bar:
            bar.finish()
        self.stdout.write(
            f"{product.sku}: imported {total.imported}, rejected {total.rejected} "
            f"({len(total.duplicates)} duplicate, {len(total.malformed)} malformed)."
        )
        if total.duplicates:
            self.stdout.write("Duplicate lines: " + _lines(total.duplicates))
        if total.malformed:
            self.stdout.write("Malformed lines: " + _lines(total.malformed))


def _lines(numbers: list[int], limit: int = 50) -> str:
    shown = ", ".join(str(n) for n in numbers[:limit])
    return shown + (f" … and {len(numbers) - limit} more" if len(numbers) > limit else "")
