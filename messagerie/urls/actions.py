"""The citizen's actions on messages and attachments."""

urlpatterns = []
