"""The demo products of the demo editor: one ready to apply, one in progress answered per platform; idempotent."""

from convergence.demo import DEMO_EDITOR, IN_PROGRESS_NAME, READY_NAME, demo_products_create
from convergence.models import Answer, EvidenceFile, Product
from convergence.referential import referentials_load_all
from convergence.scoring import product_readiness
from tests.factories import MembershipFactory


def test_demo_products_are_created_once_one_ready_one_in_progress(db, client):
    editor = MembershipFactory(user__email=DEMO_EDITOR).user
    referentials_load_all()
    demo_products_create()
    ready = Product.objects.get(name=READY_NAME)
    in_progress = Product.objects.get(name=IN_PROGRESS_NAME)
    assert product_readiness(ready).ready
    assert EvidenceFile.objects.filter(product=ready).exists()
    assert not product_readiness(in_progress).ready
    assert in_progress.answers_per_platform
    assert set(Answer.objects.filter(product=in_progress).values_list("platform", flat=True)) == {"android"}
    counts = (Product.objects.count(), Answer.objects.count(), EvidenceFile.objects.count())
    demo_products_create()
    assert (Product.objects.count(), Answer.objects.count(), EvidenceFile.objects.count()) == counts
    client.force_login(editor)
    page = client.get("/editeurs/convergence/").content.decode()
    assert "Prêt pour le référencement" in page and IN_PROGRESS_NAME in page
