from django.urls import path

app_name = "dsr"
urlpatterns: list = []
