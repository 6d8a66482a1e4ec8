#!/usr/bin/env python3
"""Writes the Django fixtures Gatehouse's tests read, using Django itself.

- crates/infrastructure/tests/fixtures/django/hashes.json: passwords hashed by Django's own
  hashers (make_password), with the verdict Django's check_password gives for the right
  password and for near misses.
- crates/infrastructure/tests/fixtures/django/{postgresql,sqlite}/*.sql: the schema Django's
  migrations create (`sqlmigrate`, migration after migration) for contenttypes and auth, and
  for the example apps next to this script (accounts, users, shop).

    /path/to/venv/bin/python scripts/django-fixtures/make_fixtures.py \
        [--postgres postgres://postgres@127.0.0.1:5432/postgres] \
        [--bcrypt4-python /path/to/venv-with-bcrypt-4/bin/python]

README.md says which packages it needs and which versions wrote the committed output.
"""

import argparse
import json
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path
from urllib.parse import urlparse

# The example apps live next to this script; no bytecode is left in the repository.
sys.dont_write_bytecode = True
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
FIXTURES = ROOT / "crates" / "infrastructure" / "tests" / "fixtures" / "django"

DJANGO_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.BCryptPasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
    "django.contrib.auth.hashers.MD5PasswordHasher",
]

# Plain ASCII, non-ASCII, empty, and longer than the 72 bytes bcrypt reads (what lies beyond
# them, here non-ASCII, is what plain bcrypt lost before bcrypt 5).
PASSWORDS = [
    "correct horse battery staple",
    "lètmein",
    "",
    "a passphrase long enough to run past the seventy-two bytes bcrypt reads: ünïcödé",
]

# Which project each group of SQL files comes from: the user model decides whether auth
# creates auth_user, so each custom user model is migrated in a project of its own.
PROJECTS = {
    "stock": {"user_model": "auth.User", "apps": ["contenttypes", "auth", "shop"]},
    "accounts": {"user_model": "accounts.User", "apps": ["accounts"]},
    "users": {"user_model": "users.CustomUser", "apps": ["users"]},
}


def versions():
    return {
        "python": sys.version.split()[0],
        "django": metadata.version("django"),
        "argon2-cffi": metadata.version("argon2-cffi"),
        "bcrypt": metadata.version("bcrypt"),
    }


def configure(user_model, postgres_url, migrations_dir=None, migrated=()):
    import django
    from django.conf import settings

    url = urlparse(postgres_url)
    sys.path.insert(0, str(HERE))
    if migrations_dir:
        sys.path.insert(0, str(migrations_dir))
    settings.configure(
        INSTALLED_APPS=[
            "django.contrib.contenttypes",
            "django.contrib.auth",
            "accounts",
            "users",
            "shop",
        ],
        AUTH_USER_MODEL=user_model,
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        USE_TZ=True,
        PASSWORD_HASHERS=DJANGO_HASHERS,
        # The example apps have no committed migrations: makemigrations writes those of the
        # apps migrated here into a scratch package; the others stay unmigrated.
        MIGRATION_MODULES={
            app: f"generated.{app}" if app in migrated else None
            for app in ["accounts", "users", "shop"]
        },
        DATABASES={
            "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"},
            "postgresql": {
                "ENGINE": "django.db.backends.postgresql",
                "NAME": url.path.lstrip("/") or "postgres",
                "USER": url.username or "postgres",
                "PASSWORD": url.password or "",
                "HOST": url.hostname or "127.0.0.1",
                "PORT": str(url.port or 5432),
            },
        },
    )
    django.setup()


def schema(project, postgres_url):
    """Writes the SQL of `project`'s apps, for both backends."""
    from io import StringIO

    with tempfile.TemporaryDirectory() as migrations_dir:
        (Path(migrations_dir) / "generated").mkdir()
        (Path(migrations_dir) / "generated" / "__init__.py").touch()
        custom = [a for a in PROJECTS[project]["apps"] if a not in ("contenttypes", "auth")]
        configure(PROJECTS[project]["user_model"], postgres_url, migrations_dir, custom)

        from django.core.management import call_command
        from django.db.migrations.loader import MigrationLoader

        if custom:
            call_command("makemigrations", *custom, verbosity=0)
        loader = MigrationLoader(None, ignore_no_migrations=True)
        header = (
            "-- `sqlmigrate` of every migration of this app, in order: Django {django}, "
            "{backend}.\n-- Written by scripts/django-fixtures/make_fixtures.py; do not edit.\n"
        )
        for alias, backend in [("postgresql", "postgresql"), ("default", "sqlite")]:
            for app in PROJECTS[project]["apps"]:
                names = sorted(name for label, name in loader.disk_migrations if label == app)
                out = [header.format(django=versions()["django"], backend=backend)]
                for name in names:
                    buffer = StringIO()
                    call_command(
                        "sqlmigrate", app, name, database=alias, stdout=buffer, stderr=StringIO()
                    )
                    sql = buffer.getvalue().rstrip() or "-- (no operations)"
                    out.append(f"\n-- {app}.{name}\n{sql}\n")
                path = FIXTURES / backend / f"{app}.sql"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text("".join(out))
                print(f"wrote {path.relative_to(ROOT)}", file=sys.stderr)


def hashers():
    """Django's hashers at their defaults, and subclasses at low costs so that most entries
    verify quickly in an unoptimised test build. A subclass only lowers the cost: the format
    and the verification (by Django's default hasher for that algorithm) are the same."""
    import argon2
    from django.contrib.auth import hashers as h

    class FastPBKDF2(h.PBKDF2PasswordHasher):
        iterations = 1000

    class FastPBKDF2SHA1(h.PBKDF2SHA1PasswordHasher):
        iterations = 1000

    class FastBCryptSHA256(h.BCryptSHA256PasswordHasher):
        rounds = 4

    class FastBCrypt(h.BCryptPasswordHasher):
        rounds = 4

    class FastArgon2(h.Argon2PasswordHasher):
        time_cost = 1
        memory_cost = 256
        parallelism = 2

    # Django writes argon2id, and verifies the argon2i hashes its earlier releases wrote:
    # the same hasher with argon2-cffi asked for the other type.
    class Argon2i(h.Argon2PasswordHasher):
        def params(self):
            params = super().params()
            params.type = argon2.low_level.Type.I
            return params

    class FastArgon2i(Argon2i, FastArgon2):
        pass

    class FastScrypt(h.ScryptPasswordHasher):
        work_factor = 2**10
        parallelism = 1

    return [
        ("pbkdf2_sha256", "default", h.PBKDF2PasswordHasher()),
        ("pbkdf2_sha256", "low", FastPBKDF2()),
        ("pbkdf2_sha1", "default", h.PBKDF2SHA1PasswordHasher()),
        ("pbkdf2_sha1", "low", FastPBKDF2SHA1()),
        ("bcrypt_sha256", "default", h.BCryptSHA256PasswordHasher()),
        ("bcrypt_sha256", "low", FastBCryptSHA256()),
        ("bcrypt", "default", h.BCryptPasswordHasher()),
        ("bcrypt", "low", FastBCrypt()),
        ("argon2id", "default", h.Argon2PasswordHasher()),
        ("argon2id", "low", FastArgon2()),
        ("argon2i", "default", Argon2i()),
        ("argon2i", "low", FastArgon2i()),
        ("scrypt", "default", h.ScryptPasswordHasher()),
        ("scrypt", "low", FastScrypt()),
        ("md5", "default", h.MD5PasswordHasher()),
    ]


def cheap(variant, cost):
    """Django's own costs take seconds per check in an unoptimised build (PBKDF2 most): at
    those, one password and one near miss; at the low costs (and md5, which has none to
    lower), every password and attempt."""
    return cost == "low" or variant == "md5"


def attempts(password, every=True):
    """The password and a changed last character; unless `every` is false, also one more
    character, the empty password, and for a long one its first 72 bytes (what plain
    bcrypt reads)."""
    tries = [password, password[:-1] + chr(ord(password[-1]) ^ 1) if password else "x"]
    if not every:
        return tries
    tries.append(password + "!")
    if password:
        tries.append("")
    if len(password.encode()) > 72:
        tries.append(password.encode()[:72].decode())
    return tries


def verdicts(password, encoded, every=True):
    from django.contrib.auth.hashers import check_password

    checks = []
    for attempt in attempts(password, every):
        try:
            verdict = check_password(attempt, encoded)
        except ValueError as error:
            verdict = f"ValueError: {error}"
        checks.append({"password": attempt, "django": verdict})
    return checks


def hash_entries(only_plain_bcrypt_over_72=False):
    from django.contrib.auth.hashers import check_password, make_password

    entries = []
    skipped = []
    for variant, cost, hasher in hashers():
        for password in PASSWORDS if cheap(variant, cost) else ["lètmein"]:
            over_72 = len(password.encode()) > 72
            if only_plain_bcrypt_over_72 and not (variant == "bcrypt" and over_72):
                continue
            try:
                encoded = make_password(password, hasher=hasher)
            except ValueError as error:
                skipped.append(
                    {"variant": variant, "cost": cost, "password": password, "error": str(error)}
                )
                continue
            entry = {
                "variant": variant,
                "algorithm": encoded.split("$", 1)[0],
                "cost": cost,
                "password": password,
                "hash": encoded,
                "checks": verdicts(password, encoded, every=cheap(variant, cost)),
            }
            # Django itself must accept what it just wrote, or the fixture is worthless.
            assert check_password(password, encoded) is True, entry
            entries.append(entry)
    if only_plain_bcrypt_over_72:
        return entries
    encoded = make_password(None)
    entries.append(
        {
            "variant": "unusable",
            "algorithm": None,
            "cost": None,
            "password": None,
            "hash": encoded,
            "checks": [
                {"password": attempt, "django": check_password(attempt, encoded)}
                for attempt in ["", "!", encoded, encoded[1:], "lètmein"]
            ],
        }
    )
    return entries, skipped


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--bcrypt4-python", help="a Python with Django and bcrypt<5")
    # Internal: the subprocesses this script starts.
    parser.add_argument("--schema", choices=sorted(PROJECTS), help=argparse.SUPPRESS)
    parser.add_argument("--plain-bcrypt-over-72", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.schema:
        schema(args.schema, args.postgres)
        return
    if args.plain_bcrypt_over_72:
        configure("auth.User", args.postgres)
        json.dump({"versions": versions(), "entries": hash_entries(True)}, sys.stdout)
        return

    # settings.configure() holds for the life of a process: one per project.
    for project in PROJECTS:
        subprocess.run(
            [sys.executable, __file__, "--schema", project, "--postgres", args.postgres],
            check=True,
        )

    configure("auth.User", args.postgres)
    entries, skipped = hash_entries()
    fixture = {
        "about": (
            "Passwords hashed by Django's own hashers, and the verdict of Django's "
            "check_password for each attempt. Written by "
            "scripts/django-fixtures/make_fixtures.py; do not edit."
        ),
        "versions": versions(),
        "entries": entries,
        "not_hashed": skipped,
    }
    if args.bcrypt4_python:
        legacy = json.loads(
            subprocess.run(
                [args.bcrypt4_python, __file__, "--plain-bcrypt-over-72"],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
        )
        # Each check keeps the verdict of the Django that wrote the hash, and gains the one
        # this environment's bcrypt gives.
        here = "django_bcrypt_" + versions()["bcrypt"].split(".")[0]
        for entry in legacy["entries"]:
            entry["versions"] = legacy["versions"]
            for check, now in zip(entry["checks"], verdicts(entry["password"], entry["hash"])):
                check[here] = now["django"]
        fixture["entries"].extend(legacy["entries"])
    path = FIXTURES / "hashes.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(fixture, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {path.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
