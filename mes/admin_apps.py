from django.contrib.admin.apps import AdminConfig


class MesAdminConfig(AdminConfig):
    default_site = "mes.admin_site.MesAdminSite"
