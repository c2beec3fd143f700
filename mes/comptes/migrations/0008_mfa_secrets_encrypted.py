"""Encrypt the second-factor secrets stored before they were encrypted at rest (see mes.comptes.secrets_at_rest)."""

from django.db import migrations


def encrypt_stored_secrets(apps, schema_editor):
    from mes.comptes.secrets_at_rest import mfa_secrets_reencrypt

    mfa_secrets_reencrypt(apps.get_model("mfa", "Authenticator"))


class Migration(migrations.Migration):
    dependencies = [
        ("comptes", "0007_access_control"),
        ("mfa", "0003_authenticator_type_uniq"),
    ]

    # Going back leaves the secrets encrypted: the adapter reads encrypted and clear values alike.
    operations = [migrations.RunPython(encrypt_stored_secrets, migrations.RunPython.noop)]
