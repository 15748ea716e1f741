from django import forms
from django.contrib.auth.password_validation import validate_password

from accounts.models import User
from accounts.roles import Role


class StaffCreateForm(forms.Form):
    username = forms.RegexField(regex=r"^[\w.@+-]+$", max_length=150)
    email = forms.EmailField()
    role = forms.ChoiceField(choices=Role.choices)
    password = forms.CharField(
        widget=forms.PasswordInput,
        strip=False,
        help_text="At least 12 characters; share it with the person once.",
    )

    def clean_username(self):
        username = self.cleaned_data["username"]
        if User.objects.filter(username__iexact=username).exists():
            raise forms.ValidationError("A staff member with this username already exists.")
        return username

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("password"):
            try:
                validate_password(cleaned["password"], User(username=cleaned.get("username", "")))
            except forms.ValidationError as exc:
                self.add_error("password", exc)
        return cleaned


class StaffUpdateForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)
    is_active = forms.BooleanField(required=False, label="Active")
