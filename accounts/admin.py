from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from accounts.models import User


@admin.register(User)
class StaffUserAdmin(UserAdmin):
    fieldsets = (*UserAdmin.fieldsets, ("Portal", {"fields": ("role",)}))
    list_display = ("username", "email", "role", "is_active", "last_login")
    list_filter = ("role", "is_active")
