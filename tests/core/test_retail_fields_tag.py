"""What retail sees of an application is written by one tag (`retail_fields`,
apps/core/templatetags/badges.py, issue 17) on the supervisor's preview and the retail
detail page: the bytes the shared template wrote before, for every kind of field, in both
languages, escaped, an empty remark as "—" and its lines as <br>."""

from __future__ import annotations

import pytest
from django.template import Context, Template
from django.utils import translation

from apps.applications.models import Application
from apps.core.templatetags.badges import retail_fields
from apps.vocabulary.projection import FIELD_NAMES, project, projection_from_values

CODES = {"contract_class", "state"}  # shown by their labels, not as stored
pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])

# partials/retail_fields.html as it was, kept as the reference.
TEMPLATE = Template(
    """{% load i18n %}<dl data-testid="retail-fields">{% for spec, value in projection.verified_fields %}
  <dt>{{ spec.label }}</dt><dd data-field="{{ spec.name }}">{% if spec.display == "date" %}{{ value|date:"DATE_FORMAT" }}{% elif spec.display == "kw" %}{{ value }} kW{% elif spec.display == "code" %}<code>{{ value }}</code>{% elif spec.display == "lines" %}{{ value|default:"—"|linebreaksbr }}{% else %}{{ value|default:"—" }}{% endif %}</dd>
{% endfor %}</dl>"""  # noqa: E501 - the template as it was
)


@pytest.mark.parametrize("language", ["ja", "en"])
def test_the_tag_writes_the_bytes_the_template_wrote(new_application, language):
    app = new_application(
        remarks="<b>引込柱</b> & 北側\n工事は午前中", contractor_name="A&B <電工>"
    )
    written = project(Application.objects.get(pk=app.pk))
    Application.objects.filter(pk=app.pk).update(remarks="")
    plain = project(Application.objects.get(pk=app.pk))
    # Markup in every text a projection can hold (a published row could carry anything).
    stored = {name: getattr(written, name) for name in FIELD_NAMES}
    marked = projection_from_values(
        {
            n: f"<i>{v}</i>&" if isinstance(v, str) and n not in CODES else v
            for n, v in stored.items()
        }
    )

    with translation.override(language):
        for projection in (written, plain, marked):
            old = TEMPLATE.render(Context({"projection": projection}))
            assert retail_fields(projection) == old

    assert "&lt;b&gt;引込柱&lt;/b&gt; &amp; 北側<br>工事は午前中" in retail_fields(written)
    assert "<code>&lt;i&gt;" in retail_fields(marked) and "<i>" not in retail_fields(marked)
    assert "<code>" in old and " kW</dd>" in old and ">—</dd>" in retail_fields(plain)
