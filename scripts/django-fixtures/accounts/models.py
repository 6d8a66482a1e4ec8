"""A custom user model extending AbstractUser, signing in by email, with the extra columns
Gatehouse's importer maps (role, is_verified, phone_number, birth_date, credits)."""

from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    email = models.EmailField(unique=True)
    # Nullable here, as some projects make it, so the importer's reading of NULL is tested.
    first_name = models.CharField(max_length=150, null=True, blank=True)
    role = models.CharField(max_length=20, default="member")
    is_verified = models.BooleanField(default=False)
    phone_number = models.CharField(max_length=32, null=True, blank=True)
    birth_date = models.DateField(null=True, blank=True)
    credits = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = ["username"]
