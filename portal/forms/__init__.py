from django.db import models


def formfield_assuming_https(model_field, **kwargs):
    """A scheme-less URL typed into a form means https (Django 6's default, chosen now)."""
    if isinstance(model_field, models.URLField):
        kwargs.setdefault("assume_scheme", "https")
    return model_field.formfield(**kwargs)
