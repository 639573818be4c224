from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from locker import crypto
from locker.models import ProductKey
from locker.services import keys_by_master_key, keys_rewrap_batch
from portal.progress import ProgressBar


class Command(BaseCommand):
    help = (
        "Re-wrap every stored data key under the first key of LOCKER_MASTER_KEYS (LOCK-3). Batched, "
        "resumable after a kill, safe while the portal serves reveals. Reports what depends on each old key."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument("--pause", type=float, default=0.0, help="seconds to rest between batches")

    def handle(self, *args: Any, batch_size: int, pause: float, **options: Any) -> None:
        current = crypto.current_master_key_id()
        todo = (
            ProductKey.objects.exclude(master_key_id=current).exclude(status=ProductKey.Status.PURGED).count()
        )
        self.stdout.write(f"Current master key {current}; {todo} records to re-wrap.")
        bar = ProgressBar(self.stdout, todo, "rewrap")
        idle = 0
        while True:
            n = keys_rewrap_batch(batch_size=max(1, batch_size))
            if n:
                bar.advance(n)
                idle = 0
            else:
                left = (
                    ProductKey.objects.exclude(master_key_id=current)
                    .exclude(status=ProductKey.Status.PURGED)
                    .exists()
                )
                if not left or idle >= 20:
                    break
                idle += 1  # rows held by reveals in progress: wait for them
                time.sleep(0.25)
            if pause:
                time.sleep(pause)
        bar.finish()
        self._report(current)

    def _report(self, current: str) -> None:
        configured = {kid for kid, _key in crypto.master_keys()}
        for kid, n in keys_by_master_key().items():
            if kid == current:
                self.stdout.write(f"  {kid} (current): {n} records")
            elif kid in configured:
                self.stdout.write(f"  {kid} (old): {n} records still need it — keep it configured")
            else:
                self.stdout.write(self.style.ERROR(f"  {kid} (NOT CONFIGURED): {n} records cannot be opened"))
        old = [kid for kid in configured if kid != current and not keys_by_master_key().get(kid)]
        for kid in sorted(old):
            self.stdout.write(self.style.SUCCESS(f"  {kid} (old): nothing depends on it; it can be removed"))
