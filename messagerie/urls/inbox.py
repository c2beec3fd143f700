"""The inbox and threads."""

urlpatterns = []
