import base64
import os
from typing import Any

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Print a fresh random 32-byte key, base64-encoded, for LOCKER_MASTER_KEYS or LOCKER_HASH_KEY."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(base64.b64encode(os.urandom(32)).decode())
