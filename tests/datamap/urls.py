"""Only Django admin: the data map's admin pages, tested apart from the staff and public sites."""

from django.contrib import admin
from django.urls import path

urlpatterns = [path("admin/", admin.site.urls)]
