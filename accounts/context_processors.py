from accounts.roles import Perm


def staff_permissions(request):
    """`perms_` in templates: a dict of booleans, so templates never decide who may do what."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"staff_can": {}}
    return {"staff_can": {perm.value: user.can(perm) for perm in Perm}}
