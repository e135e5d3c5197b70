from django.urls import path

from apps.web.applications.views import clerk, clerk_list

urlpatterns = [
    path("", clerk_list.application_list, name="clerk-list"),
    path("search/", clerk_list.application_search, name="clerk-search"),
    path("returned/", clerk.returned_list, name="clerk-returned"),
    path("new/", clerk.application_create, name="clerk-create"),
    path("<int:pk>/", clerk.application_detail, name="application-detail"),
    path("<int:pk>/edit/", clerk.application_edit, name="clerk-edit"),
    path("<int:pk>/submit/", clerk.application_submit, name="clerk-submit"),
    path("<int:pk>/discard/", clerk.application_discard, name="clerk-discard"),
    path("<int:pk>/encode/", clerk.application_encode, name="clerk-encode"),
    path("<int:pk>/retailer/", clerk.change_retailer, name="clerk-change-retailer"),
]
