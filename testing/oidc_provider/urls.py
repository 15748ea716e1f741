import json

from django.contrib.auth import authenticate, login
from django.http import HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import include, path
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import csrf_exempt

from testing.oidc_provider.validator import FAULTS


@csrf_exempt
def login_view(request):
    """The provider's sign-in: POST username and password, then back to `next`."""
    user = authenticate(
        request, username=request.POST.get("username"), password=request.POST.get("password")
    )
    if user is None:
        return HttpResponse("Wrong username or password.", status=401)
    login(request, user)
    target = request.POST.get("next") or request.GET.get("next") or "/"
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = "/"
    return HttpResponseRedirect(target)


@csrf_exempt
def faults_view(request):
    if request.method == "POST":
        FAULTS.clear()
        FAULTS.update(json.loads(request.body or b"{}"))
    return JsonResponse(FAULTS)


urlpatterns = [
    path("login/", login_view),
    path("_faults/", faults_view),
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
]
