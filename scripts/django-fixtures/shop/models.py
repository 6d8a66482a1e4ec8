"""A login model on AbstractBaseUser alone: no PermissionsMixin, hence no permission
tables."""

from django.contrib.auth.models import AbstractBaseUser
from django.db import models


class Member(AbstractBaseUser):
    email = models.EmailField(unique=True)

    USERNAME_FIELD = "email"
