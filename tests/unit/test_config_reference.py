from gateway.config.reference import render
from tests.conftest import REPO


def test_configuration_reference_is_current():
    doc = (REPO / "docs" / "configuration.md").read_text()
    assert doc == render(), "regenerate: python -m gateway.config.reference > docs/configuration.md"
