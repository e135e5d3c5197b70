"""The words every layer shares, and nothing else: the application's states and choices
(states.py), exactly what retail may ever see of an application (projection.py's
RETAIL_FIELDS) and the normalisation of Japanese text for search (normalize.py).

Plain definitions: no model, no query, no setting. They sit at the bottom of the layers
(docs/architecture.md) because both sides of the barrier need them — the T&D workflow,
the retail database's schema (apps.publication) and the retail site — and the retail
side may import nothing of the T&D side.
"""
