"""A custom user model on AbstractBaseUser and PermissionsMixin, signing in by email: no
username, names, is_staff or is_active column, and its many-to-many tables' user column
is `customuser_id`."""

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone


class CustomUser(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField(unique=True)
    date_joined = models.DateTimeField(default=timezone.now)
    credits = models.IntegerField(default=0)

    objects = BaseUserManager()

    USERNAME_FIELD = "email"
