"""allauth's MFA secrets (TOTP keys, recovery-code seeds) sealed by the vault, like every other secret the
portal keeps (LOCK-1), and so re-wrapped by ``locker_rewrap`` (LOCK-3).

allauth asks its adapter to ``encrypt`` a secret before it stores it in ``Authenticator.data`` and to
``decrypt`` it when it checks a code. The seal carries no record id (allauth encrypts before the row
exists), so a token copied from one authenticator to another still opens; writing it there takes the
database, which also holds the password hashes.
"""

from __future__ import annotations

from allauth.mfa.adapter import DefaultMFAAdapter

from . import vault

SEAL_KIND = "mfasecret"
JSON_KEYS = ("secret", "seed", "migrated_codes")  # the TOTP key, the recovery-code seed, imported codes


class VaultMFAAdapter(DefaultMFAAdapter):
    def encrypt(self, text: str) -> str:
        return vault.seal_token(SEAL_KIND, text)

    def decrypt(self, encrypted_text: str) -> str:
        if vault.is_token(encrypted_text):
            return vault.open_token(SEAL_KIND, encrypted_text)
        # Stored before secrets were sealed: still usable; `locker_rewrap` seals it.
        return encrypted_text
