from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from catalog.models import Product
from locker.services import keys_import


class Command(BaseCommand):
    help = "Import product keys for SKU from FILE (one key per line). Never prints a key."

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
        report = keys_import(product=product, lines=text.splitlines())
        self.stdout.write(
            f"{product.sku}: imported {report.imported}, rejected {report.rejected} "
            f"({len(report.duplicates)} duplicate, {len(report.malformed)} malformed)."
        )
        if report.duplicates:
            self.stdout.write("Duplicate lines: " + _lines(report.duplicates))
        if report.malformed:
            self.stdout.write("Malformed lines: " + _lines(report.malformed))


def _lines(numbers: list[int], limit: int = 50) -> str:
    shown = ", ".join(str(n) for n in numbers[:limit])
    return shown + (f" … and {len(numbers) - limit} more" if len(numbers) > limit else "")
