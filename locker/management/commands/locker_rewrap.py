from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from core.progress import ProgressBar
from locker import vault


class Command(BaseCommand):
    help = (
        "Re-wrap every sealed secret (every field registered with locker.vault: product keys, webhook "
        "signing secrets, key files waiting for import, ...) under the first key of LOCKER_MASTER_KEYS "
        "(LOCK-3). Batched, resumable after a kill, safe while the portal runs. Reports what depends on "
        "each master key, so an old one is removed only when nothing does."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument("--pause", type=float, default=0.0, help="seconds to rest between batches")

    def handle(self, *args: Any, batch_size: int, pause: float, **options: Any) -> None:
        current = vault.current_master_key_id()
        todo = vault.pending_rewrap()
        fields: list[vault.SealedField | vault.SealedJsonField] = [
            *vault.registered(),
            *vault.registered_json(),
        ]
        kinds = ", ".join(str(field.label) for field in fields)
        self.stdout.write(f"Current master key {current}; {todo} records to re-wrap ({kinds}).")
        bar = ProgressBar(self.stdout, todo, "rewrap")
        unopenable: vault.Unopenable = {}
        idle = 0
        while True:
            n = vault.rewrap_batch(batch_size=max(1, batch_size), unopenable=unopenable)
            if n:
                bar.advance(n)
                idle = 0
            else:
                if not vault.pending_rewrap(unopenable) or idle >= 20:
                    break
                idle += 1  # rows held by reveals or deliveries in progress: wait for them
                time.sleep(0.25)
            if pause:
                time.sleep(pause)
        bar.finish()
        for field in fields:
            bad = unopenable.get(field.kind)
            if bad:
                self.stdout.write(
                    self.style.ERROR(
                        f"{len(bad)} {field.label} could not be opened and stay as they were "
                        f"(first: {sorted(map(str, bad))[0]}): their master key is not configured or the "
                        "record was altered."
                    )
                )
        self._report(current)
        self.stdout.write(
            "An old key may go only once every web, worker and beat process runs with the new key first in "
            "LOCKER_MASTER_KEYS (a process still on the old list keeps sealing under the old key): restart "
            "them all, run this command again, and remove the key when it says nothing depends on it."
        )

    def _report(self, current: str) -> None:
        configured = vault.configured_master_key_ids()
        report = vault.by_master_key()
        needed: dict[str, list[str]] = {}
        for label, counts in report.items():
            self.stdout.write(f"{label}:")
            if not counts:
                self.stdout.write("  none stored")
            for kid, n in counts.items():
                needed.setdefault(kid, []).append(f"{n} {label}")
                if kid == current:
                    self.stdout.write(f"  {kid} (current): {n} records")
                elif kid in configured:
                    self.stdout.write(f"  {kid} (old): {n} records still need it")
                else:
                    self.stdout.write(
                        self.style.ERROR(f"  {kid} (NOT CONFIGURED): {n} records cannot be opened")
                    )
        self.stdout.write("Master keys:")
        for kid in configured:
            if kid == current:
                self.stdout.write(f"  {kid} (current): encrypts everything new")
            elif kid in needed:
                self.stdout.write(
                    self.style.WARNING(
                        f"  {kid} (old): still needed by {', '.join(needed[kid])}; keep it configured"
                    )
                )
            else:
                self.stdout.write(
                    self.style.SUCCESS(f"  {kid} (old): nothing depends on it; it can be removed")
                )
